//! Exact and certified arithmetic: decimal literals as exact rationals, exact linear algebra
//! on them (`exact`); interval enclosures come with the certified checkers.

pub mod enclose;
pub mod exact;
pub mod interval;
pub mod jet;
pub mod midrad;
pub mod poly;
pub mod scalar;
pub mod show;
pub mod tape;
