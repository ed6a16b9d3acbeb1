//! Expressions that are polynomials in `t` with exact rational coefficients.
//!
//! Many inputs are: constants written as `"1/3"` or `"0.5*2"`, or schedules like `"1 + t^2"`.
//! For those, exact arithmetic decides questions intervals cannot: whether two constant entries
//! are equal, and whether an entry is unbounded on `[0, ∞)` (a polynomial of positive degree is).

use rug::Rational;

use crate::numeric::exact;
use crate::system::expr::{Func, Node};
use crate::system::matrix::MatrixFn;

/// Coefficients, lowest degree first, with no trailing zeros (the zero polynomial is empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Poly(pub Vec<Rational>);

impl Poly {
    pub fn constant(c: Rational) -> Poly {
        Poly(vec![c]).trim()
    }

    fn trim(mut self) -> Poly {
        while self.0.last().is_some_and(|c| *c == 0) {
            self.0.pop();
        }
        self
    }

    /// The degree; `None` for the zero polynomial.
    pub fn degree(&self) -> Option<usize> {
        self.0.len().checked_sub(1)
    }

    /// The value when the polynomial is constant.
    pub fn as_constant(&self) -> Option<Rational> {
        match self.0.len() {
            0 => Some(Rational::new()),
            1 => Some(self.0[0].clone()),
            _ => None,
        }
    }

    fn add(&self, o: &Poly) -> Poly {
        let n = self.0.len().max(o.0.len());
        let z = Rational::new();
        Poly((0..n).map(|k| Rational::from(self.0.get(k).unwrap_or(&z) + o.0.get(k).unwrap_or(&z))).collect()).trim()
    }

    fn neg(&self) -> Poly {
        Poly(self.0.iter().map(|c| Rational::from(-c)).collect())
    }

    fn mul(&self, o: &Poly) -> Poly {
        if self.0.is_empty() || o.0.is_empty() {
            return Poly(vec![]);
        }
        let mut out = vec![Rational::new(); self.0.len() + o.0.len() - 1];
        for (i, a) in self.0.iter().enumerate() {
            for (j, b) in o.0.iter().enumerate() {
                out[i + j] += Rational::from(a * b);
            }
        }
        Poly(out).trim()
    }
}

/// Largest total degree we expand (beyond, `None`: a user's `t^100000` must not allocate).
const MAX_DEGREE: usize = 64;

/// The polynomial an expression equals identically on `[0, ∞)`, if it is one (operations
/// `+ − ×`, division by a nonzero constant, non-negative integer powers, `abs` of a constant).
pub fn of(node: &Node) -> Option<Poly> {
    let p = match node {
        Node::Num(l) => Poly::constant(exact::rational(&l.text)?),
        Node::T => Poly(vec![Rational::new(), Rational::from(1)]),
        Node::Pi => return None,
        Node::Neg(a) => of(a)?.neg(),
        Node::Add(a, b) => of(a)?.add(&of(b)?),
        Node::Sub(a, b) => of(a)?.add(&of(b)?.neg()),
        Node::Mul(a, b) => of(a)?.mul(&of(b)?),
        Node::Div(a, b) => {
            let c = of(b)?.as_constant()?;
            if c == 0 {
                return None;
            }
            of(a)?.mul(&Poly::constant(Rational::from(1) / c))
        }
        Node::Pow(a, n) => {
            // Exact powers of constants grow too: 3^2000000000 must not be expanded.
            if n.unsigned_abs() as usize > MAX_DEGREE * 16 {
                return None;
            }
            let a = of(a)?;
            if *n < 0 {
                let c = a.as_constant()?;
                if c == 0 {
                    return None;
                }
                let inv = Poly::constant(Rational::from(1) / c);
                (0..n.unsigned_abs()).try_fold(Poly::constant(Rational::from(1)), |acc, _| bounded(acc.mul(&inv)))?
            } else {
                if a.degree().unwrap_or(0) * (*n as usize) > MAX_DEGREE {
                    return None;
                }
                (0..*n).try_fold(Poly::constant(Rational::from(1)), |acc, _| bounded(acc.mul(&a)))?
            }
        }
        Node::Call(Func::Abs, a) => Poly::constant(of(a)?.as_constant()?.abs()),
        Node::Call(..) => return None,
    };
    bounded(p)
}

