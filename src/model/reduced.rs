//! The reduced fast path: when every `U_η = I`, the tokens stay in the span of the initial ones.
//!
//! With `U = I`, (7) reads `Ẏ = Σ_η Y·A_ηᵀ − Y·diag(c)`, a right multiplication of `Y`. So if
//! `Φ(t)` (`ℓ×ℓ`, `Φ(0) = I`) solves
//!
//! ```text
//!   Φ̇ = Σ_η Φ·A_ηᵀ − Φ·diag(c),   A_η, c computed from Y = Y₀·Φ,
//! ```
//!
//! then `Y₀·Φ` solves (7) from `Y₀`, and by uniqueness `Y(t) = Y₀·Φ(t)` exactly. Everything the
//! right-hand side needs is an `ℓ×ℓ` matrix once `Y₀` is folded in:
//!
//! ```text
//!   S_η = Yᵀ P_η Y = Φᵀ M_η(t) Φ,   M_η(t) = Y₀ᵀ P_η(t) Y₀
//!   G   = Yᵀ W Y   = Φᵀ G₀ Φ,       G₀ = Y₀ᵀ W Y₀
//! ```
//!
//! For `P = s(t)·D(t)·C` with constant `C`, `M(t) = s(t)·Y₀ᵀ·(D(t)·(C·Y₀))`: the `d²ℓ` product
//! `C·Y₀` is done once, and an evaluation costs `O(ℓ²d + ℓ³)` instead of `O(d²ℓ)`. On the paper's
//! Section 7.4 system (`ℓ = 50`, `d = 500`) that is about 20 times less work. The state has `ℓ²`
//! unknowns instead of `ℓd`. Normalisation onto `E_W`: `|y_i|²_W = φ_iᵀ G₀ φ_i`.
//!
//! Untrusted like `kernel` (a float fast path); `tests/model.rs` holds it to the batched kernel.

use nalgebra::DMatrix;

use super::gemm::{gemm, Op};
use crate::system::expr::Expr;
use crate::system::{Attention, MatrixFn, Normalization, System};

/// `P(t) = Π scalars(t) · diag(Π diags(t)) · base`, `base` constant.
struct Factored {
    scalars: Vec<Expr>,
    diags: Vec<Vec<Expr>>,
    base: DMatrix<f64>,
}

/// Splits a matrix into scalar and diagonal time factors times a constant, if it has that form.
fn factor(m: &MatrixFn, d: usize) -> Option<Factored> {
    match m {
        MatrixFn::Identity | MatrixFn::Zero | MatrixFn::Const(_) | MatrixFn::Random(_) | MatrixFn::Product(_) => {
            Some(Factored { scalars: vec![], diags: vec![], base: m.eval(0.0, d) })
        }
        MatrixFn::Entrywise(rows) if rows.iter().flatten().all(Expr::is_constant) => {
            Some(Factored { scalars: vec![], diags: vec![], base: m.eval(0.0, d) })
        }
        MatrixFn::DiagTimes { diag, times } => {
            let mut f = factor(times, d)?;
            f.diags.push(diag.clone());
            Some(f)
        }
        MatrixFn::ScalarTimes { scalar, times } => {
            let mut f = factor(times, d)?;
            f.scalars.push(scalar.clone());
            Some(f)
        }
        _ => None,
    }
}

struct Head {
    scalars: Vec<Expr>,
    diags: Vec<Vec<Expr>>,
    /// `C·Y₀` (`d×ℓ`).
    cy0: DMatrix<f64>,
    /// `Y₀ᵀ C Y₀` when there is no diagonal factor.
    m_const: Option<DMatrix<f64>>,
}

/// The reduced right-hand side and layer map on `Φ` (`ℓ×ℓ`, tokens `Y = Y₀·Φ`).
pub struct Reduced {
    l: usize,
    causal: bool,
    row_sum: f64,
    y0: DMatrix<f64>,
    g0: DMatrix<f64>,
    heads: Vec<Head>,
    // Workspaces.
    dcy0: DMatrix<f64>,
    m: DMatrix<f64>,
    mphi: DMatrix<f64>,
    s: DMatrix<f64>,
    g: DMatrix<f64>,
    coef: Vec<f64>,
    pub evals: u64,
}

