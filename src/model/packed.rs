//! Products with a constant left factor, packed once: `C ← α·M·B (+ C)` for a fixed `M` (`m×k`,
//! an imported layer's stacked weights) and a thin `B` (`k×n`, `n` the number of tokens).
//!
//! Why not faer here: faer packs both operands on every call, so the stacked MiniLM kernel
//! re-copied its 3.5 MB of weights at every right-hand-side evaluation to multiply them by 16
//! token columns, on one thread. Here `M` is laid out once, in panels of `mr` rows stored
//! `k`-major (each panel one contiguous stream the microkernel reads in order), and only the
//! small `B` is packed per call (groups of `nr` columns, `k`-major, zero-padded). One thread:
//! the stacked kernel forks by heads instead, once per evaluation (`model::kernel`).
//!
//! Microkernels: AVX-512 (`mr = 16`, `nr = 8`: 16 of the 32 vector registers accumulate) where
//! the CPU has it, found at run time; else AVX2 (`mr = 12`, `nr = 4`: 12 of 16 registers), which
//! the crate always builds for (`haswell`: inari needs it); a scalar loop for any other target.
//!
//! Every entry of `M·B` is one in-order chain of fused multiply–adds over `k` starting from 0,
//! whatever the kernel and the tile it falls in, so the results are bit-identical on machines
//! with and without AVX-512. This is the float fast path: no enclosure is claimed.

/// The microkernel a packing is laid out for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Isa {
    /// `mr = 16`, `nr = 8`; only chosen when the running CPU has AVX-512F.
    Avx512,
    /// `mr = 12`, `nr = 4`; AVX2 + FMA, or the scalar fallback with the same layout.
    Avx2,
}

impl Isa {
    fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            return Isa::Avx512;
        }
        Isa::Avx2
    }

    /// `(mr, nr)`: rows of `M` per panel, columns of `B` per group.
    fn tile(self) -> (usize, usize) {
        match self {
            Isa::Avx512 => (16, 8),
            Isa::Avx2 => (12, 4),
        }
    }
}

/// The largest tile, `mr·nr`, of any kernel (the stack buffer a tile is returned in).
const TILE_MAX: usize = 128;

/// A constant `m×k` matrix packed for [`Packed::mul`].
#[derive(Debug, Clone)]
pub struct Packed {
    m: usize,
    k: usize,
    isa: Isa,
    /// Panel `p`, entry `(r, kk)` (row `p·mr + r` of `M`) at `p·mr·k + kk·mr + r`; rows past `m`
    /// are zero.
    panels: Vec<f64>,
    /// The packed `B` of the current call (kept to reuse its allocation).
    bp: Vec<f64>,
}

/// A strided matrix operand or result: entry `(i, j)` at `data[i·rs + j·cs]`.
#[derive(Debug, Clone, Copy)]
pub struct Strided {
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
    pub cs: usize,
}

impl Strided {
    /// Column-major `rows×cols`.
    pub fn col_major(rows: usize, cols: usize) -> Self {
        Strided { rows, cols, rs: 1, cs: rows }
    }

    /// The transpose of a column-major `cols×rows` matrix, read as `rows×cols`.
    pub fn transposed(rows: usize, cols: usize) -> Self {
        Strided { rows, cols, rs: cols, cs: 1 }
    }

    fn at(&self, i: usize, j: usize) -> usize {
        i * self.rs + j * self.cs
    }

    /// The largest index any entry reaches, plus one (0 for an empty shape).
    fn extent(&self) -> usize {
        if self.rows == 0 || self.cols == 0 {
            0
        } else {
            self.at(self.rows - 1, self.cols - 1) + 1
        }
    }
}

impl Packed {
    /// Packs the `m×k` matrix whose entry `(i, j)` is `entry(i, j)`, for this CPU's kernel.
    pub fn new(m: usize, k: usize, entry: impl Fn(usize, usize) -> f64) -> Packed {
        Packed::for_isa(Isa::detect(), m, k, entry)
    }

    fn for_isa(isa: Isa, m: usize, k: usize, entry: impl Fn(usize, usize) -> f64) -> Packed {
        let (mr, _) = isa.tile();
        let n_panels = m.div_ceil(mr);
        let mut panels = vec![0.0; n_panels * mr * k];
        for p in 0..n_panels {
            let panel = &mut panels[p * mr * k..(p + 1) * mr * k];
            for kk in 0..k {
                for r in 0..mr.min(m - p * mr) {
                    panel[kk * mr + r] = entry(p * mr + r, kk);
                }
            }
        }
        Packed { m, k, isa, panels, bp: Vec::new() }
    }

