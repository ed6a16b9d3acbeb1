//! The float fast path: the right-hand side of (7) and the layer map in batched matrix form.
//!
//! Tokens are the columns of `Y ∈ R^{d×ℓ}`. Per head `η`, at time `t`:
//!
//! ```text
//!   PY = P(t)·Y                 d×ℓ   (D(t)·(P'·Y) for P = D·P': one GEMM, then a row scaling)
//!   S  = Yᵀ·PY                  ℓ×ℓ   S_ij = y_iᵀ P y_j
//!   A  = rowsoftmax(S) / c      ℓ×ℓ   max-shifted, masked to j ≤ i when causal; c = sqrt(d) or 1
//!   UY = U(t)·Y                 d×ℓ   (Y itself when U = I)
//!   G  = (WY)ᵀ·UY               ℓ×ℓ   G_ij = y_iᵀ W U y_j  (shared by heads with U = I)
//!   Ẏ += UY·Aᵀ − Y·diag(Σ_j A_ij G_ij)
//! ```
//!
//! which is `ẏ_i = Σ_η Σ_j α_ij (U y_j − (y_iᵀ W U y_j) y_i)` column by column. All products go
//! through [`gemm`]; nothing on this path is a scalar triple loop. Workspaces are allocated once.
//! When every head is a product with constant factors (an imported layer), the heads are not
//! looped over but stacked into two large GEMMs (see [`Stacked`]).
//! `model::reference` holds the plain per-token definition this kernel is tested against.

use nalgebra::DMatrix;

use super::gemm::{gemm, gemm_view, Op, View, ViewMut};
use super::packed::{Packed, Strided};
use crate::system::expr::Expr;
use crate::system::matrix::layer_index;
use crate::system::{Attention, MatrixFn, Normalization, System};

/// A time-varying matrix prepared for fast products `M(t)·Y`.
#[derive(Debug, Clone)]
enum TimeMatrix {
    Identity,
    Zero,
    Const(DMatrix<f64>),
    /// `A·B` with `A` `d×k`, `B` `k×d`.
    LowRank(DMatrix<f64>, DMatrix<f64>),
    Entrywise(Vec<Expr>), // row-major d×d
    Diag(Vec<Expr>, Box<TimeMatrix>),
    Scalar(Expr, Box<TimeMatrix>),
    Layers { layers: Vec<TimeMatrix>, tau: f64, periodic: bool },
}

impl TimeMatrix {
    fn new(m: &MatrixFn, d: usize) -> TimeMatrix {
        match m {
            MatrixFn::Identity => TimeMatrix::Identity,
            MatrixFn::Zero => TimeMatrix::Zero,
            MatrixFn::Const(_) | MatrixFn::Random(_) => TimeMatrix::Const(m.eval(0.0, d)),
            // Kept as two factors: A·(B·Y) costs 2·d·k·ℓ instead of d²·ℓ (k = 32 ≪ d = 384).
            MatrixFn::Product(p) => TimeMatrix::LowRank(p.a().to_f64(), p.b().to_f64()),
            MatrixFn::Entrywise(rows) if rows.iter().flatten().all(Expr::is_constant) => TimeMatrix::Const(m.eval(0.0, d)),
            MatrixFn::Entrywise(rows) => TimeMatrix::Entrywise(rows.iter().flatten().cloned().collect()),
            MatrixFn::DiagTimes { diag, times } => TimeMatrix::Diag(diag.clone(), Box::new(TimeMatrix::new(times, d))),
            MatrixFn::ScalarTimes { scalar, times } => TimeMatrix::Scalar(scalar.clone(), Box::new(TimeMatrix::new(times, d))),
            MatrixFn::Layers { layers, layer_time, periodic } => TimeMatrix::Layers {
                layers: layers.iter().map(|l| TimeMatrix::new(l, d)).collect(),
                tau: layer_time.value,
                periodic: *periodic,
            },
        }
    }

    fn is_identity(&self) -> bool {
        matches!(self, TimeMatrix::Identity)
    }

