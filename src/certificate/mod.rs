//! Verified convergence certificates: the data format (this module), the trusted checker
//! ([`check`], with the enclosure formulas it relies on in [`flow`] and [`lyapunov`]).
//! The producer lives in `crate::certify` and is not trusted: `verify` re-derives every
//! claim from the certificate's data alone.
//!
//! Format (JSON, `version` 5). The version changes whenever the checker's enclosures change
//! in their last bits, since a step's `end` may be recorded as tight as the producer's own
//! enclosure, or the format gains a set kind: version 5 added doubleton sets (`linear`) and
//! reads version 4 files unchanged (their enclosures are the same); version 3 evaluated `+ − ×` node by node (4 fuses them into sums of products,
//! `numeric::tape`), version 2 had the a-priori operator of the step's own order, version 1
//! had no variational order. Doubles are written in their shortest round-trip form
//! (`serde_json`'s `float_roundtrip`), so a certificate reads back bit-exactly. Token
//! coordinates are token-major: coordinate `k` of token `i` is entry `i·d + k`.
//!
//! Claim kinds (see [`ClaimKind`]; `T` is the last step's `t1`, `F` a recorded function):
//! upper bounds `lyapunov-nonincreasing` (`dF/dt ≤ b ≤ 0` on `[0, T]`), `misalignment-at-end`
//! (`E(y(T)) ≤ b`), `max-angle-at-end`, `lyapunov-at-end` (`F(y(T)) ≤ b`); lower bounds, for
//! counterexamples, `misalignment-above-at-end` (`E(y(T)) ≥ b > 0`), `lyapunov-above-at-end`
//! (`F(y(T)) ≥ b`), `lyapunov-increase` (`F(y(T)) − F(y(0)) ≥ b > 0`). Each holds for every
//! solution from the initial set. Claims are re-derived from the steps, so adding kinds does not
//! change the version.

pub mod check;
pub mod flow;
pub mod lyapunov;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::InputError;

pub const FORMAT: &str = "attncert-certificate";
/// 5: doubleton sets (`linear`). Version 4 certificates (no doubletons, the same enclosures)
/// are still read and verified.
pub const VERSION: u32 = 5;
/// The versions [`Certificate::parse`] and `verify` accept.
pub const READS: [u32; 2] = [4, 5];

/// A certificate: a system, a theorem, an enclosed trajectory and the claims it proves.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Certificate {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`].
    pub version: u32,
    /// The theorem whose Lyapunov functions are recorded (`3.2`, `4.1`, `5.1`, `6.1`, `c6.1`).
    pub theorem: String,
    /// The system file exactly as read.
    pub system: SystemSource,
    /// The theorem's verdict from `attncert check` at production time (`holds`, `fails`,
    /// `undecided`); `verify` re-checks the hypotheses and rejects a mismatch.
    pub verdict: String,
    /// The initial set: every token's exact normalised initial position, widened by a box of
    /// this half-width in every coordinate (0 for the exact initial tokens).
    pub radius: f64,
    /// Names of the Lyapunov functions recorded in every step, in order (empty when the theorem
    /// defines none for this system).
    pub lyapunov: Vec<String>,
    /// How the certificate was made (informational: nothing here is trusted).
    pub producer: Producer,
    pub steps: Vec<Step>,
    pub claims: Vec<Claim>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SystemSource {
    /// The file name the system was read from (for messages).
    pub file: String,
    /// `toml` or `json`.
    pub format: String,
    /// The file's full text.
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Producer {
    pub program: String,
    pub method: String,
    /// Why the producer stopped (the target was reached, or the enclosure could not be kept).
    pub stop: String,
    pub seconds: f64,
}

/// One integration step over `[t0, t1]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub t0: f64,
    pub t1: f64,
    /// Taylor order of the end enclosure (1: the a-priori form `y(t0) + h·f(box)`).
    pub order: u32,
    /// Taylor order `q` of the variational matrix in the mean-value form of the end enclosure
    /// (`1 ≤ q`; see `flow::image`); ignored for order 1.
    pub variational_order: u32,
    /// An enclosure of every token for all `t ∈ [t0, t1]` (the a-priori box).
    #[serde(rename = "box")]
    pub apriori: BoxSet,
    /// An enclosure of every token at `t1`.
    pub end: BoxSet,
    /// Per Lyapunov function: an enclosure `[lo, hi]` of its values over `box`.
    pub values: Vec<[f64; 2]>,
    /// Per Lyapunov function: an upper bound of its (upper Dini) derivative on `[t0, t1]`.
    pub derivative_upper: Vec<f64>,
    /// An enclosure `[lo, hi]` of the misalignment `E` over `box`.
    pub misalignment: [f64; 2],
}

