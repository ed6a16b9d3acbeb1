//! The three-valued answer of every check: holds (with a witness), fails (with a counter-witness)
//! or undecided (with the reason). Verdicts are data; `report` renders them.

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verdict {
    /// Proved for the exact input.
    Holds,
    /// Disproved for the exact input.
    Fails,
    /// Neither could be proved; `detail` says why.
    Undecided,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::Fails => "fails",
            Verdict::Undecided => "undecided",
        }
    }
}

/// The outcome of one hypothesis check.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The hypothesis id (`value-symmetric`, `initial-hemisphere`, …).
    pub id: String,
    pub verdict: Verdict,
    /// One line a person can read: the witness, the counter-witness or the reason.
    pub detail: String,
    /// The same evidence for programs (JSON object; exact numbers as strings, enclosures as
    /// `[lo, hi]` pairs of doubles).
    pub witness: Value,
}

impl Outcome {
    pub fn holds(id: &str, detail: impl Into<String>, witness: Value) -> Outcome {
        Outcome { id: id.into(), verdict: Verdict::Holds, detail: detail.into(), witness }
    }
    pub fn fails(id: &str, detail: impl Into<String>, witness: Value) -> Outcome {
        Outcome { id: id.into(), verdict: Verdict::Fails, detail: detail.into(), witness }
    }
    pub fn undecided(id: &str, detail: impl Into<String>, witness: Value) -> Outcome {
        Outcome { id: id.into(), verdict: Verdict::Undecided, detail: detail.into(), witness }
    }
}

/// The verdict of a conjunction: fails if any fails, else undecided if any is undecided, else holds.
pub fn all(verdicts: impl IntoIterator<Item = Verdict>) -> Verdict {
    let mut out = Verdict::Holds;
    for v in verdicts {
        match v {
            Verdict::Fails => return Verdict::Fails,
            Verdict::Undecided => out = Verdict::Undecided,
            Verdict::Holds => {}
        }
    }
    out
}
