//! Float simulation: fixed-step RK4, adaptive Dormand–Prince 5(4) with dense output, and the
//! discrete layer map, sampled at requested times with every applicable monitor; bulk runs.
//!
//! Untrusted by design: nothing here is a proof. It is the fast path for exploration, plots,
//! bulk runs and fuzzing; `certify` (issue 4) is where claims are made.

pub mod observe;
pub mod ode;
pub mod runs;

use nalgebra::DMatrix;

use crate::error::{Error, Result};
use crate::model::reduced::Reduced;
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
    /// Bogacki–Shampine 3(2), adaptive, cubic dense output: 4 evaluations a step (not the
    /// default on step-averaged problems: at the step cap its third-order error is larger than
    /// the averaging's, see the README's Benchmark).
    Bs3 { rtol: f64, atol: f64 },
    /// Dormand–Prince 8(5,3) (DOP853), adaptive, 7th-order dense output: fewer steps at tight
    /// tolerances.
    Dop853 { rtol: f64, atol: f64 },
    /// The discrete model: one transformer layer per step `tau` (sample times round to layers).
    Discrete { tau: f64 },
}

/// Which float kernel evaluates the right-hand side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KernelChoice {
    /// The reduced kernel where it applies and `ℓ ≤ d`, else the batched one.
    #[default]
    Auto,
    /// Tokens as a `d×ℓ` matrix (any system).
    Batched,
    /// `Y = Y₀·Φ`, an `ℓ×ℓ` state (every `U = I`, each `P = s(t)·D(t)·C`).
    Reduced,
}

/// Step averaging of the time coefficients: the Legendre-moment method (`model::moments`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Averaging {
    /// [`DEFAULT_MOMENTS`] moments when the reduced kernel runs and some coefficient of `P(t)`
    /// has kinks (`abs`, `sign` of a time-dependent argument), else off.
    #[default]
    Auto,
    /// Pointwise coefficients at every stage.
    Off,
    /// `q` Legendre moments per step (`1 ≤ q ≤ 3`; reduced kernel only).
    Moments(usize),
}

/// The number of moments `Averaging::Auto` uses (chosen by `bench/work_precision.py`).
pub const DEFAULT_MOMENTS: usize = 2;

/// The default tolerances of the adaptive methods (`simulate`'s `--rtol`, `--atol`). On
/// step-averaged problems the step cap (`Reduced::step_cap`) binds at this `rtol`.
pub const DEFAULT_RTOL: f64 = 1e-10;
pub const DEFAULT_ATOL: f64 = 1e-12;

/// The kernel in use, with its state layout.
enum Fast {
    Batched(Kernel),
    Reduced(Reduced),
}

impl Fast {
    fn new(sys: &System, y0: &DMatrix<f64>, choice: KernelChoice) -> Result<Fast> {
        let reduced = || Reduced::new(sys, y0);
        Ok(match choice {
            KernelChoice::Batched => Fast::Batched(Kernel::new(sys)),
            KernelChoice::Reduced => Fast::Reduced(reduced().ok_or_else(|| {
                Error::Usage("--kernel reduced needs U = I in every head and each P of the form s(t)·diag(…)·C".into())
            })?),
            KernelChoice::Auto => match (sys.tokens <= sys.dim).then(reduced).flatten() {
                Some(r) => Fast::Reduced(r),
                None => Fast::Batched(Kernel::new(sys)),
            },
        })
    }

    /// The initial state: the tokens, or `Φ = I`.
    fn initial(&self, y0: &DMatrix<f64>) -> DMatrix<f64> {
        match self {
            Fast::Batched(_) => y0.clone(),
            Fast::Reduced(_) => DMatrix::identity(y0.ncols(), y0.ncols()),
        }
    }

    fn rhs(&mut self, t: f64, x: &DMatrix<f64>, dx: &mut DMatrix<f64>) {
        match self {
            Fast::Batched(k) => k.rhs(t, x, dx),
            Fast::Reduced(r) => r.rhs(t, x, dx),
        }
    }

    fn layer(&mut self, t: f64, tau: f64, x: &mut DMatrix<f64>) {
        match self {
            Fast::Batched(k) => k.layer(t, tau, x),
            Fast::Reduced(r) => r.layer(t, tau, x),
        }
    }

    /// Re-projects onto `E_W`; returns the drift before.
    fn project(&mut self, x: &mut DMatrix<f64>) -> f64 {
        match self {
            Fast::Batched(k) => k.project(x),
            Fast::Reduced(r) => r.project(x),
        }
    }

