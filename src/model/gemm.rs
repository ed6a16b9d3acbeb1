//! `C ← α·op(A)·op(B) + β·C` on column-major `f64` matrices, through `matrixmultiply`'s packed,
//! SIMD-blocked kernel. A transpose is only a swap of strides, so `Yᵀ·(PY)` costs no copy.
//!
//! Why not nalgebra's own: `Matrix::gemm` reaches `matrixmultiply` but `gemm_tr` (the `Aᵀ·B`
//! form the score matrix needs) is a loop of matrix–vector products, several times slower.

use nalgebra::DMatrix;

/// Whether an operand is used as stored or transposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    N,
    T,
}

fn view(a: &DMatrix<f64>, op: Op) -> (usize, usize, isize, isize) {
    let (r, c) = a.shape();
    // Column-major: element (i, j) sits at i + j·r.
    match op {
        Op::N => (r, c, 1, r as isize),
        Op::T => (c, r, r as isize, 1),
    }
}

/// `c ← alpha·op(a)·op(b) + beta·c`. Panics on mismatched shapes (a programming error).
pub fn gemm(alpha: f64, a: &DMatrix<f64>, opa: Op, b: &DMatrix<f64>, opb: Op, beta: f64, c: &mut DMatrix<f64>) {
    let (m, k, rsa, csa) = view(a, opa);
    let (k2, n, rsb, csb) = view(b, opb);
    let (cm, cn) = c.shape();
    assert!(k == k2 && cm == m && cn == n, "gemm: shapes {m}x{k} · {k2}x{n} → {cm}x{cn}");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        // An empty sum: matrixmultiply handles it too, but be explicit about beta·C.
        c.scale_mut(beta);
        return;
    }
    // SAFETY: the strides and extents describe exactly the storage of `a`, `b` and `c`
    // (checked above), and `c` is borrowed mutably, so it cannot alias `a` or `b`.
    unsafe {
        matrixmultiply::dgemm(
            m,
            k,
            n,
            alpha,
            a.as_ptr(),
            rsa,
            csa,
            b.as_ptr(),
            rsb,
            csb,
            beta,
            c.as_mut_ptr(),
            1,
            cm as isize,
        );
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
}
