//! `C ← α·op(A)·op(B) + β·C` on column-major `f64` matrices, through faer's packed, SIMD-blocked
//! kernel on one thread. A transpose is a view, so `Yᵀ·(PY)` costs no copy.
//!
//! Why not nalgebra's own: `Matrix::gemm` uses `matrixmultiply` (about 30% slower than faer on
//! the Section 7.4 shapes, see Cargo.toml) and `gemm_tr` (the `Aᵀ·B` form the score matrix
//! needs) is a loop of matrix–vector products. Parallelism is across bulk runs, not inside.

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use nalgebra::DMatrix;

/// Whether an operand is used as stored or transposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    N,
    T,
}

/// A column-major matrix borrowed from a slice. A block of consecutive columns of a `DMatrix`
/// is one ([`View::cols`]): that is how the stacked kernel reaches each head's block of the
/// projected tokens without copying it.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    data: &'a [f64],
    rows: usize,
    cols: usize,
}

impl<'a> View<'a> {
    pub fn of(m: &'a DMatrix<f64>) -> Self {
        View { data: m.as_slice(), rows: m.nrows(), cols: m.ncols() }
    }

    /// Columns `start .. start + count` of `m`.
    pub fn cols(m: &'a DMatrix<f64>, start: usize, count: usize) -> Self {
        let r = m.nrows();
        View { data: &m.as_slice()[start * r..(start + count) * r], rows: r, cols: count }
    }

    fn faer(self, op: Op) -> MatRef<'a, f64> {
        let m = MatRef::from_column_major_slice(self.data, self.rows, self.cols);
        match op {
            Op::N => m,
            Op::T => m.transpose(),
        }
    }

    /// Entry `(i, j)` of `op(self)`.
    fn at(&self, op: Op, i: usize, j: usize) -> f64 {
        match op {
            Op::N => self.data[i + j * self.rows],
            Op::T => self.data[j + i * self.rows],
        }
    }

    /// `(rows, cols)` of `op(self)`.
    fn shape(&self, op: Op) -> (usize, usize) {
        match op {
            Op::N => (self.rows, self.cols),
            Op::T => (self.cols, self.rows),
        }
    }
}

/// The mutable counterpart of [`View`] (the output of a product).
#[derive(Debug)]
pub struct ViewMut<'a> {
    data: &'a mut [f64],
    rows: usize,
    cols: usize,
}

impl<'a> ViewMut<'a> {
    pub fn of(m: &'a mut DMatrix<f64>) -> Self {
        let (rows, cols) = m.shape();
        ViewMut { data: m.as_mut_slice(), rows, cols }
    }

    /// Columns `start .. start + count` of `m`.
    pub fn cols(m: &'a mut DMatrix<f64>, start: usize, count: usize) -> Self {
        let r = m.nrows();
        ViewMut { data: &mut m.as_mut_slice()[start * r..(start + count) * r], rows: r, cols: count }
    }

    /// The first `rows·cols` entries of a scratch buffer as a `rows×cols` matrix (grown if short).
    pub fn scratch(buf: &'a mut Vec<f64>, rows: usize, cols: usize) -> Self {
        if buf.len() < rows * cols {
            buf.resize(rows * cols, 0.0);
        }
        ViewMut { data: &mut buf[..rows * cols], rows, cols }
    }

    /// Sets entry `(i, j)`.
    pub fn set(&mut self, i: usize, j: usize, v: f64) {
        self.data[i + j * self.rows] = v;
    }

    /// The same storage, read-only.
    pub fn view(&self) -> View<'_> {
        View { data: self.data, rows: self.rows, cols: self.cols }
    }
}