    pub fn rows(&self) -> usize {
        self.m
    }

    pub fn cols(&self) -> usize {
        self.k
    }

    /// `c ← alpha·M·B`, or `c ← c + alpha·M·B` with `accumulate`; `B` is `k×n` in `b` with
    /// layout `bl`, `C` is `m×n` in `c` with layout `cl`. Panics on mismatched shapes or short
    /// slices (a programming error).
    pub fn mul(&mut self, alpha: f64, b: &[f64], bl: Strided, accumulate: bool, c: &mut [f64], cl: Strided) {
        let (k, n) = (self.k, bl.cols);
        assert!(bl.rows == k && cl.rows == self.m && cl.cols == n, "packed: shapes do not match");
        assert!(b.len() >= bl.extent() && c.len() >= cl.extent(), "packed: operand shorter than its shape");
        let (mr, nr) = self.isa.tile();
        let groups = n.div_ceil(nr);
        // B in groups of nr columns, each k-major: group g, row kk at (g·k + kk)·nr.
        self.bp.clear();
        self.bp.resize(groups * nr * k, 0.0);
        for j in 0..n {
            let (g, jj) = (j / nr, j % nr);
            for kk in 0..k {
                self.bp[(g * k + kk) * nr + jj] = b[bl.at(kk, j)];
            }
        }
        for p in 0..self.m.div_ceil(mr) {
            for g in 0..groups {
                self.tile(p, g, alpha, accumulate, c, cl);
            }
        }
    }

    /// The `mr×nr` block of panel `p` and column group `g` of `M·B` (`B` packed in `self.bp`),
    /// stored into `c` as [`Packed::mul`] says.
    fn tile(&self, p: usize, g: usize, alpha: f64, accumulate: bool, c: &mut [f64], cl: Strided) {
        let ((mr, nr), k) = (self.isa.tile(), self.k);
        let panel = &self.panels[p * mr * k..(p + 1) * mr * k];
        let group = &self.bp[g * nr * k..(g + 1) * nr * k];
        let mut acc = [0.0f64; TILE_MAX];
        match self.isa {
            // SAFETY: a packing is made for `Isa::Avx512` only when the running CPU has AVX-512F
            // (`Isa::detect`).
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => unsafe { kernel_avx512(panel, group, &mut acc) },
            _ => kernel_avx2(panel, group, &mut acc),
        }
        for jj in 0..nr.min(cl.cols - g * nr) {
            let j = g * nr + jj;
            for r in 0..mr.min(self.m - p * mr) {
                let slot = &mut c[cl.at(p * mr + r, j)];
                let v = acc[jj * mr + r];
                *slot = if accumulate { alpha.mul_add(v, *slot) } else { alpha * v };
            }
        }
    }
}

/// `Σ_kk a[kk]·b[kk]ᵀ` over a panel (`k` rows of 16) and a group (`k` rows of 8): the 16×8 block,
/// column `j` at `out[16j..16j + 16]`, each entry one in-order chain of fused multiply–adds.
/// Sixteen 8-wide accumulators, fed per `kk` by two vector loads of the panel and eight
/// broadcasts of the group (which the compiler folds into the FMAs' memory operands).
///
/// # Safety
/// The CPU must have AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn kernel_avx512(panel: &[f64], group: &[f64], out: &mut [f64; TILE_MAX]) {
    use std::arch::x86_64::{__m512d, _mm512_fmadd_pd, _mm512_loadu_pd, _mm512_set1_pd, _mm512_setzero_pd, _mm512_storeu_pd};
    const MR: usize = 16;
    const NR: usize = 8;
    let mut acc: [[__m512d; 2]; NR] = [[_mm512_setzero_pd(); 2]; NR];
    for (a, b) in panel.chunks_exact(MR).zip(group.chunks_exact(NR)) {
        // SAFETY: `a` has exactly 16 entries (chunks_exact): loads at 0 and 8 are in bounds.
        let (a0, a1) = unsafe { (_mm512_loadu_pd(a.as_ptr()), _mm512_loadu_pd(a.as_ptr().add(8))) };
        for j in 0..NR {
            let bj = _mm512_set1_pd(b[j]);
            acc[j][0] = _mm512_fmadd_pd(a0, bj, acc[j][0]);
            acc[j][1] = _mm512_fmadd_pd(a1, bj, acc[j][1]);
        }
    }
    for j in 0..NR {
        // SAFETY: 16j + 16 ≤ 128 = TILE_MAX for j < 8.
        unsafe {
            _mm512_storeu_pd(out.as_mut_ptr().add(MR * j), acc[j][0]);
            _mm512_storeu_pd(out.as_mut_ptr().add(MR * j + 8), acc[j][1]);
        }
    }
}