impl Reduced {
    /// The reduced kernel for a system from initial tokens `y0` (on `E_W`), or `None` when the
    /// reduction does not apply (some `U ≠ I`, or a `P` not of the form `s(t)·D(t)·C`).
    pub fn new(sys: &System, y0: &DMatrix<f64>) -> Option<Reduced> {
        if !sys.heads.iter().all(|h| h.u.is_identity()) {
            return None;
        }
        let (d, l) = (sys.dim, sys.tokens);
        let mut heads = Vec::with_capacity(sys.heads.len());
        for h in &sys.heads {
            let f = factor(&h.p, d)?;
            let mut cy0 = DMatrix::zeros(d, l);
            gemm(1.0, &f.base, Op::N, y0, Op::N, 0.0, &mut cy0);
            let m_const = f.diags.is_empty().then(|| {
                let mut m = DMatrix::zeros(l, l);
                gemm(1.0, y0, Op::T, &cy0, Op::N, 0.0, &mut m);
                m
            });
            heads.push(Head { scalars: f.scalars, diags: f.diags, cy0, m_const });
        }
        let mut g0 = DMatrix::zeros(l, l);
        if sys.metric_is_identity() {
            gemm(1.0, y0, Op::T, y0, Op::N, 0.0, &mut g0);
        } else {
            let mut wy0 = DMatrix::zeros(d, l);
            gemm(1.0, &sys.metric_f64(), Op::N, y0, Op::N, 0.0, &mut wy0);
            gemm(1.0, y0, Op::T, &wy0, Op::N, 0.0, &mut g0);
        }
        Some(Reduced {
            l,
            causal: sys.attention == Attention::Causal,
            row_sum: match sys.normalization {
                Normalization::Paper => 1.0 / (d as f64).sqrt(),
                Normalization::Softmax => 1.0,
            },
            y0: y0.clone(),
            g0,
            heads,
            dcy0: DMatrix::zeros(d, l),
            m: DMatrix::zeros(l, l),
            mphi: DMatrix::zeros(l, l),
            s: DMatrix::zeros(l, l),
            g: DMatrix::zeros(l, l),
            coef: vec![0.0; l],
            evals: 0,
        })
    }

    /// The basis `Y₀`: the tokens are `Y = Y₀·Φ`.
    pub fn basis(&self) -> &DMatrix<f64> {
        &self.y0
    }

    /// `M_η(t) = Y₀ᵀ P_η(t) Y₀` into `self.m`.
    fn m_at(&mut self, h: usize, t: f64) {
        let head = &self.heads[h];
        let s: f64 = head.scalars.iter().map(|e| e.eval(t)).product();
        if let Some(mc) = &head.m_const {
            self.m.copy_from(mc);
            self.m.scale_mut(s);
            return;
        }
        let d = self.y0.nrows();
        let dv: Vec<f64> = (0..d).map(|i| head.diags.iter().map(|diag| diag[i].eval(t)).product()).collect();
        self.dcy0.copy_from(&head.cy0);
        for mut col in self.dcy0.column_iter_mut() {
            for (x, w) in col.iter_mut().zip(&dv) {
                *x *= w;
            }
        }
        gemm(s, &self.y0, Op::T, &self.dcy0, Op::N, 0.0, &mut self.m);
    }

    /// Scores `S = Φᵀ M Φ`, then max-shifted, masked row softmax in place (as `kernel`).
    fn attention(&mut self, h: usize, t: f64, phi: &DMatrix<f64>) {
        self.m_at(h, t);
        gemm(1.0, &self.m, Op::N, phi, Op::N, 0.0, &mut self.mphi);
        gemm(1.0, phi, Op::T, &self.mphi, Op::N, 0.0, &mut self.s);
        super::kernel::softmax_rows(&mut self.s, self.causal, self.row_sum);
    }

    /// `dphi ← Φ̇`.
    pub fn rhs(&mut self, t: f64, phi: &DMatrix<f64>, dphi: &mut DMatrix<f64>) {
        self.evals += 1;
        dphi.fill(0.0);
        self.coef.iter_mut().for_each(|c| *c = 0.0);
        gemm(1.0, &self.g0, Op::N, phi, Op::N, 0.0, &mut self.mphi);
        gemm(1.0, phi, Op::T, &self.mphi, Op::N, 0.0, &mut self.g);
        for h in 0..self.heads.len() {
            self.attention(h, t, phi);
            gemm(1.0, phi, Op::N, &self.s, Op::T, 1.0, dphi);
            super::kernel::add_radial(&mut self.coef, &self.s, &self.g);
        }
        super::kernel::subtract_radial(dphi, phi, &self.coef);
    }

    /// One layer of the discrete model in reduced form: `φ_i ← normalise(φ_i + τ Σ_η Σ_j α_ij φ_j)`.
    pub fn layer(&mut self, t: f64, tau: f64, phi: &mut DMatrix<f64>) {
        self.evals += 1;
        let mut next = phi.clone();
        for h in 0..self.heads.len() {
            self.attention(h, t, phi);
            gemm(tau, phi, Op::N, &self.s, Op::T, 1.0, &mut next);
        }
        *phi = next;
        self.project(phi);
    }

    /// `φ_iᵀ G₀ φ_i = |y_i|²_W` for every token.
    fn norms2(&mut self, phi: &DMatrix<f64>) -> Vec<f64> {
        gemm(1.0, &self.g0, Op::N, phi, Op::N, 0.0, &mut self.mphi);
        (0..self.l).map(|i| phi.column(i).dot(&self.mphi.column(i))).collect()
    }

    /// Normalises every token onto `E_W` and returns the drift the state had before (as
    /// `kernel::Kernel::project`).
    pub fn project(&mut self, phi: &mut DMatrix<f64>) -> f64 {
        let n2 = self.norms2(phi);
        for (i, n) in n2.iter().enumerate() {
            phi.column_mut(i).scale_mut(1.0 / n.sqrt());
        }
        n2.iter().map(|n| (n - 1.0).abs()).fold(0.0, f64::max)
    }

    /// The largest `|y_iᵀWy_i − 1|`.
    pub fn drift(&mut self, phi: &DMatrix<f64>) -> f64 {
        self.norms2(phi).iter().map(|n| (n - 1.0).abs()).fold(0.0, f64::max)
    }
}
