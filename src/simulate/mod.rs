//! Float simulation: fixed-step RK4, adaptive Dormand–Prince 5(4) with dense output, and the
//! discrete layer map, sampled at requested times with every applicable monitor; bulk runs.
//!
//! Untrusted by design: nothing here is a proof. It is the fast path for exploration, plots,
//! bulk runs and fuzzing; `certify` (issue 4) is where claims are made.

pub mod ode;
pub mod runs;

use nalgebra::DMatrix;

use crate::error::{Error, Result};
use crate::model::{self, Kernel, Monitor};
use crate::system::System;
use ode::{OdeSystem, Stats, Tolerances};

/// How to advance the tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Method {
    /// Classic RK4 with fixed step `h`.
    Rk4 { h: f64 },
    /// Dormand–Prince 5(4), adaptive, dense output at the sample times.
    Dopri5 { rtol: f64, atol: f64 },
    /// Dormand–Prince 8(5,3) (DOP853), adaptive, 7th-order dense output: fewer steps at tight
    /// tolerances.
    Dop853 { rtol: f64, atol: f64 },
    /// The discrete model: one transformer layer per step `tau` (sample times round to layers).
    Discrete { tau: f64 },
}

/// One row of output: a time and the value of each monitor there.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub t: f64,
    pub values: Vec<f64>,
}

/// A simulated trajectory, sampled.
#[derive(Debug, Clone)]
pub struct Trajectory {
    /// Monitor names, in the order of `Sample::values` (`E` first).
    pub names: Vec<String>,
    pub samples: Vec<Sample>,
    pub stats: Stats,
    /// Largest `|y_iᵀ W y_i − 1|` at the end of a step, before its re-projection: how far the
    /// method leaves `E_W` in one step (every reported state is re-projected).
    pub max_drift: f64,
    /// The state at the last sample time (`d×ℓ`, tokens as columns).
    pub final_state: DMatrix<f64>,
}

/// The flow of (7) as an [`OdeSystem`] on the flat, column-major state.
pub struct Flow<'a> {
    pub kernel: Kernel,
    sys: &'a System,
    y: DMatrix<f64>,
    dy: DMatrix<f64>,
    pub max_drift: f64,
}

impl<'a> Flow<'a> {
    pub fn new(sys: &'a System) -> Self {
        let (d, l) = (sys.dim, sys.tokens);
        Flow { kernel: Kernel::new(sys), sys, y: DMatrix::zeros(d, l), dy: DMatrix::zeros(d, l), max_drift: 0.0 }
    }
}

impl OdeSystem for Flow<'_> {
    fn dim(&self) -> usize {
        self.sys.dim * self.sys.tokens
    }

    fn rhs(&mut self, t: f64, y: &[f64], dy: &mut [f64]) {
        self.y.as_mut_slice().copy_from_slice(y);
        self.kernel.rhs(t, &self.y, &mut self.dy);
        dy.copy_from_slice(self.dy.as_slice());
    }

    fn project(&mut self, y: &mut [f64]) {
        self.y.as_mut_slice().copy_from_slice(y);
        self.max_drift = self.max_drift.max(self.kernel.drift(&self.y));
        self.kernel.project(&mut self.y);
        y.copy_from_slice(self.y.as_slice());
    }

    /// Interpolated outputs are projected too, but their drift is the interpolant's, not the
    /// method's: it is not counted in `max_drift`.
    fn project_output(&mut self, y: &mut [f64]) {
        self.y.as_mut_slice().copy_from_slice(y);
        self.kernel.project(&mut self.y);
        y.copy_from_slice(self.y.as_slice());
    }

    fn breakpoints(&self, t0: f64, t1: f64) -> Vec<f64> {
        self.sys.breakpoints(t0, t1)
    }
}

/// Checks sample times: finite, non-negative, non-decreasing.
pub fn check_times(times: &[f64]) -> Result<()> {
    if times.is_empty() {
        return Err(Error::Usage("no sample times".into()));
    }
    for (k, &t) in times.iter().enumerate() {
        if !t.is_finite() || t < 0.0 {
            return Err(Error::Usage(format!("sample time {t} must be finite and ≥ 0")));
        }
        if k > 0 && t < times[k - 1] {
            return Err(Error::Usage(format!("sample times must be non-decreasing ({} then {t})", times[k - 1])));
        }
    }
    Ok(())
}

/// `k` evenly spaced times on `[0, until]` (both ends included when `k ≥ 2`).
pub fn even_times(until: f64, k: usize) -> Vec<f64> {
    match k {
        0 => vec![],
        1 => vec![until],
        _ => (0..k).map(|i| until * i as f64 / (k - 1) as f64).collect(),
    }
}