    /// `out ← M(t)·y`. `scratch` holds the intermediate `B·y` of a product or the entries of an
    /// entrywise matrix, `diag` a diagonal's values: kept by the caller, so nothing is
    /// allocated per evaluation once they have grown to size.
    fn apply(&self, t: f64, y: &DMatrix<f64>, out: &mut DMatrix<f64>, scratch: &mut Vec<f64>, diag: &mut Vec<f64>) {
        match self {
            TimeMatrix::Identity => out.copy_from(y),
            TimeMatrix::Zero => out.fill(0.0),
            TimeMatrix::Const(a) => gemm(1.0, a, Op::N, y, Op::N, 0.0, out),
            TimeMatrix::LowRank(a, b) => {
                gemm_view(1.0, View::of(b), Op::N, View::of(y), Op::N, 0.0, ViewMut::scratch(scratch, b.nrows(), y.ncols()));
                let by = ViewMut::scratch(scratch, b.nrows(), y.ncols());
                gemm_view(1.0, View::of(a), Op::N, by.view(), Op::N, 0.0, ViewMut::of(out));
            }
            TimeMatrix::Entrywise(e) => {
                let d = y.nrows();
                let mut a = ViewMut::scratch(scratch, d, d);
                // Column-major: entry (i, j) at i + j·d.
                for j in 0..d {
                    for i in 0..d {
                        a.set(i, j, e[i * d + j].eval(t));
                    }
                }
                gemm_view(1.0, a.view(), Op::N, View::of(y), Op::N, 0.0, ViewMut::of(out));
            }
            TimeMatrix::Diag(dg, inner) => {
                inner.apply(t, y, out, scratch, diag);
                diag.clear();
                diag.extend(dg.iter().map(|e| e.eval(t)));
                // Column-major: scale each column entrywise by the diagonal (contiguous access).
                for mut col in out.column_iter_mut() {
                    for (x, s) in col.iter_mut().zip(diag.iter()) {
                        *x *= s;
                    }
                }
            }
            TimeMatrix::Scalar(s, inner) => {
                inner.apply(t, y, out, scratch, diag);
                out.scale_mut(s.eval(t));
            }
            TimeMatrix::Layers { layers, tau, periodic } => {
                layers[layer_index(t, *tau, layers.len(), *periodic)].apply(t, y, out, scratch, diag)
            }
        }
    }

    /// `(s, A, B)` when the matrix is `s·A·B` with constant factors and a constant scale `s`
    /// (any nesting of constant `s(t)·` around a product): the form the stacked kernel takes.
    fn constant_product(&self) -> Option<(f64, &DMatrix<f64>, &DMatrix<f64>)> {
        match self {
            TimeMatrix::LowRank(a, b) => Some((1.0, a, b)),
            TimeMatrix::Scalar(s, inner) if s.is_constant() => inner.constant_product().map(|(r, a, b)| (s.eval(0.0) * r, a, b)),
            _ => None,
        }
    }
}

/// `S ← softmax rows of S` in place, scaled so each row sums to `row_sum`. Max-shifted so no
/// `exp` overflows; masked entries (`j > i`, causal) become exactly 0.
pub(crate) fn softmax_rows(s: &mut DMatrix<f64>, causal: bool, row_sum: f64) {
    let l = s.nrows();
    for i in 0..l {
        let jmax = if causal { i + 1 } else { l };
        let m = (0..jmax).map(|j| s[(i, j)]).fold(f64::NEG_INFINITY, f64::max);
        let mut z = 0.0;
        for j in 0..jmax {
            let e = (s[(i, j)] - m).exp();
            s[(i, j)] = e;
            z += e;
        }
        let scale = row_sum / z;
        for j in 0..jmax {
            s[(i, j)] *= scale;
        }
        for j in jmax..l {
            s[(i, j)] = 0.0;
        }
    }
}

/// `coef_i += Σ_j A_ij G_ij`: the radial coefficient of token `i` (column-major walk).
pub(crate) fn add_radial(coef: &mut [f64], a: &DMatrix<f64>, g: &DMatrix<f64>) {
    for (aj, gj) in a.column_iter().zip(g.column_iter()) {
        for ((c, x), y) in coef.iter_mut().zip(aj.iter()).zip(gj.iter()) {
            *c += x * y;
        }
    }
}

/// `ẏ_i −= coef_i · y_i`: the tangent projection's radial part, column by column.
pub(crate) fn subtract_radial(dy: &mut DMatrix<f64>, y: &DMatrix<f64>, coef: &[f64]) {
    for (i, mut col) in dy.column_iter_mut().enumerate() {
        col.axpy(-coef[i], &y.column(i), 1.0);
    }
}

