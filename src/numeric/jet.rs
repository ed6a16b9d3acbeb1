//! Truncated Taylor series in `t` in outward-rounded intervals ([`Series`]): the user's
//! time-dependent matrices expanded around a step's start (the model's own recurrences run on
//! a recorded tape, `numeric::tape`).
//!
//! It implements [`Scalar`] and [`ExprScalar`], so `model::reference::rhs` and the user's
//! expressions evaluate over them unchanged.
//!
//! Soundness: every coefficient is computed from its recurrence (stated at each operation) in
//! inari's outward-rounded arithmetic, so it encloses the exact coefficient for every point in
//! the input intervals. Where the function is not smooth on the input (`abs`, `sign`, `sqrt`,
//! division, negative powers at their singular point), the result carries `valid = false`:
//! Taylor's theorem no longer applies and callers must not use the coefficients.
//! Tightness: not tight (each recurrence is a sum of products: the dependency problem).

use inari::Interval;

use crate::numeric::enclose::{literal, point};
use crate::numeric::scalar::Scalar;
use crate::system::expr::{ExprScalar, Literal};

/// The most coefficients a series carries: Taylor order ≤ `MAX_LEN − 1`.
pub const MAX_LEN: usize = 24;

const ZERO: Interval = inari::const_interval!(0.0, 0.0);

/// `Σ_k c_k τ^k` truncated after `len` coefficients. Constants have `len = 1` (their
/// coefficients past the first are exactly 0); operations give the longer length.
#[derive(Clone, Copy, Debug)]
pub struct Series {
    pub c: [Interval; MAX_LEN],
    pub len: usize,
    /// False when an operation was applied where it is not smooth (see the module note).
    pub valid: bool,
}

impl Series {
    pub fn constant(x: Interval) -> Series {
        let mut c = [ZERO; MAX_LEN];
        c[0] = x;
        Series { c, len: 1, valid: true }
    }

    /// The series of the independent variable, `t0 + τ`, truncated after `len` coefficients.
    /// Every non-constant series must carry the working length: `len` is where the truncation
    /// happens, not where the nonzero coefficients end (`exp(t)` has them all).
    pub fn variable(t0: Interval, len: usize) -> Series {
        let mut s = Series::constant(t0);
        s.len = len.clamp(1, MAX_LEN);
        if s.len >= 2 {
            s.c[1] = point(1.0);
        }
        s
    }

    fn zeros(len: usize, valid: bool) -> Series {
        Series { c: [ZERO; MAX_LEN], len, valid }
    }

    fn invalid(len: usize, c0: Interval) -> Series {
        let mut s = Series::zeros(len, false);
        s.c[0] = c0;
        for k in 1..len {
            s.c[k] = Interval::ENTIRE;
        }
        s
    }

    fn both(&self, o: &Series) -> (usize, bool) {
        (self.len.max(o.len), self.valid && o.valid)
    }

    fn k(k: usize) -> Interval {
        point(k as f64)
    }
}

impl std::ops::Add for Series {
    type Output = Series;
    fn add(self, o: Series) -> Series {
        let (len, valid) = self.both(&o);
        let mut r = Series::zeros(len, valid);
        for k in 0..len {
            r.c[k] = self.c[k] + o.c[k];
        }
        r
    }
}

impl std::ops::Sub for Series {
    type Output = Series;
    fn sub(self, o: Series) -> Series {
        let (len, valid) = self.both(&o);
        let mut r = Series::zeros(len, valid);
        for k in 0..len {
            r.c[k] = self.c[k] - o.c[k];
        }
        r
    }
}

impl std::ops::Neg for Series {
    type Output = Series;
    fn neg(self) -> Series {
        let mut r = self;
        for k in 0..self.len {
            r.c[k] = -self.c[k];
        }
        r
    }
}

impl std::ops::Mul for Series {
    type Output = Series;
    /// Cauchy product `(ab)_k = Σ_{j=0..k} a_j b_{k−j}`; a constant factor scales coefficientwise.
    fn mul(self, o: Series) -> Series {
        let (len, valid) = self.both(&o);
        let mut r = Series::zeros(len, valid);
        if self.len == 1 || o.len == 1 {
            let (s, v) = if self.len == 1 { (self.c[0], &o) } else { (o.c[0], &self) };
            for k in 0..len {
                r.c[k] = s * v.c[k];
            }
            return r;
        }
        for k in 0..len {
            let mut acc = ZERO;
            for j in 0..=k {
                acc += self.c[j] * o.c[k - j];
            }
            r.c[k] = acc;
        }
        r
    }
}

