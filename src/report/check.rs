//! The text report of `attncert check`.

use crate::hypothesis::Verdict;
use crate::theorem::TheoremReport;

fn word(v: Verdict) -> &'static str {
    match v {
        Verdict::Holds => "HOLDS",
        Verdict::Fails => "FAILS",
        Verdict::Undecided => "UNDECIDED",
    }
}

/// One block per theorem: the verdict, one line per hypothesis, and the conclusion.
pub fn text(reports: &[TheoremReport]) -> String {
    let mut out = String::new();
    for r in reports {
        let kind = if r.spec.kind == "theorem" { String::new() } else { format!(" [{}]", r.spec.kind) };
        out += &format!("{}{kind}: {}\n", r.spec.title, word(r.verdict));
        let width = r.hypotheses.iter().map(|o| o.id.chars().count()).max().unwrap_or(0);
        for o in &r.hypotheses {
            out += &format!("  {:<width$}  {:<9}  {}\n", o.id, o.verdict.as_str(), o.detail);
        }
        match r.verdict {
            Verdict::Holds => {
                out += &format!("  conclusion: {}\n", r.spec.conclusion);
                if let Some(p) = &r.prediction {
                    out += &format!("  predicted limit: {p}\n");
                }
                out += &format!("  Lyapunov function: {}\n", r.spec.lyapunov);
            }
            Verdict::Fails => out += "  a hypothesis fails: the theorem does not apply to this system\n",
            Verdict::Undecided => out += "  no hypothesis fails, but not all could be proved\n",
        }
        out.push('\n');
    }
    out
}