    fn drift(&mut self, x: &DMatrix<f64>) -> f64 {
        match self {
            Fast::Batched(k) => k.drift(x),
            Fast::Reduced(r) => r.drift(x),
        }
    }

    /// How to read tokens off a state.
    fn token_map(&self) -> TokenMap {
        match self {
            Fast::Batched(_) => TokenMap::Identity,
            Fast::Reduced(r) => TokenMap::Basis(r.basis().clone()),
        }
    }

    /// Turns on the averaging the user asked for where it applies; returns the moments in use.
    fn average(&mut self, averaging: Averaging) -> Result<Option<usize>> {
        match (self, averaging) {
            (_, Averaging::Off) => Ok(None),
            (Fast::Reduced(r), Averaging::Moments(q)) => {
                r.enable_averaging(q);
                Ok(Some(q))
            }
            (Fast::Reduced(r), Averaging::Auto) if r.has_kinks() => {
                r.enable_averaging(DEFAULT_MOMENTS);
                Ok(Some(DEFAULT_MOMENTS))
            }
            (Fast::Batched(_), Averaging::Moments(_)) => Err(Error::Usage(
                "--moments needs the reduced kernel (U = I in every head, each P of the form s(t)·diag(…)·C): use --moments off".into(),
            )),
            (_, Averaging::Auto) => Ok(None),
        }
    }

    fn begin_step(&mut self, t0: f64, t1: f64) {
        if let Fast::Reduced(r) = self {
            r.begin_step(t0, t1);
        }
    }

    fn evals(&self) -> u64 {
        match self {
            Fast::Batched(k) => k.evals,
            Fast::Reduced(r) => r.evals,
        }
    }
}

/// The tokens of a state: the state itself, or `Y₀·Φ`.
enum TokenMap {
    Identity,
    Basis(DMatrix<f64>),
}

impl TokenMap {
    fn apply(&self, x: &DMatrix<f64>, y: &mut DMatrix<f64>) {
        match self {
            TokenMap::Identity => y.copy_from(x),
            TokenMap::Basis(y0) => crate::model::gemm::gemm(1.0, y0, crate::model::gemm::Op::N, x, crate::model::gemm::Op::N, 0.0, y),
        }
    }
}

/// One row of output: a time and the value of each monitor there.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The time of the state: the requested time, or for the discrete model the reported
    /// layer's own time `k·τ`.
    pub t: f64,
    /// The discrete model's layer `k` (the state after `k` layer maps); `None` for the flow.
    pub layer: Option<u64>,
    pub values: Vec<f64>,
}

/// A simulated trajectory, sampled.
#[derive(Debug, Clone)]
pub struct Trajectory {
    /// Monitor names, in the order of `Sample::values` (`E` first).
    pub names: Vec<String>,
    /// Per monitor: non-negative by definition ([`nonnegative`]), so a negative value is
    /// rounding noise (reports show it as 0).
    pub nonnegative: Vec<bool>,
    pub samples: Vec<Sample>,
    pub stats: Stats,
    /// Largest `|y_iᵀ W y_i − 1|` at the end of a step, before its re-projection: how far the
    /// method leaves `E_W` in one step (every reported state is re-projected).
    pub max_drift: f64,
    /// The state at the last sample time (`d×ℓ`, tokens as columns).
    pub final_state: DMatrix<f64>,
    /// Legendre moments of the step averaging in use (`None`: pointwise coefficients).
    pub moments: Option<usize>,
}

/// The flow of (7) as an [`OdeSystem`] on the flat, column-major state of a [`Fast`] kernel.
struct Flow<'a> {
    kernel: Fast,
    sys: &'a System,
    x: DMatrix<f64>,
    dx: DMatrix<f64>,
    max_drift: f64,
    averaged: bool,
}

impl<'a> Flow<'a> {
    fn new(sys: &'a System, kernel: Fast, shape: (usize, usize), averaged: bool) -> Self {
        Flow { kernel, sys, x: DMatrix::zeros(shape.0, shape.1), dx: DMatrix::zeros(shape.0, shape.1), max_drift: 0.0, averaged }
    }
}

