//! Trajectories observed piece by piece: the tokens at each requested time are handed to a
//! callback, which may stop the run (a fuzz campaign stops as soon as a case is decided).
//!
//! The ODE is integrated from one observation time to the next, restarting the integrator
//! from the (re-projected) state each time: a handful of restarts per run on a geometric time
//! grid, against the thousands of steps in between, so the cost is the same as one run.

use nalgebra::DMatrix;

use super::ode::{self, Stats, Tolerances};
use super::{Fast, Flow, KernelChoice, Method};
use crate::error::{Error, Result};
use crate::model;
use crate::system::System;

/// How an observed run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Every time was observed, or the callback stopped the run.
    Done,
    /// The step budget ran out before the last time.
    Budget,
}

/// Runs `sys` from its initial tokens and calls `f(t, tokens)` at each of `times`
/// (non-decreasing, from 0; tokens `d×ℓ`, on `E_W`) until `f` returns `false`, or until
/// `budget` step attempts (layers for the layer map) are used. Returns the work counters of
/// what was integrated and how it ended.
pub fn observe(sys: &System, method: Method, times: &[f64], budget: u64, mut f: impl FnMut(f64, &DMatrix<f64>) -> bool) -> Result<(Stats, End)> {
    super::check_times(times)?;
    let y0 = model::initial_state(sys);
    let mut fast = Fast::new(sys, &y0, KernelChoice::Auto)?;
    let map = fast.token_map();
    let mut x = fast.initial(&y0);
    let mut tokens = y0.clone();
    let mut total = Stats::default();
    let mut t = 0.0;
    if let Method::Discrete { tau } = method {
        if !(tau.is_finite() && tau > 0.0) {
            return Err(Error::Usage(format!("the layer step τ must be positive and finite, found {tau}")));
        }
        let mut k: u64 = 0;
        for &target_t in times {
            let target = (target_t / tau).round() as u64;
            if target > budget {
                total.steps = k;
                total.rhs_evals = fast.evals();
                return Ok((total, End::Budget));
            }
            while k < target {
                fast.layer(k as f64 * tau, tau, &mut x);
                k += 1;
            }
            map.apply(&x, &mut tokens);
            total.steps = k;
            if !f(k as f64 * tau, &tokens) {
                break;
            }
        }
        total.rhs_evals = fast.evals();
        return Ok((total, End::Done));
    }
    let shape = x.shape();
    let mut flow = Flow::new(sys, fast, shape, false);
    for &next in times {
        if next > t {
            let mut end = x.clone();
            let left = budget.saturating_sub(total.steps + total.rejected);
            let tol = |rtol, atol| Tolerances { rtol, atol, h_init: None, h_max: f64::INFINITY, max_steps: left };
            let out = |_: f64, y: &[f64]| end.as_mut_slice().copy_from_slice(y);
            let stats = match method {
                Method::Rk4 { h } => ode::rk4(&mut flow, t, x.as_slice(), h, &[next], out),
                Method::Dop853 { rtol, atol } => ode::dop853(&mut flow, t, x.as_slice(), &[next], &tol(rtol, atol), out),
                Method::Dopri5 { rtol, atol } => ode::dopri5_with(&mut flow, t, x.as_slice(), &[next], &tol(rtol, atol), ode::FsalPolicy::ReuseWithinTolerance, out),
                Method::Bs3 { rtol, atol } => ode::bs3(&mut flow, t, x.as_slice(), &[next], &tol(rtol, atol), ode::FsalPolicy::ReuseWithinTolerance, out),
                // Handled above, before the flow was built.
                Method::Discrete { .. } => Ok(Stats::default()),
            };
            let stats = match stats {
                Ok(st) => st,
                Err(ode::OdeError::MaxSteps { .. }) => return Ok((total, End::Budget)),
                Err(e) => return Err(Error::Numerical(e.to_string())),
            };
            total.steps += stats.steps;
            total.rejected += stats.rejected;
            total.rhs_evals += stats.rhs_evals;
            x = end;
            t = next;
        }
        map.apply(&x, &mut tokens);
        if tokens.iter().any(|v| !v.is_finite()) {
            return Err(Error::Numerical(format!("the trajectory left the finite numbers by t = {t}")));
        }
        if !f(t, &tokens) {
            break;
        }
    }
    Ok((total, End::Done))
}