/// A set of whole states (`n = ℓ·d` coordinates): the box `[lo, hi]`, or, when `matrix` is
/// given, the parallelepiped `{ center + B·r : r ∈ [lo, hi] }` (Lohner's representation, `B`
/// an `n×n` row-major matrix of doubles, used exactly as written), or, when `linear` is given
/// too, Lohner's doubleton `{ center + C·u + B·r : u ∈ [linear.lo, linear.hi], r ∈ [lo, hi] }`
/// (`C = linear.matrix`: the image of the initial box kept apart from the accumulated errors
/// `B·r`, so that it is never re-wrapped).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BoxSet {
    pub lo: Vec<f64>,
    pub hi: Vec<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub center: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matrix: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linear: Option<Linear>,
}

/// The linear part `C·u`, `u ∈ [lo, hi]`, of a doubleton (`C` an `n×n` row-major matrix of
/// doubles, used exactly as written).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Linear {
    pub matrix: Vec<f64>,
    pub lo: Vec<f64>,
    pub hi: Vec<f64>,
}

impl BoxSet {
    pub fn plain(lo: Vec<f64>, hi: Vec<f64>) -> BoxSet {
        BoxSet { lo, hi, center: None, matrix: None, linear: None }
    }

    /// An outer box of the set in floating point (for display only: not rounded outward).
    pub fn approx_hull(&self) -> (Vec<f64>, Vec<f64>) {
        match (&self.center, &self.matrix) {
            (Some(x), Some(b)) => {
                let n = x.len();
                let mut lo = x.clone();
                let mut hi = x.clone();
                let parts = std::iter::once((b, &self.lo, &self.hi)).chain(self.linear.as_ref().map(|l| (&l.matrix, &l.lo, &l.hi)));
                for (b, plo, phi) in parts {
                    for i in 0..n {
                        for j in 0..n.min(plo.len()).min(phi.len()) {
                            let bij = b.get(i * n + j).copied().unwrap_or(0.0);
                            let (a, c) = (bij * plo[j], bij * phi[j]);
                            lo[i] += a.min(c);
                            hi[i] += a.max(c);
                        }
                    }
                }
                (lo, hi)
            }
            _ => (self.lo.clone(), self.hi.clone()),
        }
    }
}

/// A claim the certificate proves; `verify` accepts it only if it follows from the steps.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// `lyapunov-nonincreasing`, `misalignment-at-end`, `max-angle-at-end`, `lyapunov-at-end`
    /// (upper bounds), `misalignment-above-at-end`, `lyapunov-above-at-end`, `lyapunov-increase`
    /// (lower bounds).
    pub kind: String,
    /// The number the claim bounds by, from above or from below (see [`ClaimKind`]).
    pub bound: f64,
    /// The Lyapunov function the claim is about (one of [`Certificate::lyapunov`]), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
}

/// What each claim kind states, with `T` the last step's `t1`, for every solution from the
/// initial set. The first four are upper bounds (`… ≤ bound`), the last three lower bounds
/// (`… ≥ bound`): what a counterexample proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimKind {
    /// `V(t)` does not increase on `[0, T]`: every step's derivative bound is `≤ bound ≤ 0`.
    LyapunovNonincreasing,
    /// `E(y(T)) ≤ bound`.
    MisalignmentAtEnd,
    /// The largest angle between two tokens at `T`, in radians, is `≤ bound`.
    MaxAngleAtEnd,
    /// `V(y(T)) ≤ bound`.
    LyapunovAtEnd,
    /// `E(y(T)) ≥ bound > 0`: no solution is at consensus at `T`.
    MisalignmentAboveAtEnd,
    /// `V(y(T)) ≥ bound`.
    LyapunovAboveAtEnd,
    /// `V(y(T)) − V(y(0)) ≥ bound > 0` with `T > 0`: `V` is not non-increasing on `[0, T]`.
    LyapunovIncrease,
}

impl ClaimKind {
    pub const ALL: [(&'static str, ClaimKind); 7] = [
        ("lyapunov-nonincreasing", ClaimKind::LyapunovNonincreasing),
        ("misalignment-at-end", ClaimKind::MisalignmentAtEnd),
        ("max-angle-at-end", ClaimKind::MaxAngleAtEnd),
        ("lyapunov-at-end", ClaimKind::LyapunovAtEnd),
        ("misalignment-above-at-end", ClaimKind::MisalignmentAboveAtEnd),
        ("lyapunov-above-at-end", ClaimKind::LyapunovAboveAtEnd),
        ("lyapunov-increase", ClaimKind::LyapunovIncrease),
    ];

    pub fn parse(s: &str) -> Option<ClaimKind> {
        ClaimKind::ALL.iter().find(|(n, _)| *n == s).map(|&(_, k)| k)
    }

    pub fn name(self) -> &'static str {
        ClaimKind::ALL.iter().find(|(_, k)| *k == self).map_or("", |(n, _)| n)
    }

