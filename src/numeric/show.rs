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
    // Move one unit of the last printed place outwards, in exact integers (never through f64,
    // which could round the moved decimal back onto the wrong side of x).
    let place = if scientific { exp10 - digits as i32 + 1 } else { -(decimals as i32) };
    let Some(printed) = exact::rational(&nearest) else { return exact::decimal_text(x) };
    let ten = rug::Integer::from(10);
    let scale = if place >= 0 { Rational::from(ten.pow(place as u32)) } else { Rational::from((1, ten.pow((-place) as u32))) };
    let (mut n, rem) = Rational::from(&printed / &scale).into_numer_denom();
    debug_assert_eq!(rem, 1, "the printed decimal has no digits below its last place");
    n += if up { 1 } else { -1 };
    let moved = render(&n, place, scientific);
    if outside(&moved) {
        trim(&moved)
    } else {
        exact::decimal_text(x) // the double's exact value: always on both sides of itself
    }
}

/// The decimal `n·10^place`, positional (`place ≤ 0`) or scientific (`d.ddd e±k`).
fn render(n: &rug::Integer, place: i32, scientific: bool) -> String {
    let sign = if *n < 0 { "-" } else { "" };
    let digits = n.clone().abs().to_string();
    if scientific {
        let exp = place + digits.len() as i32 - 1;
        let (head, tail) = digits.split_at(1);
        if tail.is_empty() { format!("{sign}{head}e{exp}") } else { format!("{sign}{head}.{tail}e{exp}") }
    } else {
        let decimals = (-place).max(0) as usize;
        let padded = format!("{digits:0>width$}", width = decimals + 1);
        let (int, frac) = padded.split_at(padded.len() - decimals);
        if frac.is_empty() { format!("{sign}{int}") } else { format!("{sign}{int}.{frac}") }
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
        assert_eq!(show_iv(Interval::try_from((0.1, 0.1)).unwrap()), "[0.1, 0.10000000000000001]");
        assert_eq!(show_iv(Interval::try_from((0.5, 0.5)).unwrap()), "{0.5}");
        // Found by the re-audit: at 17 digits the step outwards must not go through f64.
        let x = 0.237014508766131_f64;
        let hi = f64::from_bits(x.to_bits() + 1);
        let shown = show_iv(Interval::try_from((x, hi)).unwrap());
        let (lo_s, hi_s) = shown.trim_matches(['[', ']']).split_once(", ").unwrap();
        assert!(exact::rational(lo_s).unwrap() <= exact::from_f64(x), "{shown}");
        assert!(exact::rational(hi_s).unwrap() >= exact::from_f64(hi), "{shown}");
        // Random doubles, both directions, many digit counts.
        let mut s = 0x9E37_79B9_7F4A_7C15_u64;
        for _ in 0..20000 {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let x = f64::from_bits(s >> 2) * if s & 1 == 0 { 1.0 } else { -1.0 };
            if !x.is_finite() || x == 0.0 {
                continue;
            }
            for digits in [6, 12, 16, 17] {
                assert!(exact::rational(&outward(x, digits, true)).unwrap() >= exact::from_f64(x), "{x} up {digits}");
                assert!(exact::rational(&outward(x, digits, false)).unwrap() <= exact::from_f64(x), "{x} down {digits}");
            }
        }
    }
}
