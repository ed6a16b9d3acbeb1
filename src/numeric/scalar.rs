//! The scalar the plain model definitions are generic over: `f64` for reference runs, an
//! outward-rounded interval for certified ones. One definition, two meanings.

use std::ops::{Add, Div, Mul, Neg, Sub};

pub trait Scalar:
    Copy + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self> + Div<Output = Self> + Neg<Output = Self>
{
    /// The exact value of a double (a point interval for intervals).
    fn from_f64(x: f64) -> Self;
    fn exp(self) -> Self;
    fn sqrt(self) -> Self;
    /// `max(self, other)`; for intervals the interval of all pairwise maxima.
    fn max(self, other: Self) -> Self;
    fn zero() -> Self {
        Self::from_f64(0.0)
    }
    fn one() -> Self {
        Self::from_f64(1.0)
    }
}

impl Scalar for f64 {
    fn from_f64(x: f64) -> Self {
        x
    }
    fn exp(self) -> Self {
        f64::exp(self)
    }
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
    fn max(self, other: Self) -> Self {
        f64::max(self, other)
    }
}

impl Scalar for inari::Interval {
    fn from_f64(x: f64) -> Self {
        crate::numeric::enclose::point(x)
    }
    fn exp(self) -> Self {
        inari::Interval::exp(self)
    }
    fn sqrt(self) -> Self {
        inari::Interval::sqrt(self)
    }
    fn max(self, other: Self) -> Self {
        inari::Interval::max(self, other)
    }
}
