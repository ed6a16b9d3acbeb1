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
//! With step averaging on (`enable_averaging`, the moment method of `model::moments`), each
//! coefficient `g_i(t) = s(t)·D_ii(t)` is replaced over a step by its Legendre projection
//! `Σ_k c_ik P_k(τ)`, so `M(t) = Σ_k P_k(τ)·M_k` with `M_k = Y₀ᵀ diag(c_k) C Y₀` formed once per
//! step (one `ℓ×d×qℓ` product per head) and every stage is `O(ℓ³)`.
//!
//! Untrusted like `kernel` (a float fast path); `tests/model.rs` holds it to the batched kernel.

use nalgebra::DMatrix;

use super::fastexp::exp_nonpositive;
use super::gemm::{gemm, leading_block_products, view, Op};
use super::moments::{legendre_p, Form, MAX_Q};
use crate::system::expr::{Expr, Node};
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
    /// The coefficient functions in closed form where known: `g_i = Π scalars · Π diags[·][i]`
    /// per diagonal entry, or the one scalar product when there is no diagonal factor.
    forms: Vec<Form>,
}

/// Width of the column blocks of the triangular products: narrower blocks skip more of the
/// zero triangle, wider ones run faer's kernel on larger products. On the Section 7.4 system
/// (`ℓ = 50`, callgrind, `Reduced::rhs` to `t = 20`): 8 → 387M instructions, 12 → 349M,
/// 16 → 288M, 25 → 330M, 50 (full products) → 422M.
const TRI_BLOCK: usize = 16;

/// Column blocks `[j0, j1)` of width [`TRI_BLOCK`] (the last one shorter).
fn triangular_blocks(l: usize) -> Vec<(usize, usize)> {
    (0..l).step_by(TRI_BLOCK).map(|j0| (j0, (j0 + TRI_BLOCK).min(l))).collect()
}

/// The max-shifted softmax of each column `i` of `st` over its rows `j ≤ i` (causal) or all
/// rows, scaled to sum `row_sum`; masked entries set to 0. Column `i` of `Sᵀ` is row `i` of
/// `S`: `kernel::softmax_rows` on contiguous memory, with the vectorisable `exp` of
/// `fastexp` (its own pass, apart from the sum, so that it vectorises; within a few ulps).
fn softmax_columns(st: &mut DMatrix<f64>, causal: bool, row_sum: f64) {
    let l = st.nrows();
    for (i, col) in st.as_mut_slice().chunks_exact_mut(l).enumerate() {
        let (live, masked) = col.split_at_mut(if causal { i + 1 } else { l });
        let m = live.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        live.iter_mut().for_each(|x| *x = exp_nonpositive(*x - m));
        let z: f64 = live.iter().sum();
        let scale = row_sum / z;
        live.iter_mut().for_each(|x| *x *= scale);
        masked.fill(0.0);
    }
}

/// The step cap of the moment method in units of `1/ω` (see [`Reduced::step_cap`]).
pub const KINK_STEP: f64 = 0.25;

/// The product of a head's time factors as one expression per coefficient.
fn coefficient_forms(scalars: &[Expr], diags: &[Vec<Expr>], d: usize) -> Vec<Form> {
    let product = |factors: Vec<&Expr>| -> Form {
        match factors.as_slice() {
            [] => Form::Const(1.0),
            [one] => Form::of(one),
            [first, rest @ ..] => {
                let node = rest.iter().fold(first.root().clone(), |acc, e| Node::Mul(Box::new(acc), Box::new(e.root().clone())));
                Form::of(&Expr::from_node(node))
            }
        }
    };
    if diags.is_empty() {
        return vec![product(scalars.iter().collect())];
    }
    (0..d).map(|i| product(scalars.iter().chain(diags.iter().map(|dg| &dg[i])).collect())).collect()
}