    /// Whether the claim bounds from below (`≥ bound`) rather than from above.
    pub fn is_lower(self) -> bool {
        matches!(self, ClaimKind::MisalignmentAboveAtEnd | ClaimKind::LyapunovAboveAtEnd | ClaimKind::LyapunovIncrease)
    }

    /// The relation to the bound, as `verify` and `certify` print it: `<=` or `>=`.
    pub fn relation(self) -> &'static str {
        if self.is_lower() {
            ">="
        } else {
            "<="
        }
    }

    /// Whether the claim is about one of the recorded functions (and must name it).
    pub fn takes_function(self) -> bool {
        matches!(self, ClaimKind::LyapunovNonincreasing | ClaimKind::LyapunovAtEnd | ClaimKind::LyapunovAboveAtEnd | ClaimKind::LyapunovIncrease)
    }
}

/// Refuses numbers whose text a double cannot hold: `1e400` would read as ∞ and `1e-400` as
/// 0, so the file would state a value that was never checked (a radius of `1e-400` checked as
/// the exact tokens). `at` is the field path, for the message.
fn reject_unrepresentable(path: &Path, v: &serde_json::Value, at: &mut String) -> Result<(), InputError> {
    use serde_json::Value;
    match v {
        Value::Number(n) => {
            let text = n.to_string();
            let x: f64 = text.parse().unwrap_or(f64::NAN);
            let nonzero_text = text.split(['e', 'E']).next().is_some_and(|m| m.bytes().any(|b| (b'1'..=b'9').contains(&b)));
            if !x.is_finite() || (x == 0.0 && nonzero_text) {
                return Err(InputError::new(path, at.clone(), format!("the number {text} is not representable as a double (it would read as {x})")));
            }
            Ok(())
        }
        Value::Array(items) => items.iter().enumerate().try_for_each(|(i, item)| {
            let len = at.len();
            at.push_str(&format!("[{i}]"));
            let r = reject_unrepresentable(path, item, at);
            at.truncate(len);
            r
        }),
        Value::Object(map) => map.iter().try_for_each(|(k, item)| {
            let len = at.len();
            if !at.is_empty() {
                at.push('.');
            }
            at.push_str(k);
            let r = reject_unrepresentable(path, item, at);
            at.truncate(len);
            r
        }),
        _ => Ok(()),
    }
}

impl Certificate {
    /// The time the certificate reaches (`0` without steps).
    pub fn end_time(&self) -> f64 {
        self.steps.last().map_or(0.0, |s| s.t1)
    }

    /// Reads a certificate file. Only the JSON shape is checked here; whether the content
    /// proves anything is [`check::verify`]'s business.
    pub fn load(path: &Path) -> Result<Certificate, InputError> {
        let text = std::fs::read_to_string(path).map_err(|e| InputError::new(path, "", format!("cannot read: {e}")))?;
        Certificate::parse(path, &text)
    }

    /// Parses certificate text; `path` is used in messages only.
    pub fn parse(path: &Path, text: &str) -> Result<Certificate, InputError> {
        // Check the header first, so a file of another kind or version gets a plain message.
        let head: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| InputError::new(path, "", format!("not valid JSON (line {}, column {}): {e}", e.line(), e.column())))?;
        match head.get("format").and_then(|f| f.as_str()) {
            Some(FORMAT) => {}
            Some(other) => return Err(InputError::new(path, "format", format!("'{other}' is not an attncert certificate"))),
            None => return Err(InputError::new(path, "format", format!("missing: expected \"{FORMAT}\""))),
        }
        match head.get("version").and_then(|v| v.as_u64()) {
            Some(v) if READS.iter().any(|&r| u64::from(r) == v) => {}
            Some(v) => return Err(InputError::new(path, "version", format!("version {v} is not supported (this program reads {READS:?})"))),
            None => return Err(InputError::new(path, "version", "missing or not an integer")),
        }
        reject_unrepresentable(path, &head, &mut String::new())?;
        // Parsed again from the text, not from `head`: a `Value` keeps only the last of
        // duplicate keys, and a certificate saying `"verdict": "fails", "verdict": "holds"`
        // must not read as either. The derived reader refuses duplicate fields.
        serde_json::from_str(text).map_err(|e| InputError::new(path, "", format!("malformed certificate: {e}")))
    }

    /// The certificate as JSON text.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string(self).unwrap_or_default();
        s.push('\n');
        s
    }
}