/// Simulates `sys` from its initial tokens and samples every monitor at `times`.
/// The integrators land on every layer boundary; beyond this many, the discrete model is the
/// right tool (and the list of boundaries would not fit in memory).
pub const MAX_BREAKPOINTS: usize = 10_000_000;

pub fn simulate(sys: &System, method: Method, times: &[f64]) -> Result<Trajectory> {
    check_times(times)?;
    let t_end = times.last().copied().unwrap_or(0.0);
    if !matches!(method, Method::Discrete { .. }) && sys.layer_boundaries_before(t_end) > MAX_BREAKPOINTS as f64 {
        return Err(Error::Usage(format!(
            "the layer schedule has more than {MAX_BREAKPOINTS} boundaries before t = {t_end}: use --discrete, a larger layer_time or a shorter horizon"
        )));
    }
    let monitors = model::monitors(sys);
    let names = monitors.iter().map(Monitor::name).collect();
    let y0 = model::initial_state(sys);
    let mut samples = Vec::with_capacity(times.len());
    let mut last = y0.clone();
    let mut record = |t: f64, y: &DMatrix<f64>| {
        samples.push(Sample { t, values: monitors.iter().map(|m| m.eval(y)).collect() });
        last.copy_from(y);
    };
    let (stats, max_drift) = match method {
        Method::Discrete { tau } => discrete(sys, tau, &y0, times, &mut record)?,
        Method::Rk4 { h } => {
            let mut flow = Flow::new(sys);
            let mut buf = DMatrix::zeros(sys.dim, sys.tokens);
            let stats = ode::rk4(&mut flow, 0.0, y0.as_slice(), h, times, |t, y| {
                buf.as_mut_slice().copy_from_slice(y);
                record(t, &buf);
            })
            .map_err(|e| Error::Numerical(e.to_string()))?;
            (stats, flow.max_drift)
        }
        Method::Dopri5 { rtol, atol } | Method::Dop853 { rtol, atol } => {
            let mut flow = Flow::new(sys);
            let mut buf = DMatrix::zeros(sys.dim, sys.tokens);
            let tol = Tolerances { rtol, atol, h_init: None, h_max: f64::INFINITY, max_steps: 10_000_000 };
            let out = |t: f64, y: &[f64]| {
                buf.as_mut_slice().copy_from_slice(y);
                record(t, &buf);
            };
            // DOPRI5 keeps its last stage after the re-projection when the projection moved the
            // state by less than the error tolerance (ode::FsalPolicy): one evaluation fewer per
            // step, at an error below what the step control already accepts.
            let stats = if matches!(method, Method::Dop853 { .. }) {
                ode::dop853(&mut flow, 0.0, y0.as_slice(), times, &tol, out)
            } else {
                ode::dopri5_with(&mut flow, 0.0, y0.as_slice(), times, &tol, ode::FsalPolicy::ReuseWithinTolerance, out)
            }
            .map_err(|e| Error::Numerical(e.to_string()))?;
            (stats, flow.max_drift)
        }
    };
    check_finite(&samples)?;
    Ok(Trajectory { names, samples, stats, max_drift, final_state: last })
}

fn check_finite(samples: &[Sample]) -> Result<()> {
    for s in samples {
        if s.values.iter().any(|v| !v.is_finite()) {
            return Err(Error::Numerical(format!("the trajectory left the finite numbers by t = {}", s.t)));
        }
    }
    Ok(())
}

/// The discrete model, one layer per `tau`; a sample time `t` reports layer `round(t/τ)`.
fn discrete(
    sys: &System,
    tau: f64,
    y0: &DMatrix<f64>,
    times: &[f64],
    record: &mut impl FnMut(f64, &DMatrix<f64>),
) -> Result<(Stats, f64)> {
    if !(tau.is_finite() && tau > 0.0) {
        return Err(Error::Usage(format!("--tau must be positive and finite, found {tau}")));
    }
    let mut kernel = Kernel::new(sys);
    let mut y = y0.clone();
    let mut k: u64 = 0;
    let mut max_drift: f64 = 0.0;
    for &t in times {
        let target = (t / tau).round() as u64;
        while k < target {
            kernel.layer(k as f64 * tau, tau, &mut y);
            max_drift = max_drift.max(kernel.drift(&y));
            k += 1;
        }
        record(t, &y);
    }
    Ok((Stats { steps: k, rejected: 0, rhs_evals: kernel.evals }, max_drift))
}