impl std::ops::Div for Series {
    type Output = Series;
    /// `q = a/b` from `a = q·b`: `q_k = (a_k − Σ_{j=1..k} b_j q_{k−j}) / b_0`; smooth where
    /// `b ≠ 0`, i.e. `0 ∉ b_0` (`b_0` encloses `b` over the whole input).
    fn div(self, o: Series) -> Series {
        let (len, valid) = self.both(&o);
        if o.c[0].contains(0.0) {
            return Series::invalid(len, self.c[0] / o.c[0]);
        }
        let mut r = Series::zeros(len, valid);
        for k in 0..len {
            let mut acc = self.c[k];
            for j in 1..=k.min(o.len - 1) {
                acc -= o.c[j] * r.c[k - j];
            }
            r.c[k] = acc / o.c[0];
        }
        r
    }
}

impl Series {
    /// `e = exp(a)` from `e' = a'e`: `e_k = (1/k) Σ_{j=1..k} j a_j e_{k−j}`.
    fn exp_s(&self) -> Series {
        let mut r = Series::zeros(self.len, self.valid);
        r.c[0] = self.c[0].exp();
        for k in 1..self.len {
            let mut acc = ZERO;
            for j in 1..=k {
                acc += Series::k(j) * self.c[j] * r.c[k - j];
            }
            r.c[k] = acc / Series::k(k);
        }
        r
    }

    /// `s = sin a, c = cos a` from `s' = a'c, c' = −a's`:
    /// `s_k = (1/k) Σ j a_j c_{k−j}`, `c_k = −(1/k) Σ j a_j s_{k−j}`.
    fn sin_cos(&self) -> (Series, Series) {
        let mut s = Series::zeros(self.len, self.valid);
        let mut c = Series::zeros(self.len, self.valid);
        s.c[0] = self.c[0].sin();
        c.c[0] = self.c[0].cos();
        for k in 1..self.len {
            let (mut as_, mut ac) = (ZERO, ZERO);
            for j in 1..=k {
                let ja = Series::k(j) * self.c[j];
                as_ += ja * c.c[k - j];
                ac += ja * s.c[k - j];
            }
            s.c[k] = as_ / Series::k(k);
            c.c[k] = -(ac / Series::k(k));
        }
        (s, c)
    }

    /// `r = sqrt(a)` from `r² = a`: `r_k = (a_k − Σ_{j=1..k−1} r_j r_{k−j}) / (2 r_0)`; smooth
    /// where `a > 0`.
    fn sqrt_s(&self) -> Series {
        if self.c[0].inf() <= 0.0 {
            return Series::invalid(self.len, self.c[0].sqrt());
        }
        let mut r = Series::zeros(self.len, self.valid);
        r.c[0] = self.c[0].sqrt();
        let two_r0 = point(2.0) * r.c[0];
        for k in 1..self.len {
            let mut acc = self.c[k];
            for j in 1..k {
                acc -= r.c[j] * r.c[k - j];
            }
            r.c[k] = acc / two_r0;
        }
        r
    }

    /// The sign of `a` where it is constant over the input, `None` where `0 ∈ a_0`.
    fn fixed_sign(&self) -> Option<f64> {
        if self.c[0].inf() > 0.0 {
            Some(1.0)
        } else if self.c[0].sup() < 0.0 {
            Some(-1.0)
        } else {
            None
        }
    }
}

impl Scalar for Series {
    fn from_f64(x: f64) -> Self {
        Series::constant(point(x))
    }
    fn exp(self) -> Self {
        self.exp_s()
    }
    fn sqrt(self) -> Self {
        self.sqrt_s()
    }
    /// `max(a, b)` is `a` or `b` where one dominates over the whole input; a kink otherwise.
    fn max(self, o: Self) -> Self {
        if self.c[0].inf() >= o.c[0].sup() {
            self
        } else if o.c[0].inf() >= self.c[0].sup() {
            o
        } else {
            let (len, _) = self.both(&o);
            Series::invalid(len, self.c[0].max(o.c[0]))
        }
    }
}

