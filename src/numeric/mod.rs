//! Exact and certified arithmetic: decimal literals as exact rationals, exact linear algebra
//! on them (`exact`); interval enclosures come with the certified checkers.

pub mod exact;
pub mod scalar;