struct HeadKernel {
    p: TimeMatrix,
    u: TimeMatrix,
}

/// One head's columns in the stacked projection `X = Yᵀ·G` and in `Zᵀ`.
#[derive(Debug, Clone, Copy)]
struct Block {
    /// First column of `Q_ηᵀ = Yᵀ·A_η` in `X`; `K_ηᵀ = Yᵀ·B_ηᵀ` follows it (`k_p` columns each).
    q: usize,
    k_p: usize,
    /// First column of `V_ηᵀ = Yᵀ·D_ηᵀ` in `X` (`k_u` columns).
    v: usize,
    k_u: usize,
    /// First column of `Z_ηᵀ = α_η·V_ηᵀ` in `Zᵀ` (`k_u` columns), the rows of `C_η` in `C`.
    z: usize,
}

/// Every head in product form with constant factors, `P_η = A_η B_η`, `U_η = C_η D_η` (an
/// imported layer: `A = W_Qᵀ/sqrt(d_h)`, `B = W_K`, `C = W_O`, `D = W_V`). Per evaluation:
///
/// ```text
///   X  = Yᵀ·[A_1 | B_1ᵀ | D_1ᵀ | A_2 | …]   ℓ×N    one GEMM for every head's Q, K, V
///   S_η = Q_ηᵀ K_η = X_{Q_η}·X_{K_η}ᵀ        ℓ×ℓ    per head, k_p-long dot products
///   Z_ηᵀ = α_η·X_{V_η}                       ℓ×k_u  per head
///   Ẏ  = [C_1 | C_2 | …]·Zᵀ − Y·diag(c)      d×ℓ    one GEMM for Σ_η U_η Y α_ηᵀ
/// ```
///
/// with `c_i = (W y_i)ᵀ v_i`, `v_i` the `i`th column of the sum: `Σ_η Σ_j α_ij y_iᵀ W U_η y_j`
/// regrouped as in `model::reference::rhs`, so no `ℓ×ℓ` matrix `G_η` is formed at all. On
/// MiniLM (`d = 384`, 12 heads of `k = 32`, `ℓ = 16`) the two GEMMs are `16×384×1152` and
/// `384×384×16`, instead of 48 thin products (`32×384×16`, `384×32×16`) and 24 `ℓ×d×ℓ` ones.
/// The scale `s` of `s·A·B` is folded into `A` (and into `C`): a rounding of `s·a_ij`, within
/// the fast path's promise (no particular summation order). Both products use constant left
/// factors packed once (`model::packed`).
///
/// A large layer (at least [`FORK_MIN`] multiply–adds per evaluation, two heads or more) is cut
/// into two [`Part`]s of consecutive heads, each with its own stacked factors and workspaces;
/// they run under one `rayon::join` (one fork per evaluation: a fork may have to wake the other
/// core, which costs tens of microseconds) and `Ẏ` is their sum. The cut depends on the system
/// only, not on the thread count, so the bits are the same on one core or two.
struct Stacked {
    parts: Vec<Part>,
    /// The second part's `Σ_η U_η Y α_ηᵀ` (`d×ℓ`), added to the first's.
    second: DMatrix<f64>,
}

/// Multiply–adds per evaluation from which a stacked layer is split across two threads.
const FORK_MIN: usize = 1 << 20;

/// Some consecutive heads of a [`Stacked`] kernel.
struct Part {
    /// `Gᵀ` (`N×d`, packed): `G` has per head the columns of `A_η`, the rows of `B_η`, the rows
    /// of `D_η`. `X = Yᵀ·G` is computed as `Xᵀ = Gᵀ·Y`, written straight into `X`.
    gt: Packed,
    /// `C` (`d×Σk_u`, packed): the columns of every `C_η`.
    c: Packed,
    blocks: Vec<Block>,
    /// Workspaces: `X` (`ℓ×N`), `Zᵀ` (`ℓ×Σk_u`), one head's scores and weights (`ℓ×ℓ`).
    x: DMatrix<f64>,
    zt: DMatrix<f64>,
    s: DMatrix<f64>,
}

type ProductForm<'a> = ((f64, &'a DMatrix<f64>, &'a DMatrix<f64>), (f64, &'a DMatrix<f64>, &'a DMatrix<f64>));

