//! Checks a decoded system beyond its shape: the metric is symmetric positive definite, no
//! initial token is zero, `metric = "P"` has a constant `P`. Decided exactly where it is cheap.

#![allow(clippy::needless_range_loop)] // index loops read like the algebra they implement

use rug::Rational;

use crate::error::InputError;
use crate::numeric::exact::{self, Definiteness};
use crate::system::decode::Field;
use crate::system::{Initial, Metric, System};

pub fn validate(sys: &System, root: &Field) -> Result<(), InputError> {
    let err = |field: &str, why: String| InputError::new(root.file, field, why);
    match &sys.metric {
        Metric::Identity => {}
        Metric::Matrix(rows) => {
            let m: Vec<Vec<Rational>> = rows.iter().map(|r| r.iter().map(|l| lit(&l.text)).collect()).collect();
            check_spd(&m, sys.dim).map_err(|why| err("metric", why))?;
        }
        Metric::EqualsP => {
            if sys.heads.len() != 1 {
                return Err(err("metric", format!("metric = \"P\" needs exactly one head, found {}", sys.heads.len())));
            }
            let m = crate::numeric::poly::constant_matrix(&sys.heads[0].p, sys.dim).ok_or_else(|| {
                err("metric", "metric = \"P\" needs heads[0].P to be a constant matrix of numbers (or a random one)".into())
            })?;
            check_spd(&m, sys.dim).map_err(|why| err("metric", format!("W = P: {why}")))?;
        }
    }
    check_initial(sys, root)
}

fn lit(text: &str) -> Rational {
    // Every literal was checked by `doc::number_literal` to be a plain decimal.
    exact::rational(text).unwrap_or_default()
}

fn check_spd(m: &[Vec<Rational>], d: usize) -> Result<(), String> {
    for i in 0..d {
        for j in 0..i {
            if m[i][j] != m[j][i] {
                return Err(format!(
                    "not symmetric: entry [{i}][{j}] = {} differs from entry [{j}][{i}] = {} (exact decimal values)",
                    show(&m[i][j]),
                    show(&m[j][i])
                ));
            }
        }
    }
    // Past the exact method's size (`exact::ldlt_skipped`), positive definiteness of `W` is
    // proved by an interval LDLᵀ of the exact entries' enclosures instead. Either way it is a
    // proof: `check` relies on this validation for `initial-on-manifold`.
    let skipped = exact::ldlt_skipped(m);
    if skipped.is_none() {
        match exact::positive_definite(m) {
            Definiteness::PositiveDefinite { .. } => Ok(()),
            Definiteness::NotPositiveDefinite { index, pivot } => Err(format!(
                "not positive definite: the leading {k}×{k} minor is not positive (LDLᵀ pivot {index} = {})",
                show(&pivot),
                k = index + 1
            )),
        }
    } else {
        let boxed: Vec<Vec<inari::Interval>> =
            m.iter().map(|r| r.iter().map(crate::numeric::interval::enclose_rational).collect()).collect();
        match crate::numeric::interval::positive_definite(&boxed) {
            crate::numeric::interval::PdResult::Holds { .. } => Ok(()),
            crate::numeric::interval::PdResult::Fails { index, .. } => {
                Err(format!("not positive definite: interval LDLᵀ pivot {index} is ≤ 0 (proved)"))
            }
            crate::numeric::interval::PdResult::Undecided { reason } => {
                let why = skipped.unwrap_or_default();
                Err(format!("positive definiteness could not be proved ({why}: interval LDLᵀ: {reason})"))
            }
        }
    }
}

fn show(q: &Rational) -> String {
    if *q.denom() == 1 {
        q.numer().to_string()
    } else {
        format!("{} ≈ {:.6e}", q, q.to_f64())
    }
}

fn check_initial(sys: &System, root: &Field) -> Result<(), InputError> {
    // W = I needs no d×d matrix (d can be large).
    let w = (!sys.metric_is_identity()).then(|| sys.metric_f64());
    let y = sys.initial_raw_f64();
    for j in 0..sys.tokens {
        let field = match &sys.initial {
            Initial::Tokens(_) => format!("initial.tokens[{j}]"),
            Initial::Random { .. } => format!("initial.random (token {j})"),
        };
        if let Initial::Tokens(rows) = &sys.initial {
            if rows[j].iter().all(|l| lit(&l.text) == 0) {
                return Err(InputError::new(root.file, field, "the zero vector cannot be normalised onto the ellipsoid E_W"));
            }
        }
        let col = y.column(j);
        let norm2 = match &w {
            None => col.norm_squared(),
            Some(w) => col.dot(&(w * col)),
        };
        if !(norm2.is_finite() && norm2 > f64::MIN_POSITIVE) {
            return Err(InputError::new(
                root.file,
                field,
                format!("the token's W-norm² = {norm2:e} is too small or too large to normalise in floating point"),
            ));
        }
    }
    Ok(())
}
