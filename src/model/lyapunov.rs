//! The misalignment `E` and the Lyapunov functions of THEORY.md §3, generic over the scalar so the
//! float monitors and the certified enclosures share one definition.

use crate::numeric::scalar::Scalar;

fn dot<S: Scalar>(a: &[S], b: &[S]) -> S {
    a.iter().zip(b).fold(S::zero(), |acc, (&x, &y)| acc + x * y)
}

/// `E(y) = 1 − (1/ℓ) Σ_i (y_1ᵀ y_i) / (|y_1| |y_i|)`; 0 exactly at consensus.
pub fn misalignment<S: Scalar>(y: &[&[S]]) -> S {
    let n1 = dot(y[0], y[0]).sqrt();
    let sum = y.iter().fold(S::zero(), |acc, yi| acc + dot(y[0], yi) / (n1 * dot(yi, yi).sqrt()));
    S::one() - sum / S::from_f64(y.len() as f64)
}

/// Theorem 3.2: `V_P(y) = −½ Σ_{i,j} exp(y_iᵀ P y_j)` (`p` row-major `d×d`).
pub fn potential<S: Scalar>(p: &[Vec<S>], y: &[&[S]]) -> S {
    let py: Vec<Vec<S>> = y.iter().map(|yj| p.iter().map(|row| dot(row, yj)).collect()).collect();
    let mut sum = S::zero();
    for yi in y {
        for pyj in &py {
            sum = sum + dot(yi, pyj).exp();
        }
    }
    -(sum * S::from_f64(0.5))
}

/// Theorem 4.1: `V(y) = max_i (1 − vᵀ y_i)`.
pub fn hemisphere<S: Scalar>(v: &[S], y: &[&[S]]) -> S {
    y.iter().map(|yi| S::one() - dot(v, yi)).reduce(S::max).unwrap_or_else(S::zero)
}

/// Theorem 5.1, per token: `V(a) = 2/3 − a + a³/3` with `a = y_1ᵀ y_i`; zero iff `a = 1`.
pub fn cascade<S: Scalar>(a: S) -> S {
    S::from_f64(2.0) / S::from_f64(3.0) - a + a * a * a / S::from_f64(3.0)
}

/// Theorem 6.1, per token: `V_i = 1 − vᵀ y_i`, `v` the unit top eigenvector of `U`.
pub fn eigen<S: Scalar>(v: &[S], yi: &[S]) -> S {
    S::one() - dot(v, yi)
}

/// Token `i`'s Theorem 5.1 coordinate `a_i = y_1ᵀ y_i`.
pub fn alignment<S: Scalar>(y: &[&[S]], i: usize) -> S {
    dot(y[0], y[i])
}
