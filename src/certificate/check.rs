//! The trusted certificate checker (skeleton; filled in below).

use super::{Certificate, Claim};

/// A claim the checker proved, with the bound it derived itself (`proved ≤ claim.bound`).
#[derive(Debug, Clone, PartialEq)]
pub struct ProvedClaim {
    pub claim: Claim,
    pub proved: f64,
}

/// What an accepted certificate proves.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    /// The theorem's verdict, re-checked from the exact system.
    pub verdict: String,
    pub steps: usize,
    pub end_time: f64,
    pub claims: Vec<ProvedClaim>,
}

/// Why a certificate was rejected: the first step or claim that does not follow.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// 0-based step index, when a step is at fault.
    pub step: Option<usize>,
    /// 0-based claim index, when a claim is at fault.
    pub claim: Option<usize>,
    pub reason: String,
}

pub fn verify(_cert: &Certificate) -> Result<Accepted, Rejection> {
    Err(Rejection { step: None, claim: None, reason: "not implemented".into() })
}
