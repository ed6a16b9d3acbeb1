//! What an accepted certificate proves, in one line: the first line of `verify` and of
//! `certify`, so a reader (or a script reading the first line) never takes a certificate of a
//! theorem whose hypotheses fail for a proof of that theorem.

use crate::certificate::check::Accepted;
use crate::numeric::show::show_lower;

/// [`headline`] of an accepted certificate.
pub fn accepted(theorem: &str, ok: &Accepted) -> String {
    headline(theorem, &ok.verdict, ok.end_time, ok.steps)
}

/// One line: whether the theorem applies, over which time window the enclosures hold, and
/// what the claims then mean. The end time is rounded down (a shorter window claims less).
pub fn headline(theorem: &str, verdict: &str, end_time: f64, steps: usize) -> String {
    let window = format!("every solution from the initial set is enclosed on [0, {}] ({steps} steps)", show_lower(end_time));
    let t = theorem;
    match verdict {
        "holds" => format!("theorem {t} applies (its hypotheses hold, re-checked from the exact system); {window}, and the claims below hold for all of them"),
        "fails" => format!(
            "theorem {t} does NOT apply (its hypotheses fail, re-checked from the exact system): only the enclosures are proved ({window}) and the bounds below along them, not the theorem's conclusion"
        ),
        _ => format!(
            "theorem {t} is NOT known to apply (its hypotheses are undecided): only the enclosures are proved ({window}) and the bounds below along them, not the theorem's conclusion"
        ),
    }
}