impl Stacked {
    /// `None` unless every head's `P` and `U` are constant products (else the per-head path).
    fn new(heads: &[HeadKernel], d: usize, l: usize, fork_min: usize) -> Option<Stacked> {
        let forms: Vec<ProductForm> = heads.iter().map(|h| Some((h.p.constant_product()?, h.u.constant_product()?))).collect::<Option<_>>()?;
        let n: usize = forms.iter().map(|((_, a, _), (_, c, _))| 2 * a.ncols() + c.ncols()).sum();
        let nz: usize = forms.iter().map(|(_, (_, c, _))| c.ncols()).sum();
        let work = (n + nz) * d * l;
        let cut = if forms.len() >= 2 && work >= fork_min { forms.len() / 2 } else { forms.len() };
        let mut parts = vec![Part::new(&forms[..cut], d, l)];
        if cut < forms.len() {
            parts.push(Part::new(&forms[cut..], d, l));
        }
        Some(Stacked { parts, second: DMatrix::zeros(d, l) })
    }

    /// `out ← Σ_η U_η Y α_ηᵀ` for the tokens `y`.
    fn eval(&mut self, y: &DMatrix<f64>, causal: bool, row_sum: f64, out: &mut DMatrix<f64>) {
        match &mut self.parts[..] {
            [one] => one.eval(y, causal, row_sum, out),
            [first, second] => {
                let buf = &mut self.second;
                rayon::join(|| first.eval(y, causal, row_sum, out), || second.eval(y, causal, row_sum, buf));
                *out += &*buf;
            }
            _ => unreachable!("a stacked kernel has one or two parts"),
        }
    }
}

impl Part {
    fn new(forms: &[ProductForm], d: usize, l: usize) -> Part {
        let mut blocks = Vec::with_capacity(forms.len());
        let (mut n, mut nz) = (0, 0);
        for ((_, a, _), (_, c, _)) in forms {
            let (k_p, k_u) = (a.ncols(), c.ncols());
            blocks.push(Block { q: n, k_p, v: n + 2 * k_p, k_u, z: nz });
            n += 2 * k_p + k_u;
            nz += k_u;
        }
        let mut g = DMatrix::zeros(d, n);
        let mut cm = DMatrix::zeros(d, nz);
        for (((s, a, b), (r, c, dv)), bl) in forms.iter().zip(&blocks) {
            g.columns_mut(bl.q, bl.k_p).copy_from(&(*a * *s));
            g.columns_mut(bl.q + bl.k_p, bl.k_p).copy_from(&b.transpose());
            g.columns_mut(bl.v, bl.k_u).copy_from(&dv.transpose());
            cm.columns_mut(bl.z, bl.k_u).copy_from(&(*c * *r));
        }
        let gt = Packed::new(n, d, |i, j| g[(j, i)]);
        let c = Packed::new(d, nz, |i, j| cm[(i, j)]);
        Part { gt, c, blocks, x: DMatrix::zeros(l, n), zt: DMatrix::zeros(l, nz), s: DMatrix::zeros(l, l) }
    }

    /// `out ← Σ_η U_η Y α_ηᵀ` over this part's heads: `Zᵀ` (every head's attention applied to its
    /// values), then `C·(Zᵀ)ᵀ`.
    fn eval(&mut self, y: &DMatrix<f64>, causal: bool, row_sum: f64, out: &mut DMatrix<f64>) {
        let (d, l) = y.shape();
        self.gt.mul(1.0, y.as_slice(), Strided::col_major(d, l), false, self.x.as_mut_slice(), Strided::transposed(self.gt.rows(), l));
        for bl in &self.blocks {
            let q = View::cols(&self.x, bl.q, bl.k_p);
            let k = View::cols(&self.x, bl.q + bl.k_p, bl.k_p);
            gemm_view(1.0, q, Op::N, k, Op::T, 0.0, ViewMut::of(&mut self.s));
            softmax_rows(&mut self.s, causal, row_sum);
            let v = View::cols(&self.x, bl.v, bl.k_u);
            gemm_view(1.0, View::of(&self.s), Op::N, v, Op::N, 0.0, ViewMut::cols(&mut self.zt, bl.z, bl.k_u));
        }
        self.c.mul(1.0, self.zt.as_slice(), Strided::transposed(self.c.cols(), l), false, out.as_mut_slice(), Strided::col_major(d, l));
    }
}