impl ExprScalar for Series {
    fn literal(lit: &Literal) -> Self {
        Series::constant(literal(lit))
    }
    fn pi() -> Self {
        Series::constant(Interval::PI)
    }
    fn add(&self, o: &Self) -> Self {
        *self + *o
    }
    fn sub(&self, o: &Self) -> Self {
        *self - *o
    }
    fn mul(&self, o: &Self) -> Self {
        *self * *o
    }
    fn div(&self, o: &Self) -> Self {
        *self / *o
    }
    fn neg(&self) -> Self {
        -*self
    }
    /// Repeated squaring for `n ≥ 0`; `1/a^{|n|}` for `n < 0` (invalid where `0 ∈ a_0`).
    fn powi(&self, n: i32) -> Self {
        let mut base = *self;
        let mut acc = Series::from_f64(1.0);
        let mut e = n.unsigned_abs();
        while e > 0 {
            if e & 1 == 1 {
                acc = acc * base;
            }
            base = base * base;
            e >>= 1;
        }
        if n < 0 {
            Series::from_f64(1.0) / acc
        } else {
            acc
        }
    }
    fn sin(&self) -> Self {
        self.sin_cos().0
    }
    fn cos(&self) -> Self {
        self.sin_cos().1
    }
    fn exp(&self) -> Self {
        self.exp_s()
    }
    /// `|a| = ±a` where the sign of `a` is fixed over the input; a kink otherwise.
    fn abs(&self) -> Self {
        match self.fixed_sign() {
            Some(s) if s > 0.0 => *self,
            Some(_) => -*self,
            None => Series::invalid(self.len, self.c[0].abs()),
        }
    }
    fn sqrt(&self) -> Self {
        self.sqrt_s()
    }
    /// Constant `±1` where the sign of `a` is fixed over the input; a jump otherwise.
    fn sign(&self) -> Self {
        match self.fixed_sign() {
            Some(s) => Series::from_f64(s),
            None => Series::invalid(self.len, crate::numeric::interval::sign(self.c[0])),
        }
    }
}

/// Scalars that can hold an interval constant (the enclosed data of the model).
pub trait Lift: Scalar {
    fn lift(x: Interval) -> Self;
}

impl Lift for Interval {
    fn lift(x: Interval) -> Self {
        x
    }
}

impl Lift for Series {
    fn lift(x: Interval) -> Self {
        Series::constant(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::expr::parse;

    fn coeffs(src: &str, t0: f64, len: usize) -> Series {
        let e = parse(src).unwrap();
        e.eval_generic(&Series::variable(point(t0), len))
    }

    fn contains(i: Interval, x: f64, tol: f64) -> bool {
        i.inf() - tol <= x && x <= i.sup() + tol
    }

    #[test]
    fn known_series_are_enclosed() {
        // exp(t) at 0: 1/k!.
        let s = coeffs("exp(t)", 0.0, 10);
        let mut f = 1.0;
        for k in 0..10 {
            assert!(contains(s.c[k], 1.0 / f, 1e-15), "k={k}");
            f *= (k + 1) as f64;
        }
        // sin(2t) at 0: 2, 0, −8/6, …
        let s = coeffs("sin(2*t)", 0.0, 4);
        assert!(contains(s.c[1], 2.0, 0.0) && contains(s.c[3], -8.0 / 6.0, 1e-15));
        // 1/(1−t) at 0: all ones; sqrt(1+t): 1, 1/2, −1/8, 1/16.
        let s = coeffs("1/(1-t)", 0.0, 6);
        assert!((0..6).all(|k| contains(s.c[k], 1.0, 1e-15)));
        let s = coeffs("sqrt(1+t)", 0.0, 4);
        assert!(contains(s.c[2], -0.125, 1e-15) && contains(s.c[3], 0.0625, 1e-15));
        let s = coeffs("(1+t)^-2", 0.0, 4);
        assert!(contains(s.c[1], -2.0, 1e-15) && contains(s.c[3], -4.0, 1e-14));
        assert!(s.valid);
    }

    #[test]
    fn kinks_invalidate() {
        assert!(!coeffs("abs(t)", 0.0, 3).valid);
        assert!(coeffs("abs(t - 1)", 0.0, 3).valid);
        assert!(!coeffs("sign(t)", 0.0, 3).valid);
        assert!(!coeffs("1/t", 0.0, 3).valid);
        assert!(!coeffs("sqrt(t)", 0.0, 3).valid);
        // Over an interval of t that straddles the kink.
        let tt = Interval::try_from((-0.1, 0.1)).unwrap();
        assert!(!parse("abs(t)").unwrap().eval_generic(&Series::variable(tt, 3)).valid);
    }
}