/// `c[..j1, J] (+)= a[..j1, ..j1]·b[..j1, J]` for every column block `J = [j0, j1)` of `blocks`
/// (`a`, `b`, `c` square `ℓ×ℓ`; `accumulate`: add to `c`, else overwrite); the rest of `c` is
/// left alone. With `b` upper triangular (the reduced kernel's `Φ`, or a transposed attention
/// matrix, under causal attention) this is exactly rows `..j1` of `(a·b)[:, J]`:
/// `(a·b)_ij = Σ_{k ≤ j} a_ik b_kj` and `j < j1`. If `a` is upper triangular too, the rows from
/// `j1` on of that block are zero, so it is all of it. One block `[0, ℓ)` is the full product.
/// The blocks go to faer as views (small ones to a plain loop, as in [`gemm`]).
pub fn leading_block_products(a: MatRef<'_, f64>, b: MatRef<'_, f64>, accumulate: bool, blocks: &[(usize, usize)], c: &mut DMatrix<f64>) {
    let (m, n) = c.shape();
    assert!(a.nrows() == m && a.ncols() == m && b.nrows() == m && b.ncols() == n, "leading_block_products: shapes do not match");
    let mut dst = MatMut::from_column_major_slice_mut(c.as_mut_slice(), m, n);
    for &(j0, j1) in blocks {
        let nb = j1 - j0;
        if j1 * j1 * nb <= SMALL {
            for j in j0..j1 {
                for i in 0..j1 {
                    let dot: f64 = (0..j1).map(|k| a[(i, k)] * b[(k, j)]).sum();
                    dst[(i, j)] = if accumulate { dst[(i, j)] + dot } else { dot };
                }
            }
            continue;
        }
        let accum = if accumulate { Accum::Add } else { Accum::Replace };
        let c_blk = dst.as_mut().submatrix_mut(0, j0, j1, nb);
        matmul(c_blk, accum, a.submatrix(0, 0, j1, j1), b.submatrix(0, j0, j1, nb), 1.0, Par::Seq);
    }
}

/// The faer view of a stored matrix, transposed or not (no copy).
pub fn view(a: &DMatrix<f64>, op: Op) -> MatRef<'_, f64> {
    let m = MatRef::from_column_major_slice(a.as_slice(), a.nrows(), a.ncols());
    match op {
        Op::N => m,
        Op::T => m.transpose(),
    }
}

/// Below this many multiply–adds (`m·n·k`) a plain loop beats faer's packing and planning
/// (measured on fuzz campaigns of `ℓ ≤ 6`, `d ≤ 4`: a third of the time went to
/// `nano_gemm`'s copy and plan for products of a few dozen entries).
const SMALL: usize = 2048;

/// `c ← alpha·op(a)·op(b) + beta·c`. Panics on mismatched shapes (a programming error).
pub fn gemm(alpha: f64, a: &DMatrix<f64>, opa: Op, b: &DMatrix<f64>, opb: Op, beta: f64, c: &mut DMatrix<f64>) {
    gemm_view(alpha, View::of(a), opa, View::of(b), opb, beta, ViewMut::of(c));
}

/// [`gemm`] on borrowed column-major storage.
pub fn gemm_view(alpha: f64, a: View, opa: Op, b: View, opb: Op, beta: f64, c: ViewMut) {
    let (m, n) = (c.rows, c.cols);
    let (ma, k) = a.shape(opa);
    let (kb, nb) = b.shape(opb);
    assert!(k == kb && ma == m && nb == n, "gemm: shapes do not match");
    if m * n * k <= SMALL {
        return small(alpha, a, opa, b, opb, beta, c);
    }
    let accum = if beta == 0.0 {
        Accum::Replace
    } else {
        if beta != 1.0 {
            c.data.iter_mut().for_each(|x| *x *= beta);
        }
        Accum::Add
    };
    let dst = MatMut::from_column_major_slice_mut(c.data, m, n);
    matmul(dst, accum, a.faer(opa), b.faer(opb), alpha, Par::Seq);
}