/// The batched right-hand side of (7) and the discrete layer map for one system.
pub struct Kernel {
    d: usize,
    l: usize,
    causal: bool,
    /// `1/sqrt(d)` for the paper's normalisation, 1 for a plain softmax.
    row_sum: f64,
    heads: Vec<HeadKernel>,
    /// All heads at once, when every head is a constant product (see [`Stacked`]).
    stacked: Option<Stacked>,
    /// `None` when `W = I`.
    w: Option<DMatrix<f64>>,
    // Workspaces.
    py: DMatrix<f64>,
    uy: DMatrix<f64>,
    wy: DMatrix<f64>,
    s: DMatrix<f64>,
    g: DMatrix<f64>,
    g_identity: DMatrix<f64>,
    coef: Vec<f64>,
    scratch: Vec<f64>,
    diag: Vec<f64>,
    /// Right-hand-side evaluations so far.
    pub evals: u64,
}

impl Kernel {
    /// The kernel for `sys`: the stacked one when every head is a constant product, else per head.
    pub fn new(sys: &System) -> Kernel {
        Kernel::with_fork_min(sys, FORK_MIN)
    }

    /// [`Kernel::new`], with a stacked layer split across two threads from `fork_min`
    /// multiply–adds per evaluation (tests take 0 to split small systems).
    pub fn with_fork_min(sys: &System, fork_min: usize) -> Kernel {
        let mut k = Kernel::per_head(sys);
        k.stacked = Stacked::new(&k.heads, k.d, k.l, fork_min);
        k
    }

    /// The kernel that loops over heads whatever their form (the general path; tests hold the
    /// stacked one to it).
    pub fn per_head(sys: &System) -> Kernel {
        let (d, l) = (sys.dim, sys.tokens);
        Kernel {
            d,
            l,
            causal: sys.attention == Attention::Causal,
            row_sum: match sys.normalization {
                Normalization::Paper => 1.0 / (d as f64).sqrt(),
                Normalization::Softmax => 1.0,
            },
            heads: sys.heads.iter().map(|h| HeadKernel { p: TimeMatrix::new(&h.p, d), u: TimeMatrix::new(&h.u, d) }).collect(),
            stacked: None,
            w: if sys.metric_is_identity() { None } else { Some(sys.metric_f64()) },
            py: DMatrix::zeros(d, l),
            uy: DMatrix::zeros(d, l),
            wy: DMatrix::zeros(d, l),
            s: DMatrix::zeros(l, l),
            g: DMatrix::zeros(l, l),
            g_identity: DMatrix::zeros(l, l),
            coef: vec![0.0; l],
            scratch: Vec::new(),
            diag: Vec::new(),
            evals: 0,
        }
    }

    /// Whether every head goes through the stacked products.
    pub fn is_stacked(&self) -> bool {
        self.stacked.is_some()
    }

    /// How many parts (threads) the stacked kernel runs in: 0 when not stacked, else 1 or 2.
    pub fn stacked_parts(&self) -> usize {
        self.stacked.as_ref().map_or(0, |s| s.parts.len())
    }

    pub fn dim(&self) -> usize {
        self.d
    }

    pub fn tokens(&self) -> usize {
        self.l
    }

    /// Attention weights of head `h` at `(t, Y)` into `self.s` (rows sum to `row_sum`).
    fn attention(&mut self, h: usize, t: f64, y: &DMatrix<f64>) {
        self.heads[h].p.apply(t, y, &mut self.py, &mut self.scratch, &mut self.diag);
        gemm(1.0, y, Op::T, &self.py, Op::N, 0.0, &mut self.s);
        softmax_rows(&mut self.s, self.causal, self.row_sum);
    }

    /// The attention matrix `α^η(t, y)` of every head (for reports and tests).
    pub fn attention_matrices(&mut self, t: f64, y: &DMatrix<f64>) -> Vec<DMatrix<f64>> {
        (0..self.heads.len())
            .map(|h| {
                self.attention(h, t, y);
                self.s.clone()
            })
            .collect()
    }

