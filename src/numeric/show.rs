//! Numbers for people, never stronger than what was proved: proved bounds and enclosures are
//! printed rounded *outward* (a lower bound down, an upper bound up), checked exactly with
//! rationals, not by float comparison.

use inari::Interval;
use rug::ops::Pow;
use rug::Rational;

use crate::numeric::exact;

/// An interval for people: `{x}` for a point, else `[lo, hi]` rounded *outward* (so the printed
/// interval still contains the enclosure, checked exactly with rationals), with at least 6
/// significant digits and more until the printed width is within 4× the true width.
pub fn show_iv(x: Interval) -> String {
    if x.is_empty() {
        return "∅".into();
    }
    // A point is shown as a singleton only when its shortest text is its exact value.
    if x.inf() == x.sup() && exact::rational(&format!("{}", x.inf() + 0.0)) == Some(exact::from_f64(x.inf())) {
        return format!("{{{}}}", x.inf() + 0.0); // + 0.0 turns −0 into 0
    }
    if !x.is_common_interval() {
        return format!("[{}, {}]", show_lower(x.inf()), show_upper(x.sup()));
    }
    let width = x.sup() - x.inf();
    let mut digits = 6;
    loop {
        let (lo, hi) = (outward(x.inf(), digits, false), outward(x.sup(), digits, true));
        let printed = hi.parse::<f64>().unwrap_or(f64::INFINITY) - lo.parse::<f64>().unwrap_or(f64::NEG_INFINITY);
        if printed <= 4.0 * width || digits >= 17 {
            return format!("[{lo}, {hi}]");
        }
        digits += 1;
    }
}

/// `x` to `digits` significant digits, rounded down (`up = false`) or up: the printed decimal is
/// on the outer side of `x` exactly (compared as rationals).
fn outward(x: f64, digits: usize, up: bool) -> String {
    use crate::numeric::exact;
    if x == 0.0 {
        return "0".into();
    }
    let exp10 = x.abs().log10().floor() as i32;
    let scientific = !(-4..7).contains(&exp10);
    let decimals = (digits as i32 - 1 - exp10).max(0) as usize;
    let show = |v: f64| -> String {
        if scientific {
            let p = digits - 1;
            format!("{v:.p$e}")
        } else {
            format!("{v:.decimals$}")
        }
    };
    let exact_x = exact::from_f64(x);
    let outside = |text: &str| exact::rational(text).is_some_and(|q| if up { q >= exact_x } else { q <= exact_x });
    let nearest = show(x);
    if outside(&nearest) {
        return trim(&nearest);
    }
    // Move one unit of the last printed place outwards: 10^(exp10 − digits + 1), or 10^−decimals.
    let place = if scientific { exp10 - digits as i32 + 1 } else { -(decimals as i32) };
    let ten = rug::Integer::from(10);
    let unit = if place >= 0 { Rational::from(ten.pow(place as u32)) } else { Rational::from((1, ten.pow((-place) as u32))) };
    let printed = exact::rational(&nearest).unwrap_or_default();
    let moved = show(if up { printed + unit } else { printed - unit }.to_f64());
    if outside(&moved) {
        trim(&moved)
    } else {
        format!("{x:e}") // the exact shortest form of the double itself
    }
}

/// A proved upper bound for people: at least 6 significant digits, rounded up.
pub fn show_upper(x: f64) -> String {
    if x.is_finite() { outward(x, 6, true) } else { format!("{x}") }
}

/// A proved lower bound for people: at least 6 significant digits, rounded down.
pub fn show_lower(x: f64) -> String {
    if x.is_finite() { outward(x, 6, false) } else { format!("{x}") }
}

/// Drops trailing zeros of the mantissa (`1.500` → `1.5`, `2.000e-3` → `2e-3`).
fn trim(s: &str) -> String {
    let (mant, exp) = s.split_once('e').map_or((s, None), |(m, e)| (m, Some(e)));
    let mant = if mant.contains('.') { mant.trim_end_matches('0').trim_end_matches('.') } else { mant };
    match exp {
        Some(e) => format!("{mant}e{e}"),
        None => mant.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_bounds_are_outward() {
        for x in [1.1832004912, 0.43887543, -0.0214822, 1.1581391578120618e-15, 123456789.5, -7.5e-9, 2.0 / 3.0] {
            let (lo, hi) = (show_lower(x), show_upper(x));
            assert!(exact::rational(&lo).unwrap() <= exact::from_f64(x), "{x}: lower {lo}");
            assert!(exact::rational(&hi).unwrap() >= exact::from_f64(x), "{x}: upper {hi}");
        }
        assert_eq!(show_upper(1.1581391578120618e-15), "1.15814e-15");
        assert_eq!(show_iv(Interval::try_from((0.43887541, 0.43887549)).unwrap()), "[0.4388754, 0.4388755]");
        assert_eq!(show_iv(Interval::try_from((1.0, 3.0)).unwrap()), "[1, 3]");
        // Found by the soundness audit: a point whose shortest text is not its exact value.
        assert_eq!(show_iv(Interval::try_from((0.1, 0.1)).unwrap()), "[0.09999999999999999, 0.10000000000000001]");
        assert_eq!(show_iv(Interval::try_from((0.5, 0.5)).unwrap()), "{0.5}");
    }
}