/// The moment method's state: the step and, per head, `[M_0 | … | M_{q−1}]` (`ℓ × qℓ`).
struct Averaging {
    q: usize,
    /// The current step `[t0, t0 + h]`, once `begin_step` was called.
    step: Option<(f64, f64)>,
    mk: Vec<DMatrix<f64>>,
    /// `[diag(c_0)·C·Y₀ | … ]` (`d × qℓ`) and the coefficients (`q` per entry).
    scaled: DMatrix<f64>,
    coefs: Vec<f64>,
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
    /// Column blocks of the triangular products, and the one block `[0, ℓ)` of full ones.
    blocks: Vec<(usize, usize)>,
    full_block: [(usize, usize); 1],
    /// The diagonal `D(t)` (pointwise path).
    dv: Vec<f64>,
    averaging: Option<Averaging>,
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
            let forms = coefficient_forms(&f.scalars, &f.diags, d);
            heads.push(Head { scalars: f.scalars, diags: f.diags, cy0, m_const, forms });
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
            blocks: triangular_blocks(l),
            full_block: [(0, l)],
            dv: vec![0.0; d],
            averaging: None,
            evals: 0,
        })
    }

    /// Whether some time coefficient has kinks or jumps (where step averaging pays off).
    pub fn has_kinks(&self) -> bool {
        self.heads.iter().any(|h| h.forms.iter().any(Form::has_kinks))
    }

    /// The largest step the moment method should take: [`KINK_STEP`] over the largest angular
    /// frequency of a kinked `|a·sin(ωt + φ)|` coefficient (`KINK_STEP` itself for other kinked
    /// expressions); `None` without kinks. The adaptive methods' error estimate measures only the
    /// averaged (smooth) problem, and the averaging error at kinks falls only like `h²` (the
    /// softmax's curvature: `O(h³·jump²)` per step, see `model::moments`), so the cap, chosen by
    /// `bench/work_precision.py` on the paper's Section 7.4 system, is what bounds it.
    pub fn step_cap(&self) -> Option<f64> {
        let forms = self.heads.iter().flat_map(|h| h.forms.iter()).filter(|f| f.has_kinks());
        forms
            .map(|f| match f {
                Form::AbsSin { w, .. } => KINK_STEP / w.abs(),
                _ => KINK_STEP,
            })
            .reduce(f64::min)
    }

    /// Turns on step averaging with `q` Legendre moments (`1 ≤ q ≤ MAX_Q`): from the next
    /// [`Reduced::begin_step`] on, `rhs` uses the step's projected coefficients.
    pub fn enable_averaging(&mut self, q: usize) {
        let q = q.clamp(1, MAX_Q);
        let (d, l) = (self.y0.nrows(), self.l);
        self.averaging = Some(Averaging {
            q,
            step: None,
            mk: self.heads.iter().map(|_| DMatrix::zeros(l, q * l)).collect(),
            scaled: DMatrix::zeros(d, q * l),
            coefs: vec![0.0; q * d.max(1)],
        });
    }

    /// Sets up the step `[t0, t1]` of the moment method: the projected coefficients and
    /// `M_k = Y₀ᵀ diag(c_k) C Y₀` of every head. A no-op without averaging.
    pub fn begin_step(&mut self, t0: f64, t1: f64) {
        let Some(av) = self.averaging.as_mut() else { return };
        let (q, l, h) = (av.q, self.l, t1 - t0);
        av.step = Some((t0, h));
        for (head, mk) in self.heads.iter().zip(av.mk.iter_mut()) {
            // Moment-major (`coefs[k·n + i]`), so the scaling below runs over contiguous memory.
            let n = head.forms.len();
            let coefs = &mut av.coefs[..q * n];
            let mut c = [0.0; MAX_Q];
            for (i, form) in head.forms.iter().enumerate() {
                form.legendre(t0, h, &mut c[..q]);
                for k in 0..q {
                    coefs[k * n + i] = c[k];
                }
            }
            if let Some(mc) = &head.m_const {
                for (k, &ck) in coefs.iter().enumerate().take(q) {
                    for (dst, src) in mk.columns_mut(k * l, l).iter_mut().zip(mc.iter()) {
                        *dst = ck * src;
                    }
                }
                continue;
            }
            let d = head.cy0.nrows();
            let (src, dst) = (head.cy0.as_slice(), av.scaled.as_mut_slice());
            for k in 0..q {
                let ck = &coefs[k * d..(k + 1) * d];
                for j in 0..l {
                    let (s, o) = (&src[j * d..(j + 1) * d], &mut dst[(k * l + j) * d..(k * l + j + 1) * d]);
                    for i in 0..d {
                        o[i] = ck[i] * s[i];
                    }
                }
            }
            gemm(1.0, &self.y0, Op::T, &av.scaled, Op::N, 0.0, mk);
        }
    }

    /// The basis `Y₀`: the tokens are `Y = Y₀·Φ`.
    pub fn basis(&self) -> &DMatrix<f64> {
        &self.y0
    }

    /// `M_η(t) = Y₀ᵀ P_η(t) Y₀` into `self.m`: the step's projection when averaging is on.
    fn m_at(&mut self, h: usize, t: f64) {
        if let Some(Averaging { q, step: Some((t0, len)), mk, .. }) = &self.averaging {
            let l = self.l;
            let tau = if *len > 0.0 { (2.0 * (t - t0) / len - 1.0).clamp(-1.0, 1.0) } else { -1.0 };
            let (src, dst) = (mk[h].as_slice(), self.m.as_mut_slice());
            let p0 = legendre_p(0, tau);
            dst.iter_mut().zip(&src[..l * l]).for_each(|(o, s)| *o = p0 * s);
            for k in 1..*q {
                let pk = legendre_p(k, tau);
                dst.iter_mut().zip(&src[k * l * l..(k + 1) * l * l]).for_each(|(o, s)| *o += pk * s);
            }
            return;
        }
        let head = &self.heads[h];
        let s: f64 = head.scalars.iter().map(|e| e.eval(t)).product();
        if let Some(mc) = &head.m_const {
            self.m.copy_from(mc);
            self.m.scale_mut(s);
            return;
        }
        let d = self.y0.nrows();
        for (i, x) in self.dv.iter_mut().enumerate() {
            *x = head.diags.iter().map(|diag| diag[i].eval(t)).product();
        }
        // One fused, vectorisable pass over contiguous columns (the same products as scaling a
        // copy in place, so bit for bit the same `D·C·Y₀`).
        let (src, dst, dv) = (head.cy0.as_slice(), self.dcy0.as_mut_slice(), &self.dv[..d]);
        for (o, s) in dst.chunks_exact_mut(d).zip(src.chunks_exact(d)) {
            for i in 0..d {
                o[i] = s[i] * dv[i];
            }
        }
        gemm(s, &self.y0, Op::T, &self.dcy0, Op::N, 0.0, &mut self.m);
    }

    /// The transposed attention matrix `Aᵀ` of head `h` into `self.s`: scores `Sᵀ = Φᵀ Mᵀ Φ`,
    /// then the max-shifted, masked softmax of each row of `S`, which is a contiguous column
    /// of `Sᵀ` (the same arithmetic as `kernel`'s row softmax). Under causal attention only the
    /// upper triangle of `Sᵀ` is formed (`blocks`: see [`leading_block_products`]; `Φ` is upper
    /// triangular, see [`Reduced::rhs`]) and the softmax zeroes the rest.
    fn attention_t(&mut self, h: usize, t: f64, phi: &DMatrix<f64>, tri: bool) {
        self.m_at(h, t);
        let blocks = if tri { &self.blocks[..] } else { &self.full_block[..] };
        let phi_v = view(phi, Op::N);
        leading_block_products(view(&self.m, Op::T), phi_v, false, blocks, &mut self.mphi);
        leading_block_products(phi_v.transpose(), view(&self.mphi, Op::N), false, blocks, &mut self.s);
        softmax_columns(&mut self.s, self.causal, self.row_sum);
    }

    /// Whether the triangular products apply: causal attention and `phi` upper triangular
    /// (always the case on a trajectory, see [`Reduced::rhs`]; checked, since a caller may pass
    /// any state: else the products are the full ones).
    fn triangular(&self, phi: &DMatrix<f64>) -> bool {
        let l = self.l;
        self.causal && (0..l).all(|j| phi.as_slice()[j * l + j + 1..(j + 1) * l].iter().all(|&x| x == 0.0))
    }

    /// `dphi ← Φ̇`.
    ///
    /// Under causal attention `Φ` is upper triangular: token `i` only ever mixes in tokens
    /// `j ≤ i`, and in floating point too, since `Φ(0) = I` and every step only forms products
    /// `Φ·Aᵀ` of upper triangular factors (exact zeros times finite numbers) and rescales
    /// columns. So every product here is a triangular one, done in column blocks
    /// (`leading_block_products`): about 40% of the dense products' work on the Section 7.4
    /// system (`ℓ = 50`).
    ///
    /// The radial term `c_i = Σ_η Σ_j α_ij ⟨y_i, y_j⟩_W` is `φ_iᵀ G₀ v_i` with `V = Σ_η Φ·A_ηᵀ`
    /// (the tangential part, already in `dphi`): one product `G₀·V` instead of forming
    /// `Φᵀ G₀ Φ`.
    pub fn rhs(&mut self, t: f64, phi: &DMatrix<f64>, dphi: &mut DMatrix<f64>) {
        self.evals += 1;
        let tri = self.triangular(phi);
        dphi.fill(0.0);
        for h in 0..self.heads.len() {
            self.attention_t(h, t, phi, tri);
            let blocks = if tri { &self.blocks[..] } else { &self.full_block[..] };
            leading_block_products(view(phi, Op::N), view(&self.s, Op::N), true, blocks, dphi);
        }
        // Z = G₀·V (rows `..j1` of each block: `φ_i` vanishes below row `i`).
        let blocks = if tri { &self.blocks[..] } else { &self.full_block[..] };
        leading_block_products(view(&self.g0, Op::N), view(dphi, Op::N), false, blocks, &mut self.g);
        let l = self.l;
        for i in 0..l {
            let rows = if tri { i + 1 } else { l };
            let (p, z) = (&phi.as_slice()[i * l..i * l + rows], &self.g.as_slice()[i * l..i * l + rows]);
            self.coef[i] = p.iter().zip(z).map(|(a, b)| a * b).sum();
        }
        super::kernel::subtract_radial(dphi, phi, &self.coef);
    }

    /// One layer of the discrete model in reduced form: `φ_i ← normalise(φ_i + τ Σ_η Σ_j α_ij φ_j)`.
    pub fn layer(&mut self, t: f64, tau: f64, phi: &mut DMatrix<f64>) {
        self.evals += 1;
        let mut next = phi.clone();
        let tri = self.triangular(phi);
        for h in 0..self.heads.len() {
            self.attention_t(h, t, phi, tri);
            gemm(tau, phi, Op::N, &self.s, Op::N, 1.0, &mut next);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::doc;
    use std::path::Path;

    fn sec7_4_like() -> System {
        let diag: Vec<String> = (0..40).map(|i| format!("\"abs(2*sin({}*t + {}))\"", 0.05 * i as f64, 0.3 * i as f64)).collect();
        let toml = format!(
            "tokens = 8\ndim = 40\nattention = \"causal\"\n[[heads]]\nP = {{ diag = [{}], times = {{ random = {{ seed = 4, half_width = 0.5 }} }} }}\n\
             [initial]\nrandom = {{ seed = 5, law = \"uniform-box\", half_width = 0.5 }}\n",
            diag.join(", ")
        );
        let v = doc::parse_toml(Path::new("t.toml"), &toml).unwrap();
        System::from_value(Path::new("t.toml"), &v).unwrap()
    }

    /// The fused scaling loop of `m_at` gives bit for bit the `M(t)` of the previous
    /// implementation (copy `C·Y₀`, scale its columns in place through nalgebra, then GEMM).
    #[test]
    fn pointwise_m_is_bit_for_bit_the_previous_one() {
        let sys = sec7_4_like();
        let y0 = crate::model::initial_state(&sys);
        let mut r = Reduced::new(&sys, &y0).unwrap();
        for t in [0.0, 0.37, 12.5, 149.9] {
            r.m_at(0, t);
            let head = &r.heads[0];
            let dv: Vec<f64> = (0..40).map(|i| head.diags.iter().map(|diag| diag[i].eval(t)).product()).collect();
            let mut dcy0 = head.cy0.clone();
            for mut col in dcy0.column_iter_mut() {
                for (x, w) in col.iter_mut().zip(&dv) {
                    *x *= w;
                }
            }
            let mut m = DMatrix::zeros(8, 8);
            gemm(1.0, &r.y0, Op::T, &dcy0, Op::N, 0.0, &mut m);
            assert_eq!(m, r.m, "t = {t}");
        }
    }

    /// Averaged `M(t)` at a step's midpoint is `Y₀ᵀ diag(mean of g over the step) C Y₀` plus the
    /// odd moment's zero there; over a tiny step it tends to the pointwise `M(t)`.
    #[test]
    fn averaged_m_tends_to_pointwise_on_tiny_steps() {
        let sys = sec7_4_like();
        let y0 = crate::model::initial_state(&sys);
        let mut r = Reduced::new(&sys, &y0).unwrap();
        r.m_at(0, 3.0);
        let pointwise = r.m.clone();
        r.enable_averaging(2);
        r.begin_step(3.0 - 1e-7, 3.0 + 1e-7);
        r.m_at(0, 3.0);
        assert!((&r.m - &pointwise).abs().max() < 1e-12 * (1.0 + pointwise.abs().max()));
        assert!(r.step_cap().is_some_and(|h| (h - KINK_STEP / 1.95).abs() < 1e-12));
    }

    /// A causal system with more tokens than one block of the triangular products, two heads.
    fn causal_two_heads(l: usize, d: usize, causal: bool) -> System {
        let diag = |k: usize| (0..d).map(|i| format!("\"abs(2*sin({}*t + {}))\"", 0.05 * (i + k) as f64, 0.3 * i as f64)).collect::<Vec<_>>().join(", ");
        let toml = format!(
            "tokens = {l}\ndim = {d}\nattention = \"{}\"\n\
             [[heads]]\nP = {{ diag = [{}], times = {{ random = {{ seed = 4, half_width = 0.5 }} }} }}\n\
             [[heads]]\nP = {{ diag = [{}], times = {{ random = {{ seed = 9, half_width = 0.5 }} }} }}\n\
             [initial]\nrandom = {{ seed = 5, law = \"uniform-box\", half_width = 0.5 }}\n",
            if causal { "causal" } else { "full" },
            diag(0),
            diag(7)
        );
        let v = doc::parse_toml(Path::new("t.toml"), &toml).unwrap();
        System::from_value(Path::new("t.toml"), &v).unwrap()
    }

    /// An upper triangular state away from the identity, projected onto `E_W`.
    fn upper_state(r: &mut Reduced, l: usize) -> DMatrix<f64> {
        let mut phi = DMatrix::from_fn(l, l, |i, j| if i == j { 1.0 } else if i < j { 0.3 * (((i * 7 + j * 3) % 11) as f64 / 11.0 - 0.5) } else { 0.0 });
        r.project(&mut phi);
        phi
    }

    /// The triangular products give the full products' `Φ̇` (to rounding: other summation
    /// order) on an upper triangular `Φ` under causal attention, pointwise and averaged, and
    /// `Φ̇` is exactly upper triangular, so `Φ` stays so.
    #[test]
    fn triangular_products_match_full_ones() {
        let (l, d) = (40, 48);
        let sys = causal_two_heads(l, d, true);
        let y0 = crate::model::initial_state(&sys);
        for averaged in [false, true] {
            let mut r = Reduced::new(&sys, &y0).unwrap();
            assert!(r.blocks.len() > 2);
            if averaged {
                r.enable_averaging(2);
                r.begin_step(2.0, 2.3);
            }
            let phi = upper_state(&mut r, l);
            assert!(r.triangular(&phi));
            let mut tri = DMatrix::zeros(l, l);
            r.rhs(2.1, &phi, &mut tri);
            for j in 0..l {
                assert!(tri.column(j).rows_range(j + 1..).iter().all(|&x| x == 0.0), "column {j} below the diagonal");
            }
            r.blocks = vec![(0, l)];
            let mut full = DMatrix::zeros(l, l);
            r.rhs(2.1, &phi, &mut full);
            let scale = full.abs().max();
            assert!((&tri - &full).abs().max() <= 1e-13 * scale, "averaged {averaged}: {:e}", (&tri - &full).abs().max());
        }
    }

    /// Without causal attention, or for a state that is not triangular, the products are the
    /// full ones.
    #[test]
    fn triangular_products_only_where_they_apply() {
        let (l, d) = (20, 24);
        let y0 = crate::model::initial_state(&causal_two_heads(l, d, false));
        let mut r = Reduced::new(&causal_two_heads(l, d, false), &y0).unwrap();
        let phi = upper_state(&mut r, l);
        assert!(!r.triangular(&phi));
        let sys = causal_two_heads(l, d, true);
        let y0 = crate::model::initial_state(&sys);
        let mut r = Reduced::new(&sys, &y0).unwrap();
        let mut phi = upper_state(&mut r, l);
        phi[(l - 1, 0)] = 1e-3;
        assert!(!r.triangular(&phi));
    }

    /// Same state, same output, bit for bit (no state carried between calls but the step).
    #[test]
    fn rhs_is_reproducible() {
        let (l, d) = (40, 48);
        let sys = causal_two_heads(l, d, true);
        let y0 = crate::model::initial_state(&sys);
        let mut r = Reduced::new(&sys, &y0).unwrap();
        r.enable_averaging(2);
        r.begin_step(1.0, 1.25);
        let phi = upper_state(&mut r, l);
        let (mut a, mut b) = (DMatrix::zeros(l, l), DMatrix::zeros(l, l));
        r.rhs(1.1, &phi, &mut a);
        r.rhs(1.2, &phi, &mut b);
        r.rhs(1.1, &phi, &mut b);
        assert_eq!(a, b);
    }
}