/// The same for a panel of 12 rows and a group of 4 columns (column `j` at `out[12j..12j+12]`):
/// twelve 4-wide accumulators, three vector loads and four broadcasts per `kk`. The compiler
/// does not find this form by itself from plain arrays (measured: scalar FMAs with the
/// accumulators spilled to the stack, 6 GFLOP/s).
#[cfg(all(target_arch = "x86_64", target_feature = "avx2", target_feature = "fma"))]
fn kernel_avx2(panel: &[f64], group: &[f64], out: &mut [f64; TILE_MAX]) {
    use std::arch::x86_64::{__m256d, _mm256_fmadd_pd, _mm256_loadu_pd, _mm256_set1_pd, _mm256_setzero_pd, _mm256_storeu_pd};
    const MR: usize = 12;
    const NR: usize = 4;
    // SAFETY: the cfg above compiles this only where AVX2 and FMA are enabled for the whole
    // crate, so the intrinsics run on a CPU that has them. Every load reads 4 entries at
    // offset 0, 4 or 8 of a chunk of exactly 12 (chunks_exact); every store writes 4 entries at
    // 12j + 4v ≤ 44 < TILE_MAX.
    unsafe {
        let mut acc: [[__m256d; 3]; NR] = [[_mm256_setzero_pd(); 3]; NR];
        for (a, b) in panel.chunks_exact(MR).zip(group.chunks_exact(NR)) {
            let av = [_mm256_loadu_pd(a.as_ptr()), _mm256_loadu_pd(a.as_ptr().add(4)), _mm256_loadu_pd(a.as_ptr().add(8))];
            for j in 0..NR {
                let bj = _mm256_set1_pd(b[j]);
                for v in 0..3 {
                    acc[j][v] = _mm256_fmadd_pd(av[v], bj, acc[j][v]);
                }
            }
        }
        for j in 0..NR {
            for v in 0..3 {
                _mm256_storeu_pd(out.as_mut_ptr().add(MR * j + 4 * v), acc[j][v]);
            }
        }
    }
}

/// The same block without AVX2/FMA (a build for another CPU): the scalar loop below.
#[cfg(not(all(target_arch = "x86_64", target_feature = "avx2", target_feature = "fma")))]
fn kernel_avx2(panel: &[f64], group: &[f64], out: &mut [f64; TILE_MAX]) {
    kernel_scalar(panel, group, out)
}