/// The plain loop for small products, each entry one dot product (same rounding as any
/// unblocked order; the fast path promises no particular summation order).
fn small(alpha: f64, a: View, opa: Op, b: View, opb: Op, beta: f64, c: ViewMut) {
    let (m, n) = (c.rows, c.cols);
    let k = a.shape(opa).1;
    for j in 0..n {
        for i in 0..m {
            let dot: f64 = (0..k).map(|l| a.at(opa, i, l) * b.at(opb, l, j)).sum();
            let old = if beta == 0.0 { 0.0 } else { beta * c.data[i + j * m] };
            c.data[i + j * m] = old + alpha * dot;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_transpose_combinations_match_nalgebra() {
        let a = DMatrix::from_fn(4, 3, |i, j| (i as f64 + 1.0) * 0.5 - j as f64);
        let b = DMatrix::from_fn(4, 5, |i, j| (i * j) as f64 * 0.25 + 1.0);
        let bt = b.transpose();
        let mut c = DMatrix::from_element(3, 5, 1.0);
        gemm(2.0, &a, Op::T, &b, Op::N, 0.5, &mut c);
        let expect = a.transpose() * &b * 2.0 + DMatrix::from_element(3, 5, 0.5);
        assert!((c - &expect).abs().max() < 1e-12);
        let mut c = DMatrix::zeros(3, 5);
        gemm(2.0, &a, Op::T, &bt, Op::T, 0.0, &mut c);
        assert!((c - &expect + DMatrix::from_element(3, 5, 0.5)).abs().max() < 1e-12);
        let at = a.transpose();
        let mut c = DMatrix::zeros(3, 5);
        gemm(1.0, &at, Op::N, &b, Op::N, 0.0, &mut c);
        assert!((c - at * b).abs().max() < 1e-12);
    }

    /// Products of column blocks (views into a wider matrix) and into a column block of the
    /// output equal nalgebra's products of the copied blocks, on both paths; the columns
    /// outside the output block are untouched.
    #[test]
    fn column_block_views_match_copies() {
        for (l, k) in [(3, 2), (16, 32)] {
            let x = DMatrix::from_fn(l, 5 * k, |i, j| ((i * 5 + j * 3) % 17) as f64 * 0.25 - 2.0);
            let (q, kk) = (x.columns(k, k).into_owned(), x.columns(3 * k, k).into_owned());
            let mut out = DMatrix::from_element(l, 3 * l, 7.0);
            gemm_view(0.5, View::cols(&x, k, k), Op::N, View::cols(&x, 3 * k, k), Op::T, 0.0, ViewMut::cols(&mut out, l, l));
            let expect = &q * kk.transpose() * 0.5;
            assert!((out.columns(l, l) - &expect).abs().max() < 1e-12, "{l}×{k}");
            assert!(out.columns(0, l).iter().chain(out.columns(2 * l, l).iter()).all(|&v| v == 7.0));
            // Into a scratch buffer, as the per-head path's `B·Y`.
            let mut buf = Vec::new();
            gemm_view(1.0, View::cols(&x, 2 * k, k), Op::T, View::of(&expect), Op::N, 0.0, ViewMut::scratch(&mut buf, k, l));
            let want = x.columns(2 * k, k).transpose() * &expect;
            assert!((DMatrix::from_column_slice(k, l, &buf[..k * l]) - want).abs().max() < 1e-9);
        }
    }

    /// Both paths (the small loop and faer) agree with nalgebra on every transpose combination.
    #[test]
    fn small_and_blocked_paths_agree() {
        for (m, k, n) in [(3, 4, 5), (20, 30, 10)] {
            let a = DMatrix::from_fn(m, k, |i, j| ((i * 7 + j * 3) % 11) as f64 - 5.0);
            let b = DMatrix::from_fn(k, n, |i, j| ((i * 5 + j) % 7) as f64 * 0.5);
            let expect = &a * &b * 1.5 + DMatrix::from_element(m, n, 0.25);
            for (opa, aa) in [(Op::N, a.clone()), (Op::T, a.transpose())] {
                for (opb, bb) in [(Op::N, b.clone()), (Op::T, b.transpose())] {
                    let mut c = DMatrix::from_element(m, n, 0.5);
                    gemm(1.5, &aa, opa, &bb, opb, 0.5, &mut c);
                    assert!((c - &expect).abs().max() < 1e-9, "{m}×{k}×{n} {opa:?} {opb:?}");
                }
            }
        }
    }
}