    /// `dy ← f(t, y)`, the right-hand side of (7).
    pub fn rhs(&mut self, t: f64, y: &DMatrix<f64>, dy: &mut DMatrix<f64>) {
        self.evals += 1;
        if let Some(st) = &mut self.stacked {
            st.eval(y, self.causal, self.row_sum, dy);
            // c_i = (W y_i)ᵀ v_i with v_i = Σ_η Σ_j α_ij U_η y_j, the column of dy so far.
            let wy = match &self.w {
                None => y,
                Some(w) => {
                    gemm(1.0, w, Op::N, y, Op::N, 0.0, &mut self.wy);
                    &self.wy
                }
            };
            for (c, (a, v)) in self.coef.iter_mut().zip(wy.column_iter().zip(dy.column_iter())) {
                *c = a.dot(&v);
            }
            subtract_radial(dy, y, &self.coef);
            return;
        }
        dy.fill(0.0);
        self.coef.iter_mut().for_each(|c| *c = 0.0);
        // WY once per evaluation (W is constant).
        let wy_is_y = self.w.is_none();
        if let Some(w) = &self.w {
            gemm(1.0, w, Op::N, y, Op::N, 0.0, &mut self.wy);
        }
        let mut g_identity_ready = false;
        for h in 0..self.heads.len() {
            self.attention(h, t, y);
            let u_identity = self.heads[h].u.is_identity();
            if u_identity {
                // G = (WY)ᵀ·Y is the same for every head with U = I: compute it once.
                if !g_identity_ready {
                    let wy = if wy_is_y { y } else { &self.wy };
                    gemm(1.0, wy, Op::T, y, Op::N, 0.0, &mut self.g_identity);
                    g_identity_ready = true;
                }
                gemm(1.0, y, Op::N, &self.s, Op::T, 1.0, dy);
            } else {
                self.heads[h].u.apply(t, y, &mut self.uy, &mut self.scratch, &mut self.diag);
                let wy = if wy_is_y { y } else { &self.wy };
                gemm(1.0, wy, Op::T, &self.uy, Op::N, 0.0, &mut self.g);
                gemm(1.0, &self.uy, Op::N, &self.s, Op::T, 1.0, dy);
            }
            let g = if u_identity { &self.g_identity } else { &self.g };
            add_radial(&mut self.coef, &self.s, g);
        }
        subtract_radial(dy, y, &self.coef);
    }

    /// One layer of the discrete model: `y_i ← π_W(y_i + τ Σ_η Σ_j α_ij U y_j)`, layer time `t`.
    pub fn layer(&mut self, t: f64, tau: f64, y: &mut DMatrix<f64>) {
        self.evals += 1;
        let mut next = y.clone();
        if let Some(st) = &mut self.stacked {
            st.eval(y, self.causal, self.row_sum, &mut self.uy);
            for (n, u) in next.iter_mut().zip(self.uy.iter()) {
                *n = tau.mul_add(*u, *n);
            }
        } else {
            for h in 0..self.heads.len() {
                self.attention(h, t, y);
                if self.heads[h].u.is_identity() {
                    gemm(tau, y, Op::N, &self.s, Op::T, 1.0, &mut next);
                } else {
                    self.heads[h].u.apply(t, y, &mut self.uy, &mut self.scratch, &mut self.diag);
                    gemm(tau, &self.uy, Op::N, &self.s, Op::T, 1.0, &mut next);
                }
            }
        }
        *y = next;
        self.project(y);
    }

    /// Normalises every token onto `E_W`, `y ← y / sqrt(yᵀ W y)`, and returns the drift the
    /// state had before (the largest `|y_iᵀ W y_i − 1|`): one norm per token serves both.
    pub fn project(&mut self, y: &mut DMatrix<f64>) -> f64 {
        let mut drift: f64 = 0.0;
        for i in 0..self.l {
            let n2 = self.w_norm2(y, i);
            drift = drift.max((n2 - 1.0).abs());
            y.column_mut(i).scale_mut(1.0 / n2.sqrt());
        }
        drift
    }

    /// `y_iᵀ W y_i` for token `i` (no allocation when `W = I`; one matrix–vector product else).
    fn w_norm2(&self, y: &DMatrix<f64>, i: usize) -> f64 {
        let col = y.column(i);
        match &self.w {
            None => col.norm_squared(),
            Some(w) => col.dot(&(w * col)),
        }
    }

    /// The largest `|y_iᵀ W y_i − 1|` over tokens: how far a state drifted off `E_W`.
    pub fn drift(&self, y: &DMatrix<f64>) -> f64 {
        (0..self.l).map(|i| (self.w_norm2(y, i) - 1.0).abs()).fold(0.0, f64::max)
    }
}