impl OdeSystem for Flow<'_> {
    fn dim(&self) -> usize {
        self.x.len()
    }

    fn rhs(&mut self, t: f64, y: &[f64], dy: &mut [f64]) {
        self.x.as_mut_slice().copy_from_slice(y);
        self.kernel.rhs(t, &self.x, &mut self.dx);
        dy.copy_from_slice(self.dx.as_slice());
    }

    fn project(&mut self, y: &mut [f64]) {
        self.x.as_mut_slice().copy_from_slice(y);
        let drift = self.kernel.project(&mut self.x);
        self.max_drift = self.max_drift.max(drift);
        y.copy_from_slice(self.x.as_slice());
    }

    /// Interpolated outputs are projected too, but their drift is the interpolant's, not the
    /// method's: it is not counted in `max_drift`.
    fn project_output(&mut self, y: &mut [f64]) {
        self.x.as_mut_slice().copy_from_slice(y);
        let _interpolant_drift = self.kernel.project(&mut self.x);
        y.copy_from_slice(self.x.as_slice());
    }

    fn breakpoints(&self, t0: f64, t1: f64) -> Vec<f64> {
        self.sys.breakpoints(t0, t1)
    }

    fn begin_step(&mut self, t0: f64, t1: f64) {
        self.kernel.begin_step(t0, t1);
    }

    fn step_local(&self) -> bool {
        self.averaged
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

/// The limits of one simulation, checked up front (a [`Error::Usage`] naming the limit): the
/// steps of a run (RK4 steps `until/step`, discrete layer maps `until/τ`, layer boundaries of a
/// schedule, which the integrators land on) and the adaptive methods' step attempts (their count
/// is not known in advance: they stop with [`Error::Numerical`] when it is used up).
pub const MAX_STEPS: u64 = 10_000_000;
/// The integrators land on every layer boundary; beyond this many, the discrete model is the
/// right tool (and the list of boundaries would not fit in memory).
pub const MAX_BREAKPOINTS: usize = MAX_STEPS as usize;
/// Report times of one run (`--samples`, `--at`): each is a row of output held in memory.
pub const MAX_SAMPLES: usize = 1_000_000;
/// Runs of a bulk simulation (`--runs`).
pub const MAX_RUNS: u64 = 1_000_000;
/// Rows of a bulk simulation in all (runs × report times).
pub const MAX_ROWS: u64 = 100_000_000;

/// A double in the shorter of its two shortest round-trip forms, `{}` and `{:e}`: `2`, `0.25`,
/// `1e-20` rather than `0.00000000000000000001`.
pub fn shortest(x: f64) -> String {
    let (plain, exp) = (format!("{x}"), format!("{x:e}"));
    if plain.len() <= exp.len() {
        plain
    } else {
        exp
    }
}

/// `x` for a message: `1.00e300`, or "more than 1.8e308" when it overflowed.
fn count(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.3e}")
    } else {
        "more than 1.8e308".into()
    }
}

/// Refuses, before any work, a simulation beyond the limits above: too many report times, RK4
/// steps, layer maps or layer boundaries. The message says which and what to change.
pub fn check_work(sys: &System, method: Method, times: &[f64]) -> Result<()> {
    check_times(times)?;
    if times.len() > MAX_SAMPLES {
        return Err(Error::Usage(format!(
            "{} report times are more than this tool keeps ({MAX_SAMPLES}): ask for fewer (--samples, --at)",
            times.len()
        )));
    }
    let t_end = times.last().copied().unwrap_or(0.0);
    match method {
        Method::Discrete { tau } => {
            let layers = (t_end / tau).round();
            if layers.is_nan() || layers > MAX_STEPS as f64 {
                return Err(Error::Usage(format!(
                    "--discrete with --tau {} to t = {} needs {} layer maps; this tool runs at most {MAX_STEPS}: \
                     use a larger --tau or a shorter horizon (--until, --at)",
                    shortest(tau),
                    shortest(t_end),
                    count(layers)
                )));
            }
        }
        Method::Rk4 { h } => {
            let steps = (t_end / h).ceil();
            if steps.is_nan() || steps > MAX_STEPS as f64 {
                return Err(Error::Usage(format!(
                    "--method rk4 with --step {} to t = {} needs {} steps; this tool runs at most {MAX_STEPS}: \
                     use a larger --step, an adaptive --method (dopri5, dop853) or a shorter horizon (--until, --at)",
                    shortest(h),
                    shortest(t_end),
                    count(steps)
                )));
            }
        }
        Method::Dopri5 { .. } | Method::Bs3 { .. } | Method::Dop853 { .. } => {}
    }
    let boundaries = sys.layer_boundaries_before(t_end);
    if !matches!(method, Method::Discrete { .. }) && (boundaries.is_nan() || boundaries > MAX_BREAKPOINTS as f64) {
        return Err(Error::Usage(format!(
            "the layer schedule has more than {MAX_BREAKPOINTS} boundaries before t = {}: use --discrete, a larger layer_time or a shorter horizon",
            shortest(t_end)
        )));
    }
    Ok(())
}

