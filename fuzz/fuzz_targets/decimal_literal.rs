//! `numeric::exact::rational` on arbitrary text. It must never panic (or hang, or allocate
//! without bound), and it must agree with Rust's correctly rounded `str::parse::<f64>`:
//! * when both succeed with a finite double `f`, `f` is the double nearest the exact rational
//!   (ties to even), decided exactly in rational arithmetic; and `Rational::to_f64` (which rug
//!   documents as rounding *toward zero*) is `f` or its neighbour toward zero, never above `|r|`;
//! * `rational` accepts everything `parse::<f64>` does except NaN/infinity spellings and
//!   exponents beyond ±`MAX_EXPONENT`, and rejects everything `parse::<f64>` rejects.
#![no_main]

use attncert::numeric::exact::{rational, MAX_EXPONENT};
use libfuzzer_sys::fuzz_target;
use rug::Rational;

fn exact(x: f64) -> Rational {
    Rational::from_f64(x).expect("finite")
}

/// The exponent after `e`/`E`, if any; `None` when it does not fit in an `i64` (so it is huge).
fn exponent(text: &str) -> Option<i64> {
    match text.find(['e', 'E']) {
        Some(k) => text[k + 1..].parse::<i64>().ok(),
        None => Some(0),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let r = rational(text);
    let f = text.parse::<f64>();
    match (&r, &f) {
        (Some(_), Err(_)) => panic!("rational accepts {text:?}, which str::parse::<f64> rejects"),
        (None, Ok(_)) => {
            let lower = text.to_ascii_lowercase();
            let special = lower.contains("inf") || lower.contains("nan");
            let big_exponent = exponent(text).map_or(true, |e| e.unsigned_abs() > MAX_EXPONENT as u64);
            assert!(special || big_exponent, "rational rejects the plain decimal {text:?}");
        }
        _ => {}
    }
    let (Some(r), Ok(f)) = (r, f) else { return };
    if !f.is_finite() {
        return;
    }
    // f is the nearest double: no finite neighbour is closer, and a tie goes to the even one.
    let err = Rational::from(&r - &exact(f)).abs();
    for n in [f.next_up(), f.next_down()] {
        if !n.is_finite() {
            continue;
        }
        let err_n = Rational::from(&r - &exact(n)).abs();
        assert!(err <= err_n, "parse::<f64>({text:?}) = {f:e} but {n:e} is nearer the exact value {r}");
        if err == err_n {
            assert!(f.to_bits() & 1 == 0, "parse::<f64>({text:?}) = {f:e}: a tie not rounded to even");
        }
    }
    // rug's to_f64 truncates: |to_f64(r)| <= |r| < |next double away from zero|.
    let t = r.to_f64();
    assert!(t == f || t == if f > 0.0 { f.next_down() } else { f.next_up() } || (t == 0.0 && f == 0.0),
        "Rational::to_f64({text:?}) = {t:e}, parse::<f64> = {f:e}");
    assert!(exact(t).abs() <= Rational::from(r.abs_ref()), "Rational::to_f64({text:?}) = {t:e} is above |r|");
});
