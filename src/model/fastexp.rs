//! `exp` on the non-positive arguments of a max-shifted softmax, written so the compiler
//! vectorises a loop of it (no branches, no table, no float→int conversion): the softmax of
//! the Section 7.4 system takes 2×1275 exponentials per right-hand side, and libm's scalar
//! `exp` was 9% of a run's profile.
//!
//! Method (Cody–Waite reduction, Taylor polynomial): `x = k·ln2 + r` with `k` the nearest
//! integer to `x/ln2` and `|r| ≤ ln2/2` (`ln2` split in two parts, the first with enough trailing
//! zero bits that `k·LN2_HI` is exact for `|k| < 2^11`), `e^r` by its Taylor polynomial of degree
//! 13 (remainder `≤ (ln2/2)^14/14! < 5e-18` relative, far below an ulp), and `2^k` built in the
//! exponent field. Accuracy: within a few ulps of the correctly rounded value (the test holds
//! it to 4 ulps against `f64::exp`; Horner's rounding is the main term). Below `−708` (where
//! `e^x` is subnormal, `< 3.3e-308`) the result is 0: in a softmax whose largest term is 1
//! that changes nothing representable. NaN in gives NaN out.

use std::f64::consts::LOG2_E;

/// `ln 2 = LN2_HI + LN2_LO`, `LN2_HI` with its low 32 bits zero.
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = 1.9082149292705877e-10;
/// `2^52`: adding it rounds a float of magnitude below `2^51` to an integer.
const TWO52: f64 = 4_503_599_627_370_496.0;
/// The smallest argument whose exponential is still normal (`e^−708 ≈ 3.3e-308`).
const MIN_ARG: f64 = -708.0;

/// `e^x` for `x ≤ 0` (see the module documentation; positive `x` are not supported).
#[inline(always)]
pub fn exp_nonpositive(x: f64) -> f64 {
    let xc = if x < MIN_ARG { MIN_ARG } else { x };
    let k = (xc * LOG2_E).round_ties_even(); // in [−1022, 0]
    let r = (xc - k * LN2_HI) - k * LN2_LO;
    // Taylor coefficients 1/j!, j = 13 … 2, by Horner.
    let mut p = 1.0 / 6_227_020_800.0;
    for c in [
        1.0 / 479_001_600.0,
        1.0 / 39_916_800.0,
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
    ] {
        p = p * r + c;
    }
    let p = 1.0 + r * (1.0 + r * p);
    // 2^k: the integer k + 1023 sits in the low mantissa bits of `k + 1023 + 2^52`; shifting it
    // into the exponent field gives the double 2^k (k + 1023 ∈ [1, 1023]: a normal number).
    let scale = f64::from_bits((k + (1023.0 + TWO52)).to_bits() << 52);
    let y = p * scale;
    if x < MIN_ARG {
        0.0
    } else {
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ulps(a: f64, b: f64) -> f64 {
        (a - b).abs() / (b.abs() * f64::EPSILON)
    }

    #[test]
    fn special_values() {
        assert_eq!(exp_nonpositive(0.0), 1.0);
        assert_eq!(exp_nonpositive(-0.0), 1.0);
        assert_eq!(exp_nonpositive(-709.0), 0.0);
        assert_eq!(exp_nonpositive(f64::NEG_INFINITY), 0.0);
        assert!(exp_nonpositive(f64::NAN).is_nan());
        assert!(ulps(exp_nonpositive(MIN_ARG), MIN_ARG.exp()) <= 4.0);
        assert!(ulps(exp_nonpositive(-1.0), std::f64::consts::E.recip()) <= 4.0);
    }

    #[test]
    fn dense_sweep_within_four_ulps() {
        let mut worst: f64 = 0.0;
        for i in 0..=2_000_000 {
            let x = -708.0 * (i as f64 / 2_000_000.0).powi(3);
            worst = worst.max(ulps(exp_nonpositive(x), x.exp()));
        }
        assert!(worst <= 4.0, "worst {worst} ulps");
    }

    proptest! {
        #[test]
        fn random_arguments_within_four_ulps(x in -708.0f64..=0.0, small in -1e-6f64..=0.0) {
            prop_assert!(ulps(exp_nonpositive(x), x.exp()) <= 4.0, "{x}");
            prop_assert!(ulps(exp_nonpositive(small), small.exp()) <= 4.0, "{small}");
        }
    }
}
