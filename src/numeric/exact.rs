//! Exact rational arithmetic on the user's inputs.
//!
//! A decimal literal `m.f × 10^e` is the rational `mf / 10^(|f| − e)` exactly; a random draw is
//! an `f64`, itself an exact dyadic rational. Questions that exact arithmetic settles cheaply
//! (symmetry, the sign of a token, positive definiteness of a small matrix) are settled here,
//! with no rounding anywhere.

#![allow(clippy::needless_range_loop)] // index loops read like the algebra they implement

use rug::ops::Pow;
use rug::{Integer, Rational};

/// Largest decimal exponent accepted; beyond it a literal's exact value would take megabytes.
pub const MAX_EXPONENT: i64 = 1100;

/// A decimal literal taken apart, before any arbitrary-precision work: the sign, the digits
/// of the integer and fraction parts, and the exponent.
struct DecimalParts<'a> {
    neg: bool,
    int: &'a str,
    frac: &'a str,
    exp: i64,
}

/// The syntax gate of [`rational`]: `Some` exactly when [`rational`] returns `Some` (every
/// later step of it is infallible for what passes here: non-empty ASCII digits and
/// `|exp| ≤ MAX_EXPONENT`). Readers that only need to *accept or refuse* a literal call
/// [`is_plain_decimal`], which costs no big-integer arithmetic, and cannot drift from the
/// exact reader because both go through this one function.
fn decimal_parts(text: &str) -> Option<DecimalParts<'_>> {
    let (neg, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (mantissa, exp) = match rest.find(['e', 'E']) {
        Some(k) => (&rest[..k], rest[k + 1..].parse::<i64>().ok()?),
        None => (rest, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty() || !(int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())) {
        return None;
    }
    // `unsigned_abs`: `i64::MIN.abs()` would wrap (release) and let a huge exponent through.
    if exp.unsigned_abs() > MAX_EXPONENT.unsigned_abs() {
        return None;
    }
    // The shift `exp − frac.len()` and its power of ten must fit (a fraction of more than
    // ~4·10⁹ digits would not): checked here so that `rational` cannot fail after the gate.
    let shift = exp.checked_sub(i64::try_from(frac.len()).ok()?)?;
    u32::try_from(shift.unsigned_abs()).ok()?;
    Some(DecimalParts { neg, int, frac, exp })
}

/// Whether `text` is a literal that [`rational`] reads (a plain decimal, exponent within
/// ±[`MAX_EXPONENT`]), without building the rational.
pub fn is_plain_decimal(text: &str) -> bool {
    decimal_parts(text).is_some()
}

/// Why a literal fails [`is_plain_decimal`], worded once for every reader that refuses one
/// (plain numbers in `system::doc`, number literals inside expressions in `system::expr`).
pub fn gate_reason() -> String {
    format!("not a plain decimal, or its exponent is beyond ±{MAX_EXPONENT}")
}

/// The exact value of a decimal literal (`-12.5e-3`, `.5`, `3.`, `7`). `None` if the text is not
/// a plain decimal or its exponent exceeds [`MAX_EXPONENT`] in size (1100 covers the exact expansion of every double).
pub fn rational(text: &str) -> Option<Rational> {
    let DecimalParts { neg, int, frac, exp } = decimal_parts(text)?;
    let digits: String = [int, frac].concat();
    let m = Integer::from_str_radix(&digits, 10).ok()?;
    let shift = exp.checked_sub(i64::try_from(frac.len()).ok()?)?;
    let power = |k: i64| -> Option<Integer> { Some(Integer::from(10).pow(u32::try_from(k).ok()?)) };
    let mut r = if shift >= 0 { Rational::from(m * power(shift)?) } else { Rational::from((m, power(-shift)?)) };
    if neg {
        r = -r;
    }
    Some(r)
}

/// The exact value of a finite double.
pub fn from_f64(x: f64) -> Rational {
    Rational::from_f64(x).expect("finite f64")
}

/// The exact decimal expansion of a finite double (`m/2^k = m·5^k/10^k`), as a literal text that
/// [`rational`] reads back to exactly the same value. At most ~770 significant digits.
pub fn decimal_text(x: f64) -> String {
    let q = from_f64(x);
    let (num, den) = (q.numer().clone(), q.denom().clone());
    // den = 2^k for a double.
    let k = den.significant_bits() - 1;
    let scaled = num * Integer::from(5).pow(k);
    if k == 0 {
        scaled.to_string()
    } else {
        format!("{scaled}e-{k}")
    }
}

/// Result of an exact `LDLᵀ` factorisation of a symmetric matrix.
#[derive(Debug, Clone, PartialEq)]
pub enum Definiteness {
    /// All pivots positive: positive definite. The pivots are the witness.
    PositiveDefinite { pivots: Vec<Rational> },
    /// Pivot `k` (0-based) is `≤ 0` with all earlier pivots positive: not positive definite,
    /// since the leading `(k+1)×(k+1)` minor is `pivot_0⋯pivot_k ≤ 0` (Sylvester).
    NotPositiveDefinite { index: usize, pivot: Rational },
}

/// The size of a rational for the budgets of exact methods: the significant bits of its
/// numerator and denominator.
pub fn bits(q: &Rational) -> u64 {
    u64::from(q.numer().significant_bits()) + u64::from(q.denom().significant_bits())
}

/// The size of a rational matrix: [`bits`] summed over its entries.
pub fn total_bits(a: &[Vec<Rational>]) -> u64 {
    a.iter().flatten().map(bits).sum()
}

/// Largest [`total_bits`] for which callers run [`positive_definite`]; past it they use the
/// interval LDLᵀ on the entries' enclosures (sound; undecided at worst). Rational elimination
/// grows entries with every step: a 40×40 matrix of 1000-digit decimals (10.6 M bits) took
/// 45 s per call (red team 3); 2^20 bits keeps every matrix of ordinary decimals exact (a 40×40
/// one of 17-significant-digit decimals is about 0.2 M bits).
pub const LDLT_BITS_BUDGET: u64 = 1 << 20;

/// Largest dimension for which callers run [`positive_definite`] (rational entries grow).
pub const LDLT_MAX_DIM: usize = 40;

/// Why [`positive_definite`] is not run on `a` (past [`LDLT_MAX_DIM`] or [`LDLT_BITS_BUDGET`]),
/// or `None` when it is: the one gate of every caller, which otherwise uses the interval LDLᵀ of
/// the entries' enclosures.
pub fn ldlt_skipped(a: &[Vec<Rational>]) -> Option<String> {
    let (d, bits) = (a.len(), total_bits(a));
    if d > LDLT_MAX_DIM {
        Some(format!("d = {d} > {LDLT_MAX_DIM}"))
    } else if bits > LDLT_BITS_BUDGET {
        Some(format!("the entries total {bits} bits > {LDLT_BITS_BUDGET}, the exact method's budget"))
    } else {
        None
    }
}

/// Decides positive definiteness of a symmetric matrix exactly, by Gaussian elimination without
/// pivoting: the `k`-th pivot equals the ratio of the leading minors `Δ_{k+1}/Δ_k`, so all pivots
/// are positive iff all leading principal minors are (Sylvester's criterion).
pub fn positive_definite(a: &[Vec<Rational>]) -> Definiteness {
    let n = a.len();
    let mut m: Vec<Vec<Rational>> = a.to_vec();
    let mut pivots = Vec::with_capacity(n);
    for k in 0..n {
        let p = m[k][k].clone();
        if p <= 0 {
            return Definiteness::NotPositiveDefinite { index: k, pivot: p };
        }
        for i in k + 1..n {
            let factor = Rational::from(&m[i][k] / &p);
            for j in k + 1..n {
                let delta = Rational::from(&factor * &m[k][j]);
                m[i][j] -= delta;
            }
        }
        pivots.push(p);
    }
    Definiteness::PositiveDefinite { pivots }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(n: i64, d: i64) -> Rational {
        Rational::from((n, d))
    }

    proptest::proptest! {
        /// The accept/refuse gate used by the readers agrees with the exact reader on
        /// literal-like strings (signs, dots, exponents at and past the limit, junk bytes).
        #[test]
        fn plain_decimal_gate_agrees_with_rational(
            text in "[-+]?[0-9]{0,4}(\\.[0-9]{0,4})?([eE][-+]?(0|1099|1100|1101|[0-9]{1,3}|9223372036854775808))?[a_ ]?"
        ) {
            proptest::prop_assert_eq!(is_plain_decimal(&text), rational(&text).is_some(), "{}", text);
        }
    }

    #[test]
    fn decimal_literals_are_exact() {
        assert_eq!(rational("0.1"), Some(q(1, 10)));
        assert_eq!(rational("-12.5e-3"), Some(q(-1, 80)));
        assert_eq!(rational(".5"), Some(q(1, 2)));
        assert_eq!(rational("3."), Some(q(3, 1)));
        assert_eq!(rational("2E3"), Some(q(2000, 1)));
        assert_ne!(rational("0.1"), rational("0.10000000000000000001"));
        assert_eq!(rational("1e5000"), None);
        // Found by fuzzing: i64::MIN as an exponent must not wrap into a small one.
        assert_eq!(rational("9e-9223372036854775808"), None);
        assert_eq!(rational("1.5e-9223372036854775808"), None);
        assert_eq!(rational("1e9223372036854775807"), None);
        assert_eq!(rational("abc"), None);
        assert_eq!(rational("."), None);
        assert_eq!(rational(""), None);
    }

    #[test]
    fn doubles_are_exact() {
        // 0.1 as a double is 3602879701896397 / 2^55, not 1/10.
        assert_eq!(from_f64(0.1), q(3602879701896397, 36028797018963968));
    }

    #[test]
    fn double_decimal_text_is_exact() {
        for x in [0.1, -0.375, 1e-300, 5e-324, 123456.789, 0.0, 2.0f64.powi(60)] {
            assert_eq!(rational(&decimal_text(x)), Some(from_f64(x)), "{x}");
        }
    }

    #[test]
    fn sylvester() {
        let a = vec![vec![q(2, 1), q(1, 1)], vec![q(1, 1), q(2, 1)]];
        assert!(matches!(positive_definite(&a), Definiteness::PositiveDefinite { .. }));
        let b = vec![vec![q(1, 1), q(2, 1)], vec![q(2, 1), q(1, 1)]];
        assert_eq!(positive_definite(&b), Definiteness::NotPositiveDefinite { index: 1, pivot: q(-3, 1) });
    }
}
