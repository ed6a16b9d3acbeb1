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
    let (m, n) = c.shape();
    let k = if opa == Op::N { a.ncols() } else { a.nrows() };
    if m * n * k <= SMALL {
        return small(alpha, a, opa, b, opb, beta, c);
    }
    let (a, b) = (view(a, opa), view(b, opb));
    assert!(a.ncols() == b.nrows() && a.nrows() == m && b.ncols() == n, "gemm: shapes do not match");
    let accum = if beta == 0.0 {
        Accum::Replace
    } else {
        if beta != 1.0 {
            c.scale_mut(beta);
        }
        Accum::Add
    };
    let dst = MatMut::from_column_major_slice_mut(c.as_mut_slice(), m, n);
    matmul(dst, accum, a, b, alpha, Par::Seq);
}

/// The plain loop for small products, each entry one dot product (same rounding as any
/// unblocked order; the fast path promises no particular summation order).
fn small(alpha: f64, a: &DMatrix<f64>, opa: Op, b: &DMatrix<f64>, opb: Op, beta: f64, c: &mut DMatrix<f64>) {
    let (m, n) = c.shape();
    let k = if opa == Op::N { a.ncols() } else { a.nrows() };
    let kb = if opb == Op::N { b.nrows() } else { b.ncols() };
    let (ma, nb) = (if opa == Op::N { a.nrows() } else { a.ncols() }, if opb == Op::N { b.ncols() } else { b.nrows() });
    assert!(k == kb && ma == m && nb == n, "gemm: shapes do not match");
    let ea = |i: usize, l: usize| if opa == Op::N { a[(i, l)] } else { a[(l, i)] };
    let eb = |l: usize, j: usize| if opb == Op::N { b[(l, j)] } else { b[(j, l)] };
    for j in 0..n {
        for i in 0..m {
            let dot: f64 = (0..k).map(|l| ea(i, l) * eb(l, j)).sum();
            let old = if beta == 0.0 { 0.0 } else { beta * c[(i, j)] };
            c[(i, j)] = old + alpha * dot;
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