/// Whether a monitor is non-negative by definition on this system, so that a negative value
/// can only be rounding: `E` (a cosine is at most 1); `V_cascade` (`(1 − a)²(2 + a)/3` with
/// `a = y_1ᵀy_i ∈ [−1, 1]`, `W = I`); `V_eigen` (`1 − vᵀy_i`, `v` and `y_i` unit, `W = I`);
/// `V_hemisphere` when `W = I` (with another `W` a token on `E_W` may be longer than 1, and
/// `1 − vᵀy_i < 0` is a real value). `V_P = −½ Σ exp(…)` is negative.
pub fn nonnegative(sys: &System, m: &Monitor) -> bool {
    match m {
        Monitor::Misalignment | Monitor::CascadeSecond | Monitor::CascadeMax => true,
        Monitor::EigenToken(..) | Monitor::EigenMax(_) => true,
        Monitor::Hemisphere(_) => sys.metric_is_identity(),
        Monitor::Potential(_) => false,
    }
}

/// Simulates `sys` from its initial tokens and samples every monitor at `times` (kernel chosen
/// automatically).
pub fn simulate(sys: &System, method: Method, times: &[f64]) -> Result<Trajectory> {
    simulate_with(sys, method, KernelChoice::Auto, times)
}

/// As [`simulate`], with the float kernel chosen by the caller (step averaging: `Auto`).
pub fn simulate_with(sys: &System, method: Method, kernel: KernelChoice, times: &[f64]) -> Result<Trajectory> {
    sampled(sys, method, kernel, Averaging::Auto, times, None)
}

/// As [`simulate_with`], with the step averaging chosen by the caller.
pub fn simulate_full(sys: &System, method: Method, kernel: KernelChoice, averaging: Averaging, times: &[f64]) -> Result<Trajectory> {
    sampled(sys, method, kernel, averaging, times, None)
}

/// As [`simulate_full`], and also the tokens (`d×ℓ`, on `E_W`) at each sample, in the order
/// of `Trajectory::samples` (`simulate --tokens`). Kept apart so ordinary runs hold no copies.
pub fn simulate_tokens(
    sys: &System,
    method: Method,
    kernel: KernelChoice,
    averaging: Averaging,
    times: &[f64],
) -> Result<(Trajectory, Vec<DMatrix<f64>>)> {
    let mut tokens = Vec::with_capacity(times.len());
    let traj = sampled(sys, method, kernel, averaging, times, Some(&mut tokens))?;
    Ok((traj, tokens))
}

/// The sampled run; with `keep`, a copy of the tokens at every sample is pushed there.
///
/// Run on a thread of rayon's pool (a no-op inside `run_many`, which already is): the packed
/// products of a large layer (`model::packed`) fork onto the other core with `rayon::join`, and
/// from outside the pool every fork would be a round trip through the pool's injector with the
/// calling thread put to sleep and woken (measured: a quarter of the time in the scheduler).
fn sampled(
    sys: &System,
    method: Method,
    kernel: KernelChoice,
    averaging: Averaging,
    times: &[f64],
    keep: Option<&mut Vec<DMatrix<f64>>>,
) -> Result<Trajectory> {
    rayon::scope(|_| sampled_here(sys, method, kernel, averaging, times, keep))
}

