//! The dynamics: the batched float kernel (`kernel`), the plain generic definition
//! (`reference`), and the misalignment and Lyapunov functions (`lyapunov`, with the float
//! [`Monitors`] that decide which of them apply to a system).

pub mod fastexp;
pub mod gemm;
pub mod kernel;
pub mod lyapunov;
pub mod moments;
pub mod packed;
pub mod reduced;
pub mod reference;

use nalgebra::{DMatrix, DVector};

use crate::system::{Attention, System};
pub use kernel::Kernel;

/// The initial tokens of a system, normalised onto `E_W` in floating point (`d×ℓ`).
pub fn initial_state(sys: &System) -> DMatrix<f64> {
    let mut y = sys.initial_raw_f64();
    let w = sys.metric_f64();
    for mut col in y.column_iter_mut() {
        let n2 = col.dot(&(&w * &col));
        col.scale_mut(1.0 / n2.sqrt());
    }
    y
}

fn tokens_of(y: &DMatrix<f64>) -> Vec<&[f64]> {
    y.as_slice().chunks(y.nrows()).collect()
}

/// A Lyapunov function (or `E`) monitored along a float trajectory.
#[derive(Debug, Clone)]
pub enum Monitor {
    /// `E(y)`.
    Misalignment,
    /// `V_P` of Theorem 3.2 with the constant `P` (row-major).
    Potential(Vec<Vec<f64>>),
    /// `max_i (1 − vᵀy_i)` of Theorem 4.1.
    Hemisphere(Vec<f64>),
    /// `V(a_2)` of Theorem 5.1 (token 2, strict Lyapunov function).
    CascadeSecond,
    /// `max_{i≥2} V(a_i)` of Theorem 5.1.
    CascadeMax,
    /// `1 − vᵀ y_i` of Theorem 6.1 for token `i` (0-based), `v` the top eigenvector of `U`.
    EigenToken(Vec<f64>, usize),
    /// `max_i (1 − vᵀ y_i)` of Theorem 6.1.
    EigenMax(Vec<f64>),
}

impl Monitor {
    pub fn name(&self) -> String {
        match self {
            Monitor::Misalignment => "E".into(),
            Monitor::Potential(_) => "V_P".into(),
            Monitor::Hemisphere(_) => "V_hemisphere".into(),
            Monitor::CascadeSecond => "V_cascade_2".into(),
            Monitor::CascadeMax => "V_cascade_max".into(),
            Monitor::EigenToken(_, i) => format!("V_eigen_{}", i + 1),
            Monitor::EigenMax(_) => "V_eigen_max".into(),
        }
    }

    pub fn eval(&self, y: &DMatrix<f64>) -> f64 {
        let ys = tokens_of(y);
        match self {
            Monitor::Misalignment => lyapunov::misalignment(&ys),
            Monitor::Potential(p) => lyapunov::potential(p, &ys),
            Monitor::Hemisphere(v) => lyapunov::hemisphere(v, &ys),
            Monitor::CascadeSecond => lyapunov::cascade(lyapunov::alignment(&ys, 1)),
            Monitor::CascadeMax => (1..ys.len()).map(|i| lyapunov::cascade(lyapunov::alignment(&ys, i))).fold(0.0, f64::max),
            Monitor::EigenToken(v, i) => lyapunov::eigen(v, ys[*i]),
            Monitor::EigenMax(v) => ys.iter().map(|yi| lyapunov::eigen(v, yi)).fold(f64::NEG_INFINITY, f64::max),
        }
    }
}

/// The monitors that apply to a system: `E` always, then each theorem's Lyapunov function when
/// the system has that theorem's *structure* (mask, heads, `U`, `W`). Whether the hypotheses
/// actually hold is `attncert check`'s business; a monitor is only a float observation.
pub fn monitors(sys: &System) -> Vec<Monitor> {
    let mut out = vec![Monitor::Misalignment];
    let all_u_identity = sys.heads.iter().all(|h| h.u.is_identity());
    let one_head = sys.heads.len() == 1;
    let y0 = initial_state(sys);
    match sys.attention {
        Attention::Full => {
            if one_head && all_u_identity && sys.heads[0].p.is_constant() {
                let p = sys.heads[0].p.eval(0.0, sys.dim);
                out.push(Monitor::Potential(rows(&p)));
            }
            if all_u_identity {
                if let Some(v) = hemisphere_direction(sys, &y0) {
                    out.push(Monitor::Hemisphere(v));
                }
            }
        }
        Attention::Causal => {
            if all_u_identity && sys.metric_is_identity() && sys.tokens >= 2 {
                out.push(Monitor::CascadeSecond);
                out.push(Monitor::CascadeMax);
            }
            let u = &sys.heads[0].u;
            if one_head && u.is_constant() && sys.metric_is_identity() {
                let um = u.eval(0.0, sys.dim);
                if let Some(v) = top_eigenvector(&um, &y0) {
                    out.push(Monitor::EigenToken(v.clone(), 0));
                    if sys.tokens >= 2 {
                        out.push(Monitor::EigenToken(v.clone(), 1));
                    }
                    out.push(Monitor::EigenMax(v));
                }
            }
        }
    }
    out
}

fn rows(m: &DMatrix<f64>) -> Vec<Vec<f64>> {
    m.row_iter().map(|r| r.iter().copied().collect()).collect()
}

/// The unit direction of the hemisphere function: the file's `[lyapunov] v` (always used), else
/// the normalised mean of the initial tokens, but only if every initial token lies in its open
/// hemisphere; otherwise `max_i (1 − vᵀy_i)` is no Lyapunov function along this trajectory.
fn hemisphere_direction(sys: &System, y0: &DMatrix<f64>) -> Option<Vec<f64>> {
    let v = match &sys.hemisphere {
        Some(v) => DVector::from_iterator(sys.dim, v.iter().map(|l| l.value)),
        None => {
            let mean = y0.column_sum();
            if y0.column_iter().any(|y| y.dot(&mean) <= 0.0) {
                return None;
            }
            mean
        }
    };
    // Scaled by the largest magnitude first: `|v|²` of `[1e-300, 0, 0]` underflows to 0.
    let m = v.amax();
    if !(m > 0.0 && m.is_finite()) {
        return None;
    }
    let v = v / m;
    let n = v.norm();
    Some(v.iter().map(|x| x / n).collect())
}

/// The unit eigenvector of the largest eigenvalue of `u`, signed so that the initial tokens lie
/// on its positive side on average (THEORY.md §3: either sign is allowed). `None` unless `u` is
/// symmetric with a top eigenvalue simple in floating point (for `U = I` no `v` is defined).
fn top_eigenvector(u: &DMatrix<f64>, y0: &DMatrix<f64>) -> Option<Vec<f64>> {
    if *u != u.transpose() {
        return None;
    }
    let eig = nalgebra::SymmetricEigen::new(u.clone());
    let mut order: Vec<usize> = (0..eig.eigenvalues.len()).collect();
    order.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
    let (l1, l2) = (eig.eigenvalues[order[0]], order.get(1).map_or(f64::NEG_INFINITY, |&k| eig.eigenvalues[k]));
    if l1 - l2 <= 1e-9 * l1.abs().max(1.0) {
        return None;
    }
    let mut v = eig.eigenvectors.column(order[0]).clone_owned();
    if v.dot(&y0.column_sum()) < 0.0 {
        v = -v;
    }
    Some(v.iter().copied().collect())
}
