//! The plain definition of the dynamics (7), token by token, generic over the scalar.
//!
//! Written to be read against THEORY.md §2, not to be fast: `model::kernel` is the fast float
//! form and is tested against this one; the certified producer evaluates the same formula in
//! intervals.

use crate::numeric::scalar::Scalar;

/// A row-major `d×d` matrix.
pub type Rows<S> = Vec<Vec<S>>;

/// The data of (7) at one time `t`: per head `(P, U)`, and `W`.
pub struct ModelAt<S> {
    pub heads: Vec<(Rows<S>, Rows<S>)>,
    pub w: Rows<S>,
    pub causal: bool,
    /// `sqrt(d)` for the paper's normalisation, 1 for a plain softmax.
    pub z_factor: S,
}

fn dot<S: Scalar>(a: &[S], b: &[S]) -> S {
    a.iter().zip(b).fold(S::zero(), |acc, (&x, &y)| acc + x * y)
}

fn mat_vec<S: Scalar>(m: &[Vec<S>], v: &[S]) -> Vec<S> {
    m.iter().map(|row| dot(row, v)).collect()
}

/// `α^η_ij = exp(y_iᵀ P y_j) / Z_i` with `Z_i = z_factor · Σ_{j'} exp(y_iᵀ P y_{j'})`,
/// the sums over `j' ≤ i` when causal; `α_ij = 0` for masked `j`.
pub fn attention<S: Scalar>(p: &[Vec<S>], y: &[Vec<S>], causal: bool, z_factor: S) -> Vec<Vec<S>> {
    let l = y.len();
    let py: Vec<Vec<S>> = y.iter().map(|yj| mat_vec(p, yj)).collect();
    (0..l)
        .map(|i| {
            let jmax = if causal { i + 1 } else { l };
            let e: Vec<S> = (0..jmax).map(|j| dot(&y[i], &py[j]).exp()).collect();
            let z = e.iter().fold(S::zero(), |a, &x| a + x) * z_factor;
            (0..l).map(|j| if j < jmax { e[j] / z } else { S::zero() }).collect()
        })
        .collect()
}

/// `ẏ_i = Σ_η Σ_j α^η_ij (U y_j − (y_iᵀ W U y_j) y_i)` for every token, computed per head as
/// `v_i − (y_iᵀ W v_i) y_i` with `v_i = Σ_j α_ij U y_j`: the same sum regrouped, which saves
/// the `ℓ²` dot products `y_iᵀ W U y_j` (and, in intervals, their dependency widening).
pub fn rhs<S: Scalar>(m: &ModelAt<S>, y: &[Vec<S>]) -> Vec<Vec<S>> {
    let l = y.len();
    let d = y.first().map_or(0, Vec::len);
    let wy: Vec<Vec<S>> = y.iter().map(|yi| mat_vec(&m.w, yi)).collect();
    let mut dy = vec![vec![S::zero(); d]; l];
    for (p, u) in &m.heads {
        let alpha = attention(p, y, m.causal, m.z_factor);
        let uy: Vec<Vec<S>> = y.iter().map(|yj| mat_vec(u, yj)).collect();
        for i in 0..l {
            let mut v = vec![S::zero(); d];
            for j in 0..l {
                for k in 0..d {
                    v[k] = v[k] + alpha[i][j] * uy[j][k];
                }
            }
            let c = dot(&wy[i], &v);
            for k in 0..d {
                dy[i][k] = dy[i][k] + (v[k] - c * y[i][k]);
            }
        }
    }
    dy
}