fn sampled_here(
    sys: &System,
    method: Method,
    kernel: KernelChoice,
    averaging: Averaging,
    times: &[f64],
    mut keep: Option<&mut Vec<DMatrix<f64>>>,
) -> Result<Trajectory> {
    if let Method::Discrete { tau } = method {
        if !(tau.is_finite() && tau > 0.0) {
            return Err(Error::Usage(format!("--tau must be positive and finite, found {tau}")));
        }
    }
    check_work(sys, method, times)?;
    let monitors = model::monitors(sys);
    let names = monitors.iter().map(Monitor::name).collect();
    let nonnegative = monitors.iter().map(|m| nonnegative(sys, m)).collect();
    let y0 = model::initial_state(sys);
    let mut fast = Fast::new(sys, &y0, kernel)?;
    // The layer map has no steps to average over.
    let moments = if matches!(method, Method::Discrete { .. }) { None } else { fast.average(averaging)? };
    let x0 = fast.initial(&y0);
    let shape = x0.shape();
    let map = fast.token_map();
    let mut samples = Vec::with_capacity(times.len());
    let mut last = y0.clone();
    let (stats, max_drift) = match method {
        Method::Discrete { tau } => {
            let mut x = x0;
            let mut k: u64 = 0;
            let mut max_drift: f64 = 0.0;
            for &t in times {
                let target = (t / tau).round() as u64;
                while k < target {
                    fast.layer(k as f64 * tau, tau, &mut x);
                    max_drift = max_drift.max(fast.drift(&x));
                    k += 1;
                }
                map.apply(&x, &mut last);
                samples.push(Sample { t: k as f64 * tau, layer: Some(k), values: monitors.iter().map(|m| m.eval(&last)).collect() });
                if let Some(k) = keep.as_deref_mut() {
                    k.push(last.clone());
                }
            }
            (Stats { steps: k, rejected: 0, rhs_evals: fast.evals() }, max_drift)
        }
        Method::Rk4 { .. } | Method::Dopri5 { .. } | Method::Bs3 { .. } | Method::Dop853 { .. } => {
            let step_cap = match (&fast, moments) {
                (Fast::Reduced(r), Some(_)) => r.step_cap(),
                _ => None,
            };
            let mut flow = Flow::new(sys, fast, shape, moments.is_some());
            let mut buf = DMatrix::zeros(shape.0, shape.1);
            let out = |t: f64, x: &[f64]| {
                buf.as_mut_slice().copy_from_slice(x);
                map.apply(&buf, &mut last);
                samples.push(Sample { t, layer: None, values: monitors.iter().map(|m| m.eval(&last)).collect() });
                if let Some(k) = keep.as_deref_mut() {
                    k.push(last.clone());
                }
            };
            // With averaging, the adaptive methods' error estimate sees only the smooth averaged
            // problem: the averaging's own error is bounded by a step cap (`Reduced::step_cap`).
            let h_max = step_cap.unwrap_or(f64::INFINITY);
            let tol = |rtol, atol| Tolerances { rtol, atol, h_init: None, h_max, max_steps: MAX_STEPS };
            let result = match method {
                Method::Rk4 { h } => ode::rk4(&mut flow, 0.0, x0.as_slice(), h, times, out),
                Method::Dop853 { rtol, atol } => ode::dop853(&mut flow, 0.0, x0.as_slice(), times, &tol(rtol, atol), out),
                Method::Bs3 { rtol, atol } => {
                    ode::bs3(&mut flow, 0.0, x0.as_slice(), times, &tol(rtol, atol), ode::FsalPolicy::ReuseWithinTolerance, out)
                }
                // DOPRI5 keeps its last stage after the re-projection when the projection moved the
                // state by less than the error tolerance (ode::FsalPolicy): one evaluation fewer per
                // step, at an error below what the step control already accepts.
                Method::Dopri5 { rtol, atol } => ode::dopri5_with(
                    &mut flow,
                    0.0,
                    x0.as_slice(),
                    times,
                    &tol(rtol, atol),
                    ode::FsalPolicy::ReuseWithinTolerance,
                    out,
                ),
                Method::Discrete { .. } => unreachable!("handled above"),
            };
            let stats = result.map_err(|e| ode_error(e, method))?;
            (stats, flow.max_drift)
        }
    };
    check_finite(&samples)?;
    Ok(Trajectory { names, nonnegative, samples, stats, max_drift, final_state: last, moments })
}

/// An integrator's failure as the user's problem (a horizon too long for double precision:
/// usage) or the computation's (exit code 1), with what to do.
fn ode_error(e: ode::OdeError, method: Method) -> Error {
    let name = match method {
        Method::Rk4 { .. } => "rk4",
        Method::Dopri5 { .. } => "dopri5",
        Method::Bs3 { .. } => "bs3",
        Method::Dop853 { .. } => "dop853",
        Method::Discrete { .. } => "discrete",
    };
    match e {
        ode::OdeError::HorizonTooLong { t, h, horizon } => Error::Usage(format!(
            "the horizon t = {} is too long for double precision: {name} needs steps of h = {h:.3e} at t = {}, \
             but near t = {0} doubles only resolve steps above {:.3e}: use a shorter horizon (--until, --at)",
            shortest(horizon),
            shortest(t),
            10.0 * f64::EPSILON * horizon
        )),
        ode::OdeError::MaxSteps { t } => Error::Numerical(format!(
            "{name} used up its {MAX_STEPS} step attempts at t = {}, before the last report time: \
             use a shorter horizon (--until, --at) or looser --rtol/--atol",
            shortest(t)
        )),
        e => Error::Numerical(e.to_string()),
    }
}

fn check_finite(samples: &[Sample]) -> Result<()> {
    for s in samples {
        if s.values.iter().any(|v| !v.is_finite()) {
            return Err(Error::Numerical(format!("the trajectory left the finite numbers by t = {}", s.t)));
        }
    }
    Ok(())
}