/// Largest total size, in bits of numerators and denominators, of a polynomial we keep
/// expanding (about 315 000 decimal digits). The degree bound alone does not stop the
/// coefficients from growing: `((9^1024)^1024)^1024` is a constant of ~3·10⁹ bits, built by
/// 2048 ever larger multiplications (a hang and gigabytes). Past the bound the expression is
/// "not a polynomial", as `sin(t)` is, and the checks use its interval enclosure: sound.
const MAX_BITS: u64 = 1 << 20;

fn bounded(p: Poly) -> Option<Poly> {
    let bits: u64 = p.0.iter().map(crate::numeric::exact::bits).sum();
    (p.0.len() <= MAX_DEGREE + 1 && bits <= MAX_BITS).then_some(p)
}

/// Largest `d²·k` for which a product `A·B` is expanded in exact rationals (d = 40, k = 40).
pub const EXACT_PRODUCT_TERMS: usize = 64_000;

/// Every entry of a matrix as a polynomial in `t`, when all are.
pub fn matrix(m: &MatrixFn, d: usize) -> Option<Vec<Vec<Poly>>> {
    let c = |q: Rational| Poly::constant(q);
    match m {
        MatrixFn::Identity => Some((0..d).map(|i| (0..d).map(|j| c(Rational::from(u32::from(i == j)))).collect()).collect()),
        MatrixFn::Zero => Some(vec![vec![Poly(vec![]); d]; d]),
        MatrixFn::Const(rows) => rows.iter().map(|r| r.iter().map(|l| Some(c(exact::rational(&l.text)?))).collect()).collect(),
        MatrixFn::Random(r) => Some((0..d).map(|i| (0..d).map(|j| c(exact::from_f64(r.values[(i, j)]))).collect()).collect()),
        // Exact rational sums while cheap; above, `None` sends the checks to the interval
        // enclosure (`Product::enclosure`), which is what keeps `check` at d = 384 fast.
        MatrixFn::Product(p) if d * d * p.inner() <= EXACT_PRODUCT_TERMS => {
            Some(p.exact()?.into_iter().map(|r| r.into_iter().map(c).collect()).collect())
        }
        MatrixFn::Product(_) => None,
        MatrixFn::Entrywise(rows) => rows.iter().map(|r| r.iter().map(|e| of(e.root())).collect()).collect(),
        MatrixFn::DiagTimes { diag, times } => {
            let inner = matrix(times, d)?;
            let ds: Vec<Poly> = diag.iter().map(|e| of(e.root())).collect::<Option<_>>()?;
            Some(inner.iter().zip(&ds).map(|(row, di)| row.iter().map(|x| di.mul(x)).collect()).collect())
        }
        MatrixFn::ScalarTimes { scalar, times } => {
            let s = of(scalar.root())?;
            Some(matrix(times, d)?.iter().map(|row| row.iter().map(|x| s.mul(x)).collect()).collect())
        }
        MatrixFn::Layers { layers, .. } if layers.len() == 1 => matrix(&layers[0], d),
        MatrixFn::Layers { .. } => None,
    }
}

/// The exact entries of a matrix that is constant and rational.
pub fn constant_matrix(m: &MatrixFn, d: usize) -> Option<Vec<Vec<Rational>>> {
    matrix(m, d)?.iter().map(|r| r.iter().map(Poly::as_constant).collect()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::expr::parse;

    fn p(s: &str) -> Option<Poly> {
        of(parse(s).unwrap().root())
    }

    #[test]
    fn polynomials_are_exact() {
        assert_eq!(p("1/3").unwrap().as_constant(), Some(Rational::from((1, 3))));
        assert_eq!(p("t - t").unwrap().degree(), None);
        assert_eq!(p("(1 + t)^2 - t^2").unwrap().degree(), Some(1));
        assert_eq!(p("2^-2").unwrap().as_constant(), Some(Rational::from((1, 4))));
        assert!(p("sin(t)").is_none());
        assert!(p("pi").is_none());
        assert!(p("1/t").is_none());
        assert!(p("t^100000").is_none());
        assert!(p("3^2000000000").is_none(), "found by the soundness audit: a hang");
        // Found by red-team 3: nested constant powers grew the coefficient without bound
        // (`(9^1024)^1024` took 11 s in `check`, one more level did not finish in 60 s).
        assert!(p("((9^1024)^1024)^1024").is_none());
        assert!(p("(9^1024)^1024").is_none());
        assert_eq!(p("(9^1024)^8").unwrap().as_constant(), Some(Rational::from(rug::ops::Pow::pow(rug::Integer::from(9), 8192u32))));
        assert_eq!(p("abs(-0.5)").unwrap().as_constant(), Some(Rational::from((1, 2))));
    }
}