/// The 12×4 block in plain Rust: the same chains of fused multiply–adds, so the same bits, at
/// scalar speed. Compiled on every target (only called where AVX2/FMA are not enabled) so that
/// the tests hold the SIMD kernels to it bit for bit on the machine that builds them.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "avx2", target_feature = "fma", not(test)), allow(dead_code))]
fn kernel_scalar(panel: &[f64], group: &[f64], out: &mut [f64; TILE_MAX]) {
    const MR: usize = 12;
    const NR: usize = 4;
    for (a, b) in panel.chunks_exact(MR).zip(group.chunks_exact(NR)) {
        for j in 0..NR {
            for r in 0..MR {
                out[MR * j + r] = a[r].mul_add(b[j], out[MR * j + r]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::DMatrix;
    use proptest::prelude::*;

    fn pattern(m: usize, n: usize, s: usize) -> DMatrix<f64> {
        DMatrix::from_fn(m, n, |i, j| ((i * 7 + j * 13 + s) % 23) as f64 * 0.125 - 1.375)
    }

    /// Every layout and both modes equal nalgebra's product, on shapes with ragged panels and
    /// groups and on ones large enough to be split across threads.
    #[test]
    fn products_match_nalgebra_in_every_layout() {
        for (m, k, n) in [(1, 1, 1), (3, 5, 2), (8, 4, 4), (13, 9, 7), (100, 37, 16), (1152, 384, 16), (384, 384, 16)] {
            let a = pattern(m, k, 1);
            let b = pattern(k, n, 2);
            let c0 = pattern(m, n, 3);
            let mut packed = Packed::new(m, k, |i, j| a[(i, j)]);
            let want = &a * &b;
            // B column-major or given as the transpose of a column-major n×k.
            let bt = b.transpose();
            for (bdata, bl) in [(b.as_slice(), Strided::col_major(k, n)), (bt.as_slice(), Strided::transposed(k, n))] {
                // C column-major, and row-major (stored as the transpose).
                let mut c = c0.clone();
                packed.mul(0.5, bdata, bl, true, c.as_mut_slice(), Strided::col_major(m, n));
                assert!((&c - (&c0 + &want * 0.5)).abs().max() < 1e-9, "{m}×{k}×{n} col-major");
                let mut ct = DMatrix::from_element(n, m, 9.0);
                packed.mul(1.0, bdata, bl, false, ct.as_mut_slice(), Strided::transposed(m, n));
                assert!((ct.transpose() - &want).abs().max() < 1e-9, "{m}×{k}×{n} row-major");
            }
        }
    }

    /// A tile's place does not change a bit: each entry equals the same row packed alone.
    #[test]
    fn entries_do_not_depend_on_their_tile() {
        let (m, k, n) = (1152, 384, 16);
        let a = pattern(m, k, 4);
        let b = pattern(k, n, 5);
        let mut packed = Packed::new(m, k, |i, j| a[(i, j)]);
        let mut whole = vec![0.0; m * n];
        packed.mul(1.0, b.as_slice(), Strided::col_major(k, n), false, &mut whole, Strided::col_major(m, n));
        for i in (0..m).step_by(97) {
            let mut single = Packed::for_isa(Isa::Avx2, 1, k, |_, j| a[(i, j)]);
            let mut row = vec![0.0; n];
            single.mul(1.0, b.as_slice(), Strided::col_major(k, n), false, &mut row, Strided::col_major(1, n));
            for j in 0..n {
                assert_eq!(row[j].to_bits(), whole[i + j * m].to_bits(), "entry ({i}, {j})");
            }
        }
    }

    /// The AVX-512 and AVX2 layouts give the same bits (where this CPU has AVX-512): results do
    /// not depend on the machine. Without AVX-512 this compares the AVX2 kernel with itself.
    #[test]
    fn kernels_agree_bit_for_bit() {
        for (m, k, n) in [(37, 53, 11), (384, 384, 16)] {
            let a = pattern(m, k, 6);
            let b = pattern(k, n, 7);
            let mut outs = Vec::new();
            for isa in [Isa::detect(), Isa::Avx2] {
                let mut packed = Packed::for_isa(isa, m, k, |i, j| a[(i, j)] * 1.1);
                let mut c = vec![0.0; m * n];
                packed.mul(0.3, b.as_slice(), Strided::col_major(k, n), false, &mut c, Strided::col_major(m, n));
                outs.push(c);
            }
            assert!(outs[0].iter().zip(&outs[1]).all(|(x, y)| x.to_bits() == y.to_bits()), "{m}×{k}×{n}");
        }
    }

    /// A xorshift stream of finite values of mixed sign and magnitude (`±[0, 1)·2^e`,
    /// `e ∈ −20..20`, some exact zeros): wide enough that a fused and an unfused multiply–add
    /// differ, so the bit-exact comparison below tells the two apart.
    struct Values(u64);

    impl Values {
        fn next(&mut self) -> f64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            let x = self.0;
            if x.is_multiple_of(11) {
                return 0.0;
            }
            let mant = (x >> 11) as f64 / (1u64 << 53) as f64;
            let sign = if x & 1 == 0 { 1.0 } else { -1.0 };
            sign * mant * 2f64.powi((x >> 3) as i32 % 20 - ((x >> 8) % 2) as i32 * 20)
        }
    }

    /// A `rows×cols` layout in a slice: column-major (`layout` even) or row-major, with
    /// `pad` unused entries after each column or row and `tail` after the last; the slice length.
    fn layout(rows: usize, cols: usize, layout: u8, pad: usize, tail: usize) -> (Strided, usize) {
        let l = if layout.is_multiple_of(2) {
            Strided { rows, cols, rs: 1, cs: rows + pad }
        } else {
            Strided { rows, cols, rs: cols + pad, cs: 1 }
        };
        (l, l.extent() + tail)
    }

    /// One `Packed::mul` call against (a) the in-order chain of `mul_add`s from 0 that the
    /// module promises, bit for bit, and (b) a plain f64 sum within rounding; entries of `c`
    /// outside the shape keep their bits.
    #[allow(clippy::too_many_arguments)]
    fn check_call(packed: &mut Packed, a: &DMatrix<f64>, n: usize, lay: (u8, u8, usize, usize), alpha: f64, accumulate: bool, vals: &mut Values) -> Result<(), TestCaseError> {
        let (m, k) = a.shape();
        let (bl, blen) = layout(k, n, lay.0, lay.2, lay.3);
        let (cl, clen) = layout(m, n, lay.1, lay.3, lay.2);
        let b: Vec<f64> = (0..blen).map(|_| vals.next()).collect();
        let c0: Vec<f64> = (0..clen).map(|_| vals.next()).collect();
        let mut c = c0.clone();
        packed.mul(alpha, &b, bl, accumulate, &mut c, cl);
        let mut inside = vec![false; clen];
        for i in 0..m {
            for j in 0..n {
                let at = cl.at(i, j);
                inside[at] = true;
                let chain = (0..k).fold(0.0f64, |s, kk| a[(i, kk)].mul_add(b[bl.at(kk, j)], s));
                let exact = if accumulate { alpha.mul_add(chain, c0[at]) } else { alpha * chain };
                prop_assert_eq!(c[at].to_bits(), exact.to_bits(), "({}, {}) of {}×{}×{}: {} vs chain {}", i, j, m, k, n, c[at], exact);
                let plain: f64 = (0..k).map(|kk| a[(i, kk)] * b[bl.at(kk, j)]).sum();
                let size: f64 = (0..k).map(|kk| (a[(i, kk)] * b[bl.at(kk, j)]).abs()).sum();
                let want = alpha * plain + if accumulate { c0[at] } else { 0.0 };
                let tol = 1e-13 * (alpha.abs() * size + if accumulate { c0[at].abs() } else { 0.0 }) + 1e-300;
                prop_assert!((c[at] - want).abs() <= tol, "({}, {}) of {}×{}×{}: {} vs plain {}", i, j, m, k, n, c[at], want);
            }
        }
        for (at, (x, x0)) in c.iter().zip(&c0).enumerate() {
            if !inside[at] {
                prop_assert_eq!(x.to_bits(), x0.to_bits(), "entry {} outside the shape was written", at);
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Random shapes (ragged panels and groups, empty dimensions), layouts of `B` and `C`
        /// (column- or row-major, padded, longer slices), both modes, any `α`, and both
        /// microkernels: every entry is the in-order FMA chain, and the product is right.
        /// The same packing serves a second call of another width (the reused `B` buffer).
        #[test]
        fn mul_is_the_in_order_fma_chain(
            m in 0usize..40, k in 0usize..40, n in 0usize..20, n2 in 0usize..20,
            lay in (0u8..2, 0u8..2, 0usize..3, 0usize..5), lay2 in (0u8..2, 0u8..2, 0usize..3, 0usize..5),
            alpha in prop_oneof![Just(1.0), Just(-1.0), Just(0.0), -4.0f64..4.0],
            accumulate in any::<bool>(), accumulate2 in any::<bool>(), avx512 in any::<bool>(), seed in any::<u64>(),
        ) {
            let mut vals = Values(seed | 1);
            let a = DMatrix::from_fn(m, k, |_, _| vals.next());
            let isa = if avx512 { Isa::detect() } else { Isa::Avx2 };
            let mut packed = Packed::for_isa(isa, m, k, |i, j| a[(i, j)]);
            prop_assert_eq!((packed.rows(), packed.cols()), (m, k));
            check_call(&mut packed, &a, n, lay, alpha, accumulate, &mut vals)?;
            check_call(&mut packed, &a, n2, lay2, 0.75 * alpha, accumulate2, &mut vals)?;
        }

        /// The 12×4 AVX2 microkernel gives the scalar fallback's bits (the loop a build without
        /// AVX2/FMA runs), so a build for another CPU gets the same numbers too.
        #[test]
        fn avx2_kernel_matches_scalar_fallback(k in 0usize..64, seed in any::<u64>()) {
            let mut vals = Values(seed | 1);
            let panel: Vec<f64> = (0..12 * k).map(|_| vals.next()).collect();
            let group: Vec<f64> = (0..4 * k).map(|_| vals.next()).collect();
            let (mut simd, mut scalar) = ([0.0; TILE_MAX], [0.0; TILE_MAX]);
            kernel_avx2(&panel, &group, &mut simd);
            kernel_scalar(&panel, &group, &mut scalar);
            prop_assert!(simd.iter().zip(&scalar).all(|(x, y)| x.to_bits() == y.to_bits()));
        }
    }
}
