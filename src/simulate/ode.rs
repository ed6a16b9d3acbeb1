//! Explicit Runge–Kutta integrators for the attention dynamics.
//!
//! The state is a flat `f64` slice (up to ~25,000 entries) living on an invariant manifold
//! (a product of ellipsoids); after each accepted step the integrators call
//! [`OdeSystem::project`] to pull the state back onto it.
//!
//! * [`rk4`]: classic fixed-step Runge–Kutta of order 4 on the grid `t0 + k h`, with extra
//!   nodes inserted at the requested output times and at the breakpoints of the system.
//! * [`dopri5`] / [`dopri5_with`]: Dormand–Prince 5(4) with FSAL, the PI step-size
//!   controller of Hairer–Nørsett–Wanner (`DOPRI5` defaults: safety 0.9, factor bounds
//!   [0.2, 10], β = 0.04), Hairer's automatic initial step, and the 4th-order continuous
//!   extension (dense output) for the output times.
//! * [`bs3`]: Bogacki–Shampine 3(2), same driver and controller, cubic Hermite dense output:
//!   4 evaluations per step (3 with FSAL), for loose tolerances.
//! * [`dop853`] / [`dop853_with`]: Dormand–Prince 8(5,3) (Hairer's DOP853: same driver,
//!   DOP853's error estimate and controller defaults, 7th-order dense output). Much cheaper
//!   than DOPRI5 at tight tolerances (≲ 1e-10).
//!
//! Both adaptive methods stretch a step by up to 1% to land on a stop (breakpoint or end)
//! instead of leaving a sliver, as Hairer's codes do, so such a step may exceed `h_max` by 1%.
//! Step attempts are counted in `max_steps` whether accepted or rejected. A trial step that
//! produces NaN/inf is rejected and retried with a tenfold smaller step (an overflow from a too
//! large step); [`OdeError::NonFinite`] is returned when that keeps happening.
//!
//! # Breakpoints and one-sided evaluation
//! A system whose right-hand side is piecewise in `t` (layer boundaries of a piecewise-constant
//! schedule) reports the jump times through [`OdeSystem::breakpoints`]. Both integrators end a
//! step exactly on every breakpoint in `(t0, t_end)` and restart there. Inside a step the
//! right-hand side is only ever evaluated at times in the *open* interval between two
//! breakpoints: a stage that would sit exactly on the breakpoint ending the step is evaluated
//! 8 ulps below it (`t_b⁻`), and the first stage of a step starting on a breakpoint 8 ulps
//! above it (`t_b⁺`). So a schedule may use either convention (`[a, b)` or `(a, b]`) for
//! which layer is active exactly at a boundary, may locate the layer as `⌊t/τ⌋` while
//! reporting the boundary as the rounded product `k·τ` (one ulp would not be enough for that),
//! and each step only ever sees the smooth piece it lies in. (The time error of 8 ulps in a
//! stage is far below rounding elsewhere.) Breakpoints within 4 ulps of each other (the same
//! boundary computed two ways, `3·0.1` vs `1·0.3`) are merged into the first, so no sliver
//! steps arise. If the list of breakpoints contains `t0` itself (to within 4 ulps), the first
//! step is treated as starting on a breakpoint.
//!
//! # FSAL after projection
//! DOPRI5's last stage `k7 = f(t+h, y_new)` is the first stage of the next step (FSAL). The
//! projection moves `y_new`, so `k7` is no longer the derivative at the state the next step
//! starts from. [`dopri5`] uses [`FsalPolicy::Recompute`]: if the projection changed the state
//! at all (bitwise), `f` is re-evaluated at the projected state (one extra right-hand-side
//! evaluation per step, i.e. 7 instead of 6); if it did not, `k7` is reused. Each step is then
//! an exact DOPRI5 step from the projected state, and the error estimate and dense output are
//! the textbook ones. [`FsalPolicy::ReuseWithinTolerance`] keeps `k7` whenever the projection
//! moved the state by at most the error tolerance (scaled RMS norm ≤ 1, the same norm as the
//! step acceptance test): the stale derivative is then off by `O(L·tol)`, which enters the next
//! step as `O(h·L·tol)`, below the local error the controller already accepts; it saves one
//! evaluation per step. Larger moves (e.g. an initial state off the manifold) are always
//! recomputed. At breakpoints the derivative is always recomputed (`f` jumps there).
//! DOP853 evaluates its FSAL stage only after a step is accepted, directly at the projected
//! state (unless a dense output in that step needed it at the unprojected one first), so the
//! recomputation is free there.
//!
//! # Output
//! The callback `out(t, y)` is called once per entry of `outputs` (repeated times are reported
//! repeatedly), in order. Entries equal to `t0` receive `y0` as given (not projected). Other
//! entries receive projected states: for [`rk4`] the state after a step landing exactly on the
//! output time; for [`dopri5`]/[`dop853`] the dense-output value projected on a copy (so
//! `project` is also called once per such output), or the (projected) step end if the output
//! time coincides with it. Output times never shorten the adaptive steps.
//!
//! No allocation happens per step: all stage vectors are allocated once per call.

use std::fmt;

use crate::numeric::midrad::{next_down, next_up};

/// The ODE y' = f(t, y) on a flat f64 state, plus a projection back onto the manifold.
pub trait OdeSystem {
    /// Length of the state vector.
    fn dim(&self) -> usize;
    /// Evaluate `dy = f(t, y)`. `y` and `dy` both have length [`OdeSystem::dim`].
    fn rhs(&mut self, t: f64, y: &[f64], dy: &mut [f64]);
    /// Re-project a state onto the invariant manifold after each accepted step (default: no-op).
    fn project(&mut self, _y: &mut [f64]) {}
    /// Project a dense-output value (an interpolant, not a step end) before it is reported.
    /// Default: the same as [`OdeSystem::project`]; override to tell the two apart (for
    /// instance to measure the drift of steps only).
    fn project_output(&mut self, y: &mut [f64]) {
        self.project(y);
    }
    /// Times where f is discontinuous in t (layer boundaries of a piecewise-constant schedule),
    /// sorted; the integrators must land exactly on each one in (t0, t_end) and restart there.
    /// Default: none. (Non-finite entries and entries outside `[t0, t_end)` are ignored; the list
    /// is sorted and de-duplicated by the integrators.)
    fn breakpoints(&self, _t0: f64, _t1: f64) -> Vec<f64> {
        Vec::new()
    }
    /// Called before every trial step over `[t0, t1]` (again, with the new span, after a
    /// rejection). A system that averages its time dependence over the step (the moment
    /// method, `model::moments`) sets the step up here. Default: nothing.
    fn begin_step(&mut self, _t0: f64, _t1: f64) {}
    /// Whether `rhs` depends on the step set by [`OdeSystem::begin_step`]: then no derivative
    /// is carried from one step to the next (no FSAL), each trial evaluates its own first stage.
    fn step_local(&self) -> bool {
        false
    }
}

/// Work counters of one integration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Accepted steps.
    pub steps: u64,
    /// Rejected step attempts (error too large, or a non-finite trial step).
    pub rejected: u64,
    /// Calls of [`OdeSystem::rhs`].
    pub rhs_evals: u64,
}

/// Why an integration stopped early.
#[derive(Debug, Clone, PartialEq)]
pub enum OdeError {
    /// The state, or the right-hand side at an accepted state, is NaN or infinite; or every trial
    /// step from the accepted state at `t` produced non-finite values, even after shrinking the
    /// step by 10⁸; or the step size collapsed at `t` while trial steps kept producing
    /// non-finite values. `t` is the time of the last good (or offending) state.
    NonFinite { t: f64 },
    /// The step-size controller asked for a step `h` below `10·ε·max(|t|, |t_end|)` at `t`, and
    /// within 1000-fold of `10·ε·|t|`: the step collapsed (stiffness, or a solution that blows
    /// up).
    StepTooSmall { t: f64, h: f64 },
    /// The step-size controller asked for a step `h` that `t` itself resolves comfortably (more
    /// than 1000 times `10·ε·|t|`), but below `10·ε·horizon` (`horizon = max(|t0|, |t_end|)`),
    /// the time resolution of doubles near the horizon: the horizon is too long for double
    /// precision with the steps this problem needs (steps are never allowed below that floor).
    HorizonTooLong { t: f64, h: f64, horizon: f64 },
    /// `Tolerances::max_steps` step attempts (accepted + rejected) were used up at `t`.
    MaxSteps { t: f64 },
    /// The output times are not finite, not sorted non-decreasing, or earlier than `t0`.
    BadOutputTimes(String),
    /// Any other invalid argument (step size, tolerances, state length, `t0`).
    BadParameter(String),
}

impl fmt::Display for OdeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OdeError::NonFinite { t } => write!(
                f,
                "ODE integration produced a non-finite value (NaN or infinity) at t = {t}"
            ),
            OdeError::StepTooSmall { t, h } => write!(
                f,
                "ODE step size became too small (h = {h:e}) at t = {t}; \
                 the problem may be stiff or the solution may blow up"
            ),
            OdeError::HorizonTooLong { t, h, horizon } => write!(
                f,
                "ODE horizon t = {horizon:e} is too long for double precision: the step size needed at \
                 t = {t} (h = {h:e}) is below the time resolution near the horizon (10·ε·t = {:e})",
                10.0 * f64::EPSILON * horizon
            ),
            OdeError::MaxSteps { t } => write!(
                f,
                "ODE integration stopped at t = {t}: maximum number of steps reached"
            ),
            OdeError::BadOutputTimes(msg) => write!(f, "invalid ODE output times: {msg}"),
            OdeError::BadParameter(msg) => write!(f, "invalid ODE integrator parameter: {msg}"),
        }
    }
}

impl std::error::Error for OdeError {}

/// Error control and step-size limits of the adaptive integrators.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerances {
    /// Relative tolerance (≥ 0).
    pub rtol: f64,
    /// Absolute tolerance (> 0; use a tiny value for essentially relative control).
    pub atol: f64,
    /// Initial step; `None` selects it automatically (Hairer's algorithm).
    pub h_init: Option<f64>,
    /// Largest step (> 0, may be `f64::INFINITY`).
    pub h_max: f64,
    /// Maximal number of step attempts (accepted + rejected).
    pub max_steps: u64,
}

impl Default for Tolerances {
    /// `rtol = 1e-8`, `atol = 1e-10`, automatic initial step, no step limit, 1,000,000 steps.
    fn default() -> Self {
        Tolerances { rtol: 1e-8, atol: 1e-10, h_init: None, h_max: f64::INFINITY, max_steps: 1_000_000 }
    }
}

impl Tolerances {
    /// The given tolerances with the other fields at their defaults.
    pub fn new(rtol: f64, atol: f64) -> Self {
        Tolerances { rtol, atol, ..Tolerances::default() }
    }

    fn validate(&self) -> Result<(), OdeError> {
        let bad = |m: String| Err(OdeError::BadParameter(m));
        if !(self.rtol.is_finite() && self.rtol >= 0.0) {
            return bad(format!("rtol must be finite and >= 0, got {}", self.rtol));
        }
        if !(self.atol.is_finite() && self.atol > 0.0) {
            return bad(format!("atol must be finite and > 0, got {}", self.atol));
        }
        if self.h_max.is_nan() || self.h_max <= 0.0 {
            return bad(format!("h_max must be > 0, got {}", self.h_max));
        }
        if let Some(h) = self.h_init {
            if !(h.is_finite() && h > 0.0) {
                return bad(format!("h_init must be finite and > 0, got {h}"));
            }
        }
        Ok(())
    }
}

/// What [`dopri5_with`] does with the FSAL derivative after the projection moved the state
/// (see the module documentation).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FsalPolicy {
    /// Re-evaluate `f` at the projected state whenever the projection changed it (exact DOPRI5
    /// from the projected state; 7 evaluations per accepted step instead of 6).
    #[default]
    Recompute,
    /// Reuse `f(t, y_unprojected)` when the projection moved the state by at most the error
    /// tolerance (scaled RMS norm ≤ 1), else recompute.
    ReuseWithinTolerance,
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn all_finite(y: &[f64]) -> bool {
    y.iter().all(|v| v.is_finite())
}

fn validate_outputs(t0: f64, outputs: &[f64]) -> Result<(), OdeError> {
    for (i, &t) in outputs.iter().enumerate() {
        if !t.is_finite() {
            return Err(OdeError::BadOutputTimes(format!("output time #{i} is {t}, not finite")));
        }
        if t < t0 {
            return Err(OdeError::BadOutputTimes(format!(
                "output time #{i} = {t} is before t0 = {t0}"
            )));
        }
        if i > 0 && t < outputs[i - 1] {
            return Err(OdeError::BadOutputTimes(format!(
                "output times not sorted: #{} = {} > #{i} = {t}",
                i - 1,
                outputs[i - 1]
            )));
        }
    }
    Ok(())
}

fn validate_common<S: OdeSystem>(sys: &S, t0: f64, y0: &[f64], outputs: &[f64]) -> Result<(), OdeError> {
    if !t0.is_finite() {
        return Err(OdeError::BadParameter(format!("t0 must be finite, got {t0}")));
    }
    if y0.len() != sys.dim() {
        return Err(OdeError::BadParameter(format!(
            "initial state has length {}, system dimension is {}",
            y0.len(),
            sys.dim()
        )));
    }
    validate_outputs(t0, outputs)?;
    if !all_finite(y0) {
        return Err(OdeError::NonFinite { t: t0 });
    }
    Ok(())
}

/// Breakpoints strictly inside `(t0, t1)`, sorted, with clusters closer than
/// `BP_MERGE_ULPS` merged into their first element (the same boundary computed two ways, e.g.
/// `3·0.1` and `1·0.3`; the one-sided evaluations `BP_NUDGE_ULPS` away clear the whole
/// cluster), and whether `t0` itself is a breakpoint.
fn collect_breakpoints<S: OdeSystem>(sys: &S, t0: f64, t1: f64) -> (Vec<f64>, bool) {
    let raw = sys.breakpoints(t0, t1);
    let starts_on_bp = raw.iter().any(|&b| b >= t0 && b <= ulps_up(t0, BP_MERGE_ULPS));
    let mut b: Vec<f64> = raw.into_iter().filter(|&b| b.is_finite() && b > t0 && b < t1).collect();
    b.sort_by(f64::total_cmp);
    let mut merged: Vec<f64> = Vec::with_capacity(b.len());
    for x in b {
        let near_prev = match merged.last() {
            Some(&p) => x <= ulps_up(p, BP_MERGE_ULPS),
            None => starts_on_bp && x <= ulps_up(t0, BP_MERGE_ULPS),
        };
        if !near_prev {
            merged.push(x);
        }
    }
    (merged, starts_on_bp)
}

/// How many ulps inside a breakpoint the one-sided evaluations happen. One ulp is not enough
/// for schedules that locate the layer as `⌊t/τ⌋` while reporting the boundary as `k·τ`
/// (about 6% of such boundaries then round to the wrong side); two suffice. With clusters of
/// breakpoints up to `BP_MERGE_ULPS` wide merged, 8 leaves a margin of 4 past the cluster.
const BP_NUDGE_ULPS: u32 = 8;
/// Breakpoints at most this many ulps apart are one breakpoint.
const BP_MERGE_ULPS: u32 = 4;

/// `x` moved `m` representable numbers up.
fn ulps_up(x: f64, m: u32) -> f64 {
    (0..m).fold(x, |v, _| next_up(v))
}

/// `x` moved `BP_NUDGE_ULPS` representable numbers up.
fn nudge_up(x: f64) -> f64 {
    ulps_up(x, BP_NUDGE_ULPS)
}

/// `x` moved `BP_NUDGE_ULPS` representable numbers down.
fn nudge_down(x: f64) -> f64 {
    (0..BP_NUDGE_ULPS).fold(x, |v, _| next_down(v))
}

/// One step `[t, t_new]` and where the right-hand side may be evaluated in it.
#[derive(Clone, Copy)]
struct Span {
    t: f64,
    h: f64,
    lo: f64,
    hi: f64,
}

impl Span {
    fn new(t: f64, t_new: f64, starts_on_bp: bool, ends_on_bp: bool) -> Span {
        let lo = if starts_on_bp { nudge_up(t) } else { t };
        let hi = if ends_on_bp { nudge_down(t_new) } else { t_new };
        Span { t, h: t_new - t, lo, hi }
    }

    /// Evaluation time of a stage with node `c`, kept inside `[lo, hi]`.
    #[inline]
    fn at(&self, c: f64) -> f64 {
        if c >= 1.0 {
            self.hi
        } else if c <= 0.0 {
            self.lo
        } else {
            (self.t + c * self.h).max(self.lo).min(self.hi)
        }
    }
}

#[inline]
fn eval<S: OdeSystem>(sys: &mut S, stats: &mut Stats, t: f64, y: &[f64], dy: &mut [f64]) {
    stats.rhs_evals += 1;
    sys.rhs(t, y, dy);
}

/// The embedded pairs' error norm: the root mean square of the error estimate `e(i)` of each
/// component over its weight (0 for an empty state).
fn rms_error(tol: &Tolerances, y: &[f64], yn: &[f64], e: impl Fn(usize) -> f64) -> f64 {
    let n = y.len();
    if n == 0 {
        return 0.0;
    }
    let acc: f64 = (0..n)
        .map(|i| {
            let r = e(i) / weight(tol.atol, tol.rtol, y[i], yn[i]);
            r * r
        })
        .sum();
    (acc / n as f64).sqrt()
}

/// Error weight `atol + rtol·max(|a|, |b|)`.
#[inline]
fn weight(atol: f64, rtol: f64, a: f64, b: f64) -> f64 {
    atol + rtol * a.abs().max(b.abs())
}

// ---------------------------------------------------------------------------------------------
// RK4
// ---------------------------------------------------------------------------------------------

/// Classic RK4 with fixed step h from t0; calls `out(t, y)` at each requested output time
/// (sorted, >= t0; each output time is hit exactly by shortening the step that would cross it,
/// and at breakpoints likewise), projecting after every step.
///
/// The step nodes are the grid `t0 + k·h` (computed by multiplication, no drift) merged with the
/// output times and the breakpoints; a grid point within a few ulps of an output time or
/// breakpoint is merged into it. Integrates up to the last output time; an empty `outputs`
/// does nothing. `rejected` is always 0 and `rhs_evals = 4·steps`.
pub fn rk4<S: OdeSystem>(
    sys: &mut S,
    t0: f64,
    y0: &[f64],
    h: f64,
    outputs: &[f64],
    mut out: impl FnMut(f64, &[f64]),
) -> Result<Stats, OdeError> {
    validate_common(sys, t0, y0, outputs)?;
    if !(h.is_finite() && h > 0.0) {
        return Err(OdeError::BadParameter(format!("RK4 step must be finite and > 0, got {h}")));
    }
    let mut stats = Stats::default();
    let Some(&t_end) = outputs.last() else { return Ok(stats) };
    let mut oi = 0;
    while oi < outputs.len() && outputs[oi] == t0 {
        out(t0, y0);
        oi += 1;
    }
    if t_end == t0 {
        return Ok(stats);
    }
    if h <= 4.0 * f64::EPSILON * t0.abs().max(t_end.abs()) {
        return Err(OdeError::BadParameter(format!(
            "RK4 step {h:e} is too small to advance time between {t0} and {t_end}"
        )));
    }
    let (bps, mut on_bp) = collect_breakpoints(sys, t0, t_end);
    let mut bi = 0;

    let n = y0.len();
    let mut y = y0.to_vec();
    let mut ys = vec![0.0; n];
    let mut k1 = vec![0.0; n];
    let mut k2 = vec![0.0; n];
    let mut k3 = vec![0.0; n];
    let mut k4 = vec![0.0; n];

    let mut t = t0;
    let mut kgrid: u64 = 1;
    loop {
        let mut next_grid = t0 + kgrid as f64 * h;
        while next_grid <= t {
            kgrid += 1;
            next_grid = t0 + kgrid as f64 * h;
        }
        // The next event: breakpoint, output or end (breakpoints lie strictly before t_end).
        let (mut ev, mut ev_bp) = (t_end, false);
        if bi < bps.len() && bps[bi] <= ev {
            ev = bps[bi];
            ev_bp = true;
        }
        if outputs[oi] < ev {
            ev = outputs[oi];
            ev_bp = false;
        }
        // A grid point within rounding of the event is merged into it (no sliver steps).
        let snap = 64.0 * f64::EPSILON * next_grid.abs().max(h);
        let (stop, ends_on_bp, grid_reached) = if (ev - next_grid).abs() <= snap {
            (ev, ev_bp, true)
        } else if ev < next_grid {
            (ev, ev_bp, false)
        } else {
            (next_grid, false, true)
        };

        let sp = Span::new(t, stop, on_bp, ends_on_bp);
        sys.begin_step(t, stop);
        let hh = sp.h;
        let (y_, ys_) = (&y[..n], &mut ys[..n]);
        eval(sys, &mut stats, sp.lo, y_, &mut k1);
        let k1_ = &k1[..n];
        for i in 0..n {
            ys_[i] = y_[i] + 0.5 * hh * k1_[i];
        }
        eval(sys, &mut stats, sp.at(0.5), ys_, &mut k2);
        let k2_ = &k2[..n];
        for i in 0..n {
            ys_[i] = y_[i] + 0.5 * hh * k2_[i];
        }
        eval(sys, &mut stats, sp.at(0.5), ys_, &mut k3);
        let k3_ = &k3[..n];
        for i in 0..n {
            ys_[i] = y_[i] + hh * k3_[i];
        }
        eval(sys, &mut stats, sp.hi, ys_, &mut k4);
        let (k1_, k2_, k3_, k4_) = (&k1[..n], &k2[..n], &k3[..n], &k4[..n]);
        let y_ = &mut y[..n];
        let h6 = hh / 6.0;
        for i in 0..n {
            y_[i] += h6 * (k1_[i] + 2.0 * (k2_[i] + k3_[i]) + k4_[i]);
        }
        stats.steps += 1;
        sys.project(&mut y);
        if !all_finite(&y) {
            return Err(OdeError::NonFinite { t: stop });
        }
        t = stop;
        if grid_reached {
            kgrid += 1;
        }
        on_bp = ends_on_bp;
        if ends_on_bp {
            bi += 1;
        }
        while oi < outputs.len() && outputs[oi] == t {
            out(t, &y);
            oi += 1;
        }
        if oi == outputs.len() {
            return Ok(stats);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Adaptive embedded Runge–Kutta driver (shared by DOPRI5 and DOP853)
// ---------------------------------------------------------------------------------------------

/// Consecutive non-finite trial steps (each shrinking h tenfold) before giving up.
const MAX_NONFINITE_TRIALS: u32 = 8;
/// A step-size collapse within this many attempts of a non-finite trial is reported as
/// [`OdeError::NonFinite`].
const NONFINITE_MEMORY: u64 = 64;
/// Safety factor of the step-size controller.
const SAFE: f64 = 0.9;

/// Vectors every embedded FSAL scheme needs.
struct Core {
    /// Accepted state at the start of the step.
    y: Vec<f64>,
    /// Trial state at the end of the step.
    ynew: Vec<f64>,
    /// Stage argument scratch.
    ys: Vec<f64>,
    /// f at the start of the step.
    k1: Vec<f64>,
    /// f(t + h, ynew): the FSAL stage.
    kf: Vec<f64>,
    /// `kf` has been evaluated for the current trial step.
    kf_ready: bool,
}

impl Core {
    fn new(y0: &[f64]) -> Core {
        let n = y0.len();
        Core { y: y0.to_vec(), ynew: vec![0.0; n], ys: vec![0.0; n], k1: vec![0.0; n], kf: vec![0.0; n], kf_ready: false }
    }
}

/// An embedded explicit RK pair with FSAL and dense output.
trait Scheme {
    /// Order used by the initial step heuristic.
    const ORDER: i32;
    /// Error exponent `1/(q+1)` minus `0.75·BETA` (DOPRI5) / `0.2·BETA` (DOP853).
    const EXPO1: f64;
    /// PI (Lund) stabilisation exponent.
    const BETA: f64;
    /// Smallest allowed factor `hnew / h`.
    const FAC_MIN: f64;
    /// Largest allowed factor `hnew / h`.
    const FAC_MAX: f64;

    fn core(&mut self) -> &mut Core;
    /// One trial step over `sp` from `(core.y, core.k1)`: fills the stages, `core.ynew` and
    /// `core.kf`; returns the scaled error norm (non-finite if anything was).
    fn trial<S: OdeSystem>(&mut self, sys: &mut S, stats: &mut Stats, sp: &Span, tol: &Tolerances) -> f64;
    /// Continuous extension of the last trial step at `theta ∈ [0, 1]` into `yout` (called
    /// after acceptance, before the projection touches `ynew`).
    fn dense<S: OdeSystem>(&mut self, sys: &mut S, stats: &mut Stats, sp: &Span, theta: f64, yout: &mut [f64]);

    /// Make sure `kf = f(t + h, ynew)` is evaluated for the last trial step (schemes whose
    /// error estimate does not need it evaluate it lazily).
    fn ensure_kf<S: OdeSystem>(&mut self, sys: &mut S, stats: &mut Stats, sp: &Span) {
        let c = self.core();
        if !c.kf_ready {
            eval(sys, stats, sp.at(1.0), &c.ynew, &mut c.kf);
            c.kf_ready = true;
        }
    }
}

/// Hairer's automatic initial step (HNW I, II.4, algorithm of DOPRI5/DOP853's HINIT) with RMS
/// norms. Expects `core.k1 = f(t, y)`; uses `core.ys`, `core.kf` as scratch. The Euler probe
/// never crosses the first stop (breakpoint or end), at distance `dist`.
#[allow(clippy::too_many_arguments)]
fn initial_step<S: OdeSystem>(
    sys: &mut S,
    stats: &mut Stats,
    c: &mut Core,
    t: f64,
    dist: f64,
    starts_on_bp: bool,
    stop_is_bp: bool,
    tol: &Tolerances,
    order: i32,
) -> f64 {
    let n = c.y.len();
    if n == 0 {
        return dist.min(tol.h_max);
    }
    let nf = n as f64;
    let (y, f0) = (&c.y[..n], &c.k1[..n]);
    let (mut dny, mut dnf) = (0.0, 0.0);
    for i in 0..n {
        let sk = tol.atol + tol.rtol * y[i].abs();
        dny += (y[i] / sk).powi(2);
        dnf += (f0[i] / sk).powi(2);
    }
    let (d0, d1) = ((dny / nf).sqrt(), (dnf / nf).sqrt());
    let mut h = if d0 < 1e-5 || d1 < 1e-5 { 1e-6 } else { 0.01 * d0 / d1 };
    h = h.min(tol.h_max).min(dist);
    {
        let ys = &mut c.ys[..n];
        for i in 0..n {
            ys[i] = y[i] + h * f0[i];
        }
    }
    let lands = h >= dist;
    let sp = Span::new(t, if lands { t + dist } else { t + h }, starts_on_bp, lands && stop_is_bp);
    eval(sys, stats, sp.at(1.0), &c.ys, &mut c.kf);
    let (y, f0, f1) = (&c.y[..n], &c.k1[..n], &c.kf[..n]);
    let mut d2 = 0.0;
    for i in 0..n {
        let sk = tol.atol + tol.rtol * y[i].abs();
        d2 += ((f1[i] - f0[i]) / sk).powi(2);
    }
    let d2 = (d2 / nf).sqrt() / h;
    let der12 = d1.max(d2);
    let h1 = if der12 <= 1e-15 { (h * 1e-3).max(1e-6) } else { (0.01 / der12).powf(1.0 / order as f64) };
    // f64::min ignores a NaN h1 (non-finite probe): the step loop deals with that.
    (100.0 * h).min(h1).min(tol.h_max)
}

/// The step loop shared by [`dopri5_with`] and [`dop853_with`].
#[allow(clippy::too_many_arguments)]
fn adaptive<S: OdeSystem, M: Scheme>(
    sys: &mut S,
    t0: f64,
    y0: &[f64],
    outputs: &[f64],
    tol: &Tolerances,
    fsal: FsalPolicy,
    make: impl FnOnce(&[f64]) -> M,
    out: &mut dyn FnMut(f64, &[f64]),
) -> Result<Stats, OdeError> {
    validate_common(sys, t0, y0, outputs)?;
    tol.validate()?;
    let mut stats = Stats::default();
    let Some(&t_end) = outputs.last() else { return Ok(stats) };
    let mut oi = 0;
    while oi < outputs.len() && outputs[oi] == t0 {
        out(t0, y0);
        oi += 1;
    }
    if t_end == t0 {
        return Ok(stats);
    }
    let (bps, mut on_bp) = collect_breakpoints(sys, t0, t_end);
    let mut bi = 0;
    let n = y0.len();
    let mut m = make(y0);
    let mut yout = vec![0.0; n];
    let t_scale = t0.abs().max(t_end.abs());

    let local = sys.step_local();
    let mut t = t0;
    {
        let c = m.core();
        eval(sys, &mut stats, if on_bp { nudge_up(t) } else { t }, &c.y, &mut c.k1);
        if !all_finite(&c.k1) {
            return Err(OdeError::NonFinite { t });
        }
    }
    let mut h = match tol.h_init {
        Some(h) => h.min(tol.h_max),
        None => {
            let (stop, stop_is_bp) = if bi < bps.len() { (bps[bi], true) } else { (t_end, false) };
            initial_step(sys, &mut stats, m.core(), t, stop - t, on_bp, stop_is_bp, tol, M::ORDER)
        }
    };
    let mut facold: f64 = 1e-4;
    let mut last_rejected = false;
    let mut nonfinite_trials = 0u32;
    // Step attempts since the last non-finite trial step (u64::MAX: none yet).
    let mut since_nonfinite = u64::MAX;

    loop {
        if stats.steps + stats.rejected >= tol.max_steps {
            return Err(OdeError::MaxSteps { t });
        }
        let (stop, stop_is_bp) = if bi < bps.len() { (bps[bi], true) } else { (t_end, false) };
        let remaining = stop - t;
        // Hairer's rule: stretch a step by up to 1% rather than leave a sliver before the stop
        // (so h_max may be exceeded by 1% there).
        let lands = 1.01 * h >= remaining;
        if !lands && (h.is_nan() || h <= 10.0 * f64::EPSILON * t.abs().max(t_scale)) {
            // If the step collapsed while repeatedly running into NaN/inf (f undefined beyond
            // some time), report that rather than a generic step-size failure.
            if since_nonfinite < NONFINITE_MEMORY {
                return Err(OdeError::NonFinite { t });
            }
            // A step `t` itself resolves comfortably (1000-fold) but the horizon does not: the
            // horizon is at fault. A step within 1000-fold of `t`'s own resolution has collapsed.
            if h > 1000.0 * 10.0 * f64::EPSILON * t.abs() {
                return Err(OdeError::HorizonTooLong { t, h, horizon: t_scale });
            }
            return Err(OdeError::StepTooSmall { t, h });
        }
        since_nonfinite = since_nonfinite.saturating_add(1);
        let t_new = if lands { stop } else { t + h };
        let sp = Span::new(t, t_new, on_bp, lands && stop_is_bp);

        if local {
            // The first stage belongs to this step's averaged problem: evaluated per trial.
            sys.begin_step(t, t_new);
            let c = m.core();
            eval(sys, &mut stats, sp.lo, &c.y, &mut c.k1);
        }
        let err = m.trial(sys, &mut stats, &sp, tol);

        if !err.is_finite() {
            // A NaN/inf trial: could be an overflow from a too large step; shrink hard, give up
            // after a few tries.
            stats.rejected += 1;
            nonfinite_trials += 1;
            since_nonfinite = 0;
            if nonfinite_trials >= MAX_NONFINITE_TRIALS {
                return Err(OdeError::NonFinite { t });
            }
            h = 0.1 * sp.h;
            last_rejected = true;
            continue;
        }
        nonfinite_trials = 0;

        let fac11 = err.powf(M::EXPO1);
        if err > 1.0 {
            // ---- rejected ----
            h = sp.h / (fac11 / SAFE).min(1.0 / M::FAC_MIN);
            last_rejected = true;
            stats.rejected += 1;
            continue;
        }

        // ---- accepted ----
        let fac = (fac11 / facold.powf(M::BETA) / SAFE).clamp(1.0 / M::FAC_MAX, 1.0 / M::FAC_MIN);
        let mut hnew = sp.h / fac;
        facold = err.max(1e-4);
        stats.steps += 1;

        // Dense output strictly inside the step (before the projection touches ynew).
        while oi < outputs.len() && outputs[oi] < t_new {
            let to = outputs[oi];
            let theta = ((to - t) / sp.h).clamp(0.0, 1.0);
            m.dense(sys, &mut stats, &sp, theta, &mut yout);
            sys.project_output(&mut yout);
            if !all_finite(&yout) {
                return Err(OdeError::NonFinite { t: to });
            }
            out(to, &yout);
            oi += 1;
        }

        // Project the new state, remembering the unprojected one in ys.
        let c = m.core();
        c.ys.copy_from_slice(&c.ynew);
        sys.project(&mut c.ynew);
        if !all_finite(&c.ynew) {
            return Err(OdeError::NonFinite { t: t_new });
        }
        while oi < outputs.len() && outputs[oi] == t_new {
            out(t_new, &c.ynew);
            oi += 1;
        }
        if lands && !stop_is_bp {
            debug_assert_eq!(oi, outputs.len());
            return Ok(stats);
        }

        let ends_on_bp = lands && stop_is_bp;
        // (If kf was never evaluated, evaluating it at the projected state costs the same.)
        let recompute = ends_on_bp
            || !c.kf_ready
            || (c.ys != c.ynew
                && match fsal {
                    FsalPolicy::Recompute => true,
                    FsalPolicy::ReuseWithinTolerance => {
                        let (a, b) = (&c.ys[..n], &c.ynew[..n]);
                        let mut acc = 0.0;
                        for i in 0..n {
                            let r = (a[i] - b[i]) / weight(tol.atol, tol.rtol, a[i], b[i]);
                            acc += r * r;
                        }
                        acc.is_nan() || acc > n as f64
                    }
                });
        std::mem::swap(&mut c.y, &mut c.ynew);
        if local {
            // k1 is evaluated by the next trial, under its own step's averaging.
        } else if recompute {
            let tk = if ends_on_bp { nudge_up(t_new) } else { t_new };
            eval(sys, &mut stats, tk, &c.y, &mut c.k1);
        } else {
            std::mem::swap(&mut c.k1, &mut c.kf);
        }
        if !all_finite(&c.k1) {
            return Err(OdeError::NonFinite { t: t_new });
        }
        if ends_on_bp {
            bi += 1;
            facold = 1e-4; // restart the PI controller: the step history is void after a jump
        }
        on_bp = ends_on_bp;

        if last_rejected {
            hnew = hnew.min(sp.h);
        } else if lands {
            // The step was shortened to hit the stop: the untried proposal is still valid.
            hnew = hnew.max(h);
        }
        h = hnew.min(tol.h_max);
        last_rejected = false;
        t = t_new;
    }
}

// ---------------------------------------------------------------------------------------------
// DOPRI5
// ---------------------------------------------------------------------------------------------

mod dp5 {
    pub const C2: f64 = 1.0 / 5.0;
    pub const C3: f64 = 3.0 / 10.0;
    pub const C4: f64 = 4.0 / 5.0;
    pub const C5: f64 = 8.0 / 9.0;
    pub const A21: f64 = 1.0 / 5.0;
    pub const A31: f64 = 3.0 / 40.0;
    pub const A32: f64 = 9.0 / 40.0;
    pub const A41: f64 = 44.0 / 45.0;
    pub const A42: f64 = -56.0 / 15.0;
    pub const A43: f64 = 32.0 / 9.0;
    pub const A51: f64 = 19372.0 / 6561.0;
    pub const A52: f64 = -25360.0 / 2187.0;
    pub const A53: f64 = 64448.0 / 6561.0;
    pub const A54: f64 = -212.0 / 729.0;
    pub const A61: f64 = 9017.0 / 3168.0;
    pub const A62: f64 = -355.0 / 33.0;
    pub const A63: f64 = 46732.0 / 5247.0;
    pub const A64: f64 = 49.0 / 176.0;
    pub const A65: f64 = -5103.0 / 18656.0;
    pub const A71: f64 = 35.0 / 384.0;
    pub const A73: f64 = 500.0 / 1113.0;
    pub const A74: f64 = 125.0 / 192.0;
    pub const A75: f64 = -2187.0 / 6784.0;
    pub const A76: f64 = 11.0 / 84.0;
    pub const E1: f64 = 71.0 / 57600.0;
    pub const E3: f64 = -71.0 / 16695.0;
    pub const E4: f64 = 71.0 / 1920.0;
    pub const E5: f64 = -17253.0 / 339200.0;
    pub const E6: f64 = 22.0 / 525.0;
    pub const E7: f64 = -1.0 / 40.0;
    // Dense output (Shampine's 4th-order continuous extension, as in Hairer's DOPRI5).
    pub const D1: f64 = -12715105075.0 / 11282082432.0;
    pub const D3: f64 = 87487479700.0 / 32700410799.0;
    pub const D4: f64 = -10690763975.0 / 1880347072.0;
    pub const D5: f64 = 701980252875.0 / 199316789632.0;
    pub const D6: f64 = -1453857185.0 / 822651844.0;
    pub const D7: f64 = 69997945.0 / 29380423.0;
}

struct Dopri5 {
    c: Core,
    k2: Vec<f64>,
    k3: Vec<f64>,
    k4: Vec<f64>,
    k5: Vec<f64>,
    k6: Vec<f64>,
}

impl Dopri5 {
    fn new(y0: &[f64]) -> Self {
        let n = y0.len();
        let z = || vec![0.0; n];
        Dopri5 { c: Core::new(y0), k2: z(), k3: z(), k4: z(), k5: z(), k6: z() }
    }
}

impl Scheme for Dopri5 {
    const ORDER: i32 = 5;
    const BETA: f64 = 0.04;
    const EXPO1: f64 = 0.2 - 0.04 * 0.75;
    const FAC_MIN: f64 = 0.2;
    const FAC_MAX: f64 = 10.0;

    fn core(&mut self) -> &mut Core {
        &mut self.c
    }

    fn trial<S: OdeSystem>(&mut self, sys: &mut S, stats: &mut Stats, sp: &Span, tol: &Tolerances) -> f64 {
        use dp5::*;
        let n = self.c.y.len();
        let h = sp.h;
        let c = &mut self.c;
        let y = &c.y[..n];
        let k1 = &c.k1[..n];
        {
            let ys = &mut c.ys[..n];
            for i in 0..n {
                ys[i] = y[i] + h * (A21 * k1[i]);
            }
        }
        eval(sys, stats, sp.at(C2), &c.ys, &mut self.k2);
        {
            let (ys, k2) = (&mut c.ys[..n], &self.k2[..n]);
            for i in 0..n {
                ys[i] = y[i] + h * (A31 * k1[i] + A32 * k2[i]);
            }
        }
        eval(sys, stats, sp.at(C3), &c.ys, &mut self.k3);
        {
            let (ys, k2, k3) = (&mut c.ys[..n], &self.k2[..n], &self.k3[..n]);
            for i in 0..n {
                ys[i] = y[i] + h * (A41 * k1[i] + A42 * k2[i] + A43 * k3[i]);
            }
        }
        eval(sys, stats, sp.at(C4), &c.ys, &mut self.k4);
        {
            let (ys, k2, k3, k4) = (&mut c.ys[..n], &self.k2[..n], &self.k3[..n], &self.k4[..n]);
            for i in 0..n {
                ys[i] = y[i] + h * (A51 * k1[i] + A52 * k2[i] + A53 * k3[i] + A54 * k4[i]);
            }
        }
        eval(sys, stats, sp.at(C5), &c.ys, &mut self.k5);
        {
            let (ys, k2, k3, k4, k5) = (&mut c.ys[..n], &self.k2[..n], &self.k3[..n], &self.k4[..n], &self.k5[..n]);
            for i in 0..n {
                ys[i] = y[i] + h * (A61 * k1[i] + A62 * k2[i] + A63 * k3[i] + A64 * k4[i] + A65 * k5[i]);
            }
        }
        eval(sys, stats, sp.at(1.0), &c.ys, &mut self.k6);
        {
            let (yn, k3, k4, k5, k6) = (&mut c.ynew[..n], &self.k3[..n], &self.k4[..n], &self.k5[..n], &self.k6[..n]);
            for i in 0..n {
                yn[i] = y[i] + h * (A71 * k1[i] + A73 * k3[i] + A74 * k4[i] + A75 * k5[i] + A76 * k6[i]);
            }
        }
        eval(sys, stats, sp.at(1.0), &c.ynew, &mut c.kf);
        c.kf_ready = true;
        let (yn, k3, k4, k5, k6, k7) = (&c.ynew[..n], &self.k3[..n], &self.k4[..n], &self.k5[..n], &self.k6[..n], &c.kf[..n]);
        rms_error(tol, y, yn, |i| h * (E1 * k1[i] + E3 * k3[i] + E4 * k4[i] + E5 * k5[i] + E6 * k6[i] + E7 * k7[i]))
    }

    fn dense<S: OdeSystem>(&mut self, _sys: &mut S, _stats: &mut Stats, sp: &Span, theta: f64, yout: &mut [f64]) {
        use dp5::*;
        let n = self.c.y.len();
        let h = sp.h;
        let (y, yn, yout) = (&self.c.y[..n], &self.c.ynew[..n], &mut yout[..n]);
        let (k1, k3, k4, k5, k6, k7) = (&self.c.k1[..n], &self.k3[..n], &self.k4[..n], &self.k5[..n], &self.k6[..n], &self.c.kf[..n]);
        let th1 = 1.0 - theta;
        for i in 0..n {
            let ydiff = yn[i] - y[i];
            let bspl = h * k1[i] - ydiff;
            let c3 = ydiff - h * k7[i] - bspl;
            let c4 = h * (D1 * k1[i] + D3 * k3[i] + D4 * k4[i] + D5 * k5[i] + D6 * k6[i] + D7 * k7[i]);
            yout[i] = y[i] + theta * (ydiff + th1 * (bspl + theta * (c3 + th1 * c4)));
        }
    }
}

/// Dormand–Prince 5(4) with FSAL, standard PI step-size control (Hairer–Nørsett–Wanner, error
/// norm = RMS of err_i / (atol + rtol*max(|y_i|,|ynew_i|))), and the standard 4th-order dense
/// output (continuous extension) to report the requested times without shortening steps.
/// Integrates to the last output time (an empty `outputs` does nothing).
///
/// Uses [`FsalPolicy::Recompute`]: see the module documentation. Each accepted step costs 6
/// evaluations of `f` (7 if the projection changed the state), plus 2 at the start
/// (initial derivative and the initial-step probe) and 1 at each breakpoint.
pub fn dopri5<S: OdeSystem>(
    sys: &mut S,
    t0: f64,
    y0: &[f64],
    outputs: &[f64],
    tol: &Tolerances,
    out: impl FnMut(f64, &[f64]),
) -> Result<Stats, OdeError> {
    dopri5_with(sys, t0, y0, outputs, tol, FsalPolicy::Recompute, out)
}

/// [`dopri5`] with a choice of what to do with the FSAL derivative after projection.
pub fn dopri5_with<S: OdeSystem>(
    sys: &mut S,
    t0: f64,
    y0: &[f64],
    outputs: &[f64],
    tol: &Tolerances,
    fsal: FsalPolicy,
    mut out: impl FnMut(f64, &[f64]),
) -> Result<Stats, OdeError> {
    adaptive(sys, t0, y0, outputs, tol, fsal, Dopri5::new, &mut out)
}

// ---------------------------------------------------------------------------------------------
// Bogacki–Shampine 3(2)
// ---------------------------------------------------------------------------------------------

/// Coefficients of the Bogacki–Shampine 3(2) pair (Bogacki & Shampine 1989; MATLAB's `ode23`).
mod bs {
    pub const C2: f64 = 1.0 / 2.0;
    pub const C3: f64 = 3.0 / 4.0;
    pub const A21: f64 = 1.0 / 2.0;
    pub const A32: f64 = 3.0 / 4.0;
    pub const B1: f64 = 2.0 / 9.0;
    pub const B2: f64 = 1.0 / 3.0;
    pub const B3: f64 = 4.0 / 9.0;
    // Third-order solution minus the embedded second-order one (7/24, 1/4, 1/3, 1/8).
    pub const E1: f64 = 2.0 / 9.0 - 7.0 / 24.0;
    pub const E2: f64 = 1.0 / 3.0 - 1.0 / 4.0;
    pub const E3: f64 = 4.0 / 9.0 - 1.0 / 3.0;
    pub const E4: f64 = -1.0 / 8.0;
}

struct Bs3 {
    c: Core,
    k2: Vec<f64>,
    k3: Vec<f64>,
}

impl Bs3 {
    fn new(y0: &[f64]) -> Self {
        let n = y0.len();
        Bs3 { c: Core::new(y0), k2: vec![0.0; n], k3: vec![0.0; n] }
    }
}

impl Scheme for Bs3 {
    const ORDER: i32 = 3;
    // The PI controller's β: HNW II.4 suggest about 0.4/k with k = 3 the error's order; like
    // DOPRI5's 0.04 (k = 5) we take a bit less, so the proportional part dominates.
    const BETA: f64 = 0.08;
    const EXPO1: f64 = 1.0 / 3.0 - 0.08 * 0.75;
    const FAC_MIN: f64 = 0.2;
    const FAC_MAX: f64 = 5.0;

    fn core(&mut self) -> &mut Core {
        &mut self.c
    }

    fn trial<S: OdeSystem>(&mut self, sys: &mut S, stats: &mut Stats, sp: &Span, tol: &Tolerances) -> f64 {
        use bs::*;
        let n = self.c.y.len();
        let h = sp.h;
        let c = &mut self.c;
        let (y, k1) = (&c.y[..n], &c.k1[..n]);
        {
            let ys = &mut c.ys[..n];
            for i in 0..n {
                ys[i] = y[i] + h * (A21 * k1[i]);
            }
        }
        eval(sys, stats, sp.at(C2), &c.ys, &mut self.k2);
        {
            let (ys, k2) = (&mut c.ys[..n], &self.k2[..n]);
            for i in 0..n {
                ys[i] = y[i] + h * (A32 * k2[i]);
            }
        }
        eval(sys, stats, sp.at(C3), &c.ys, &mut self.k3);
        {
            let (yn, k2, k3) = (&mut c.ynew[..n], &self.k2[..n], &self.k3[..n]);
            for i in 0..n {
                yn[i] = y[i] + h * (B1 * k1[i] + B2 * k2[i] + B3 * k3[i]);
            }
        }
        // The FSAL stage: needed by the error estimate, so evaluated with every trial.
        eval(sys, stats, sp.at(1.0), &c.ynew, &mut c.kf);
        c.kf_ready = true;
        let (yn, k2, k3, k4) = (&c.ynew[..n], &self.k2[..n], &self.k3[..n], &c.kf[..n]);
        rms_error(tol, y, yn, |i| h * (E1 * k1[i] + E2 * k2[i] + E3 * k3[i] + E4 * k4[i]))
    }

    /// Cubic Hermite interpolation of `(y, k1)` and `(ynew, k4)`: third order, like the step.
    fn dense<S: OdeSystem>(&mut self, _sys: &mut S, _stats: &mut Stats, sp: &Span, theta: f64, yout: &mut [f64]) {
        let n = self.c.y.len();
        let h = sp.h;
        let (y, yn, k1, k4, yout) = (&self.c.y[..n], &self.c.ynew[..n], &self.c.k1[..n], &self.c.kf[..n], &mut yout[..n]);
        let th1 = 1.0 - theta;
        for i in 0..n {
            // The same Hermite form as DOPRI5's dense output without its fourth-order term.
            let ydiff = yn[i] - y[i];
            let bspl = h * k1[i] - ydiff;
            let c3 = ydiff - h * k4[i] - bspl;
            yout[i] = y[i] + theta * (ydiff + th1 * (bspl + theta * c3));
        }
    }
}

/// Bogacki–Shampine 3(2): 4 evaluations per accepted step (3 with FSAL on a smooth,
/// unprojected problem), the same PI step-size control and RMS error norm as [`dopri5`], cubic
/// Hermite dense output. On step-averaged problems (`model::moments`, no FSAL: each step has
/// its own averaged problem) a step costs 4 evaluations instead of DOPRI5's 7; it is not the
/// default there because at the averaging's step cap its own third-order error is not
/// negligible (the README's Benchmark: more steps for the same accuracy on Section 7.4).
pub fn bs3<S: OdeSystem>(
    sys: &mut S,
    t0: f64,
    y0: &[f64],
    outputs: &[f64],
    tol: &Tolerances,
    fsal: FsalPolicy,
    mut out: impl FnMut(f64, &[f64]),
) -> Result<Stats, OdeError> {
    adaptive(sys, t0, y0, outputs, tol, fsal, Bs3::new, &mut out)
}

// ---------------------------------------------------------------------------------------------
// DOP853
// ---------------------------------------------------------------------------------------------

/// Coefficients of DOP853 (Dormand–Prince 8(5,3), HNW I, II.10, as in Hairer's DOP853 code).
#[allow(clippy::excessive_precision)]
mod dp853 {
    pub const C2: f64 = 0.526001519587677318785587544488e-01;
    pub const C3: f64 = 0.789002279381515978178381316732e-01;
    pub const C4: f64 = 0.118350341907227396726757197510e+00;
    pub const C5: f64 = 0.281649658092772603273242802490e+00;
    pub const C6: f64 = 0.333333333333333333333333333333e+00;
    pub const C7: f64 = 0.25e+00;
    pub const C8: f64 = 0.307692307692307692307692307692e+00;
    pub const C9: f64 = 0.651282051282051282051282051282e+00;
    pub const C10: f64 = 0.6e+00;
    pub const C11: f64 = 0.857142857142857142857142857142e+00;
    pub const C14: f64 = 0.1e+00;
    pub const C15: f64 = 0.2e+00;
    pub const C16: f64 = 0.777777777777777777777777777778e+00;

    pub const B1: f64 = 5.42937341165687622380535766363e-2;
    pub const B6: f64 = 4.45031289275240888144113950566e0;
    pub const B7: f64 = 1.89151789931450038304281599044e0;
    pub const B8: f64 = -5.8012039600105847814672114227e0;
    pub const B9: f64 = 3.1116436695781989440891606237e-1;
    pub const B10: f64 = -1.52160949662516078556178806805e-1;
    pub const B11: f64 = 2.01365400804030348374776537501e-1;
    pub const B12: f64 = 4.47106157277725905176885569043e-2;

    pub const BHH1: f64 = 0.244094488188976377952755905512e+00;
    pub const BHH2: f64 = 0.733846688281611857341361741547e+00;
    pub const BHH3: f64 = 0.220588235294117647058823529412e-01;

    pub const ER1: f64 = 0.1312004499419488073250102996e-01;
    pub const ER6: f64 = -0.1225156446376204440720569753e+01;
    pub const ER7: f64 = -0.4957589496572501915214079952e+00;
    pub const ER8: f64 = 0.1664377182454986536961530415e+01;
    pub const ER9: f64 = -0.3503288487499736816886487290e+00;
    pub const ER10: f64 = 0.3341791187130174790297318841e+00;
    pub const ER11: f64 = 0.8192320648511571246570742613e-01;
    pub const ER12: f64 = -0.2235530786388629525884427845e-01;

    pub const A21: f64 = 5.26001519587677318785587544488e-2;
    pub const A31: f64 = 1.97250569845378994544595329183e-2;
    pub const A32: f64 = 5.91751709536136983633785987549e-2;
    pub const A41: f64 = 2.95875854768068491816892993775e-2;
    pub const A43: f64 = 8.87627564304205475450678981324e-2;
    pub const A51: f64 = 2.41365134159266685502369798665e-1;
    pub const A53: f64 = -8.84549479328286085344864962717e-1;
    pub const A54: f64 = 9.24834003261792003115737966543e-1;
    pub const A61: f64 = 3.7037037037037037037037037037e-2;
    pub const A64: f64 = 1.70828608729473871279604482173e-1;
    pub const A65: f64 = 1.25467687566822425016691814123e-1;
    pub const A71: f64 = 3.7109375e-2;
    pub const A74: f64 = 1.70252211019544039314978060272e-1;
    pub const A75: f64 = 6.02165389804559606850219397283e-2;
    pub const A76: f64 = -1.7578125e-2;
    pub const A81: f64 = 3.70920001185047927108779319836e-2;
    pub const A84: f64 = 1.70383925712239993810214054705e-1;
    pub const A85: f64 = 1.07262030446373284651809199168e-1;
    pub const A86: f64 = -1.53194377486244017527936158236e-2;
    pub const A87: f64 = 8.27378916381402288758473766002e-3;
    pub const A91: f64 = 6.24110958716075717114429577812e-1;
    pub const A94: f64 = -3.36089262944694129406857109825e0;
    pub const A95: f64 = -8.68219346841726006818189891453e-1;
    pub const A96: f64 = 2.75920996994467083049415600797e1;
    pub const A97: f64 = 2.01540675504778934086186788979e1;
    pub const A98: f64 = -4.34898841810699588477366255144e1;
    pub const A101: f64 = 4.77662536438264365890433908527e-1;
    pub const A104: f64 = -2.48811461997166764192642586468e0;
    pub const A105: f64 = -5.90290826836842996371446475743e-1;
    pub const A106: f64 = 2.12300514481811942347288949897e1;
    pub const A107: f64 = 1.52792336328824235832596922938e1;
    pub const A108: f64 = -3.32882109689848629194453265587e1;
    pub const A109: f64 = -2.03312017085086261358222928593e-2;
    pub const A111: f64 = -9.3714243008598732571704021658e-1;
    pub const A114: f64 = 5.18637242884406370830023853209e0;
    pub const A115: f64 = 1.09143734899672957818500254654e0;
    pub const A116: f64 = -8.14978701074692612513997267357e0;
    pub const A117: f64 = -1.85200656599969598641566180701e1;
    pub const A118: f64 = 2.27394870993505042818970056734e1;
    pub const A119: f64 = 2.49360555267965238987089396762e0;
    pub const A1110: f64 = -3.0467644718982195003823669022e0;
    pub const A121: f64 = 2.27331014751653820792359768449e0;
    pub const A124: f64 = -1.05344954667372501984066689879e1;
    pub const A125: f64 = -2.00087205822486249909675718444e0;
    pub const A126: f64 = -1.79589318631187989172765950534e1;
    pub const A127: f64 = 2.79488845294199600508499808837e1;
    pub const A128: f64 = -2.85899827713502369474065508674e0;
    pub const A129: f64 = -8.87285693353062954433549289258e0;
    pub const A1210: f64 = 1.23605671757943030647266201528e1;
    pub const A1211: f64 = 6.43392746015763530355970484046e-1;

    pub const A141: f64 = 5.61675022830479523392909219681e-2;
    pub const A147: f64 = 2.53500210216624811088794765333e-1;
    pub const A148: f64 = -2.46239037470802489917441475441e-1;
    pub const A149: f64 = -1.24191423263816360469010140626e-1;
    pub const A1410: f64 = 1.5329179827876569731206322685e-1;
    pub const A1411: f64 = 8.20105229563468988491666602057e-3;
    pub const A1412: f64 = 7.56789766054569976138603589584e-3;
    pub const A1413: f64 = -8.298e-3;
    pub const A151: f64 = 3.18346481635021405060768473261e-2;
    pub const A156: f64 = 2.83009096723667755288322961402e-2;
    pub const A157: f64 = 5.35419883074385676223797384372e-2;
    pub const A158: f64 = -5.49237485713909884646569340306e-2;
    pub const A1511: f64 = -1.08347328697249322858509316994e-4;
    pub const A1512: f64 = 3.82571090835658412954920192323e-4;
    pub const A1513: f64 = -3.40465008687404560802977114492e-4;
    pub const A1514: f64 = 1.41312443674632500278074618366e-1;
    pub const A161: f64 = -4.28896301583791923408573538692e-1;
    pub const A166: f64 = -4.69762141536116384314449447206e0;
    pub const A167: f64 = 7.68342119606259904184240953878e0;
    pub const A168: f64 = 4.06898981839711007970213554331e0;
    pub const A169: f64 = 3.56727187455281109270669543021e-1;
    pub const A1613: f64 = -1.39902416515901462129418009734e-3;
    pub const A1614: f64 = 2.9475147891527723389556272149e0;
    pub const A1615: f64 = -9.15095847217987001081870187138e0;

    pub const D41: f64 = -0.84289382761090128651353491142e+01;
    pub const D46: f64 = 0.56671495351937776962531783590e+00;
    pub const D47: f64 = -0.30689499459498916912797304727e+01;
    pub const D48: f64 = 0.23846676565120698287728149680e+01;
    pub const D49: f64 = 0.21170345824450282767155149946e+01;
    pub const D410: f64 = -0.87139158377797299206789907490e+00;
    pub const D411: f64 = 0.22404374302607882758541771650e+01;
    pub const D412: f64 = 0.63157877876946881815570249290e+00;
    pub const D413: f64 = -0.88990336451333310820698117400e-01;
    pub const D414: f64 = 0.18148505520854727256656404962e+02;
    pub const D415: f64 = -0.91946323924783554000451984436e+01;
    pub const D416: f64 = -0.44360363875948939664310572000e+01;
    pub const D51: f64 = 0.10427508642579134603413151009e+02;
    pub const D56: f64 = 0.24228349177525818288430175319e+03;
    pub const D57: f64 = 0.16520045171727028198505394887e+03;
    pub const D58: f64 = -0.37454675472269020279518312152e+03;
    pub const D59: f64 = -0.22113666853125306036270938578e+02;
    pub const D510: f64 = 0.77334326684722638389603898808e+01;
    pub const D511: f64 = -0.30674084731089398182061213626e+02;
    pub const D512: f64 = -0.93321305264302278729567221706e+01;
    pub const D513: f64 = 0.15697238121770843886131091075e+02;
    pub const D514: f64 = -0.31139403219565177677282850411e+02;
    pub const D515: f64 = -0.93529243588444783865713862664e+01;
    pub const D516: f64 = 0.35816841486394083752465898540e+02;
    pub const D61: f64 = 0.19985053242002433820987653617e+02;
    pub const D66: f64 = -0.38703730874935176555105901742e+03;
    pub const D67: f64 = -0.18917813819516756882830838328e+03;
    pub const D68: f64 = 0.52780815920542364900561016686e+03;
    pub const D69: f64 = -0.11573902539959630126141871134e+02;
    pub const D610: f64 = 0.68812326946963000169666922661e+01;
    pub const D611: f64 = -0.10006050966910838403183860980e+01;
    pub const D612: f64 = 0.77771377980534432092869265740e+00;
    pub const D613: f64 = -0.27782057523535084065932004339e+01;
    pub const D614: f64 = -0.60196695231264120758267380846e+02;
    pub const D615: f64 = 0.84320405506677161018159903784e+02;
    pub const D616: f64 = 0.11992291136182789328035130030e+02;
    pub const D71: f64 = -0.25693933462703749003312586129e+02;
    pub const D76: f64 = -0.15418974869023643374053993627e+03;
    pub const D77: f64 = -0.23152937917604549567536039109e+03;
    pub const D78: f64 = 0.35763911791061412378285349910e+03;
    pub const D79: f64 = 0.93405324183624310003907691704e+02;
    pub const D710: f64 = -0.37458323136451633156875139351e+02;
    pub const D711: f64 = 0.10409964950896230045147246184e+03;
    pub const D712: f64 = 0.29840293426660503123344363579e+02;
    pub const D713: f64 = -0.43533456590011143754432175058e+02;
    pub const D714: f64 = 0.96324553959188282948394950600e+02;
    pub const D715: f64 = -0.39177261675615439165231486172e+02;
    pub const D716: f64 = -0.14972683625798562581422125276e+03;
}

struct Dop853 {
    c: Core,
    /// k[j] holds stage k_{j+2} for j = 0..=10 (k2..k12) and k14, k15, k16 at j = 11, 12, 13.
    k: Vec<Vec<f64>>,
    /// k14..k16 of the current step are computed (lazily, only for dense output).
    dense_ready: bool,
}

impl Dop853 {
    fn new(y0: &[f64]) -> Self {
        let n = y0.len();
        Dop853 { c: Core::new(y0), k: (0..14).map(|_| vec![0.0; n]).collect(), dense_ready: false }
    }
}

/// `ys = y + h * Σ_j coef_j * stage_j` followed by `out = f(t, ys)`.
macro_rules! rk_stage {
    ($sys:expr, $stats:expr, $t:expr, $n:expr, $h:expr, $ys:expr, $y:expr, $dst:expr; $($c:expr => $k:ident),+) => {{
        {
            let ys = &mut $ys[..$n];
            let y = &$y[..$n];
            $(let $k = &$k[..$n];)+
            for i in 0..$n {
                ys[i] = y[i] + $h * (0.0 $(+ $c * $k[i])+);
            }
        }
        eval($sys, $stats, $t, &$ys, $dst);
    }};
}

impl Scheme for Dop853 {
    const ORDER: i32 = 8;
    const BETA: f64 = 0.0;
    const EXPO1: f64 = 1.0 / 8.0;
    const FAC_MIN: f64 = 0.333;
    const FAC_MAX: f64 = 6.0;

    fn core(&mut self) -> &mut Core {
        &mut self.c
    }

    fn trial<S: OdeSystem>(&mut self, sys: &mut S, stats: &mut Stats, sp: &Span, tol: &Tolerances) -> f64 {
        use dp853::*;
        let n = self.c.y.len();
        let h = sp.h;
        self.dense_ready = false;
        self.c.kf_ready = false;
        let c = &mut self.c;
        let (y, k1, ys) = (&c.y, &c.k1, &mut c.ys);
        let (k2s, rest) = self.k.split_at_mut(1);
        let k2 = &mut k2s[0];
        rk_stage!(sys, stats, sp.at(C2), n, h, ys, y, k2; A21 => k1);
        let (k3s, rest) = rest.split_at_mut(1);
        let k3 = &mut k3s[0];
        rk_stage!(sys, stats, sp.at(C3), n, h, ys, y, k3; A31 => k1, A32 => k2);
        let (k4s, rest) = rest.split_at_mut(1);
        let k4 = &mut k4s[0];
        rk_stage!(sys, stats, sp.at(C4), n, h, ys, y, k4; A41 => k1, A43 => k3);
        let (k5s, rest) = rest.split_at_mut(1);
        let k5 = &mut k5s[0];
        rk_stage!(sys, stats, sp.at(C5), n, h, ys, y, k5; A51 => k1, A53 => k3, A54 => k4);
        let (k6s, rest) = rest.split_at_mut(1);
        let k6 = &mut k6s[0];
        rk_stage!(sys, stats, sp.at(C6), n, h, ys, y, k6; A61 => k1, A64 => k4, A65 => k5);
        let (k7s, rest) = rest.split_at_mut(1);
        let k7 = &mut k7s[0];
        rk_stage!(sys, stats, sp.at(C7), n, h, ys, y, k7; A71 => k1, A74 => k4, A75 => k5, A76 => k6);
        let (k8s, rest) = rest.split_at_mut(1);
        let k8 = &mut k8s[0];
        rk_stage!(sys, stats, sp.at(C8), n, h, ys, y, k8; A81 => k1, A84 => k4, A85 => k5, A86 => k6, A87 => k7);
        let (k9s, rest) = rest.split_at_mut(1);
        let k9 = &mut k9s[0];
        rk_stage!(sys, stats, sp.at(C9), n, h, ys, y, k9;
            A91 => k1, A94 => k4, A95 => k5, A96 => k6, A97 => k7, A98 => k8);
        let (k10s, rest) = rest.split_at_mut(1);
        let k10 = &mut k10s[0];
        rk_stage!(sys, stats, sp.at(C10), n, h, ys, y, k10;
            A101 => k1, A104 => k4, A105 => k5, A106 => k6, A107 => k7, A108 => k8, A109 => k9);
        let (k11s, rest) = rest.split_at_mut(1);
        let k11 = &mut k11s[0];
        rk_stage!(sys, stats, sp.at(C11), n, h, ys, y, k11;
            A111 => k1, A114 => k4, A115 => k5, A116 => k6, A117 => k7, A118 => k8, A119 => k9, A1110 => k10);
        let k12 = &mut rest[0];
        rk_stage!(sys, stats, sp.at(1.0), n, h, ys, y, k12;
            A121 => k1, A124 => k4, A125 => k5, A126 => k6, A127 => k7, A128 => k8, A129 => k9,
            A1210 => k10, A1211 => k11);
        let (y, k1, yn) = (&y[..n], &k1[..n], &mut c.ynew[..n]);
        let (k6, k7, k8, k9, k10, k11, k12) = (&k6[..n], &k7[..n], &k8[..n], &k9[..n], &k10[..n], &k11[..n], &k12[..n]);
        let (mut err5, mut err3) = (0.0, 0.0);
        for i in 0..n {
            let bsum = B1 * k1[i] + B6 * k6[i] + B7 * k7[i] + B8 * k8[i] + B9 * k9[i] + B10 * k10[i] + B11 * k11[i] + B12 * k12[i];
            yn[i] = y[i] + h * bsum;
            let sk = weight(tol.atol, tol.rtol, y[i], yn[i]);
            let e3 = (bsum - BHH1 * k1[i] - BHH2 * k9[i] - BHH3 * k12[i]) / sk;
            let e5 = (ER1 * k1[i] + ER6 * k6[i] + ER7 * k7[i] + ER8 * k8[i] + ER9 * k9[i] + ER10 * k10[i] + ER11 * k11[i] + ER12 * k12[i]) / sk;
            err3 += e3 * e3;
            err5 += e5 * e5;
        }
        // Hairer's DOP853 error: a 5th-order estimate, damped by the 3rd-order one.
        let mut deno = err5 + 0.01 * err3;
        if deno <= 0.0 {
            deno = 1.0;
        }
        if n == 0 {
            0.0
        } else {
            h.abs() * err5 * (1.0 / (n as f64 * deno)).sqrt()
        }
    }

    fn dense<S: OdeSystem>(&mut self, sys: &mut S, stats: &mut Stats, sp: &Span, theta: f64, yout: &mut [f64]) {
        use dp853::*;
        let n = self.c.y.len();
        let h = sp.h;
        self.ensure_kf(sys, stats, sp);
        let c = &mut self.c;
        let k = &mut self.k;
        if !self.dense_ready {
            let (y, k1, k13, ys) = (&c.y, &c.k1, &c.kf, &mut c.ys);
            let (head, tail) = k.split_at_mut(11);
            let (k6, k7, k8, k9, k10, k11, k12) = (&head[4], &head[5], &head[6], &head[7], &head[8], &head[9], &head[10]);
            let (k14s, rest) = tail.split_at_mut(1);
            let k14 = &mut k14s[0];
            rk_stage!(sys, stats, sp.at(C14), n, h, ys, y, k14;
                A141 => k1, A147 => k7, A148 => k8, A149 => k9, A1410 => k10, A1411 => k11, A1412 => k12, A1413 => k13);
            let (k15s, rest) = rest.split_at_mut(1);
            let k15 = &mut k15s[0];
            rk_stage!(sys, stats, sp.at(C15), n, h, ys, y, k15;
                A151 => k1, A156 => k6, A157 => k7, A158 => k8, A1511 => k11, A1512 => k12, A1513 => k13, A1514 => k14);
            let k16 = &mut rest[0];
            rk_stage!(sys, stats, sp.at(C16), n, h, ys, y, k16;
                A161 => k1, A166 => k6, A167 => k7, A168 => k8, A169 => k9, A1613 => k13, A1614 => k14, A1615 => k15);
            self.dense_ready = true;
        }
        let (y, yn, k1, k13, yout) = (&c.y[..n], &c.ynew[..n], &c.k1[..n], &c.kf[..n], &mut yout[..n]);
        let (k6, k7, k8, k9, k10, k11, k12) = (&k[4][..n], &k[5][..n], &k[6][..n], &k[7][..n], &k[8][..n], &k[9][..n], &k[10][..n]);
        let (k14, k15, k16) = (&k[11][..n], &k[12][..n], &k[13][..n]);
        let s = theta;
        let s1 = 1.0 - s;
        for i in 0..n {
            let ydiff = yn[i] - y[i];
            let bspl = h * k1[i] - ydiff;
            let c3 = ydiff - h * k13[i] - bspl;
            let d4 = D41 * k1[i] + D46 * k6[i] + D47 * k7[i] + D48 * k8[i] + D49 * k9[i] + D410 * k10[i] + D411 * k11[i]
                + D412 * k12[i] + D413 * k13[i] + D414 * k14[i] + D415 * k15[i] + D416 * k16[i];
            let d5 = D51 * k1[i] + D56 * k6[i] + D57 * k7[i] + D58 * k8[i] + D59 * k9[i] + D510 * k10[i] + D511 * k11[i]
                + D512 * k12[i] + D513 * k13[i] + D514 * k14[i] + D515 * k15[i] + D516 * k16[i];
            let d6 = D61 * k1[i] + D66 * k6[i] + D67 * k7[i] + D68 * k8[i] + D69 * k9[i] + D610 * k10[i] + D611 * k11[i]
                + D612 * k12[i] + D613 * k13[i] + D614 * k14[i] + D615 * k15[i] + D616 * k16[i];
            let d7 = D71 * k1[i] + D76 * k6[i] + D77 * k7[i] + D78 * k8[i] + D79 * k9[i] + D710 * k10[i] + D711 * k11[i]
                + D712 * k12[i] + D713 * k13[i] + D714 * k14[i] + D715 * k15[i] + D716 * k16[i];
            let conp = h * (d4 + s * (d5 + s1 * (d6 + s * d7)));
            yout[i] = y[i] + s * (ydiff + s1 * (bspl + s * (c3 + s1 * conp)));
        }
    }
}

/// Dormand–Prince 8(5,3) (Hairer's DOP853): 12 stages per trial step (+1 for the FSAL
/// derivative once accepted), error estimate of order 5 damped by an order-3 one, step-size
/// control with Hairer's DOP853 defaults (safety 0.9, factor bounds [1/3, 6], no PI term),
/// and the 7th-order dense output (3 extra evaluations, only in steps that contain an output
/// time). Same conventions as [`dopri5`] (outputs, breakpoints, projection, errors).
///
/// The FSAL derivative is only evaluated after acceptance, and then directly at the projected
/// state unless a dense output needed it first, so [`FsalPolicy`] makes little difference here.
pub fn dop853<S: OdeSystem>(
    sys: &mut S,
    t0: f64,
    y0: &[f64],
    outputs: &[f64],
    tol: &Tolerances,
    out: impl FnMut(f64, &[f64]),
) -> Result<Stats, OdeError> {
    dop853_with(sys, t0, y0, outputs, tol, FsalPolicy::Recompute, out)
}

/// [`dop853`] with a choice of what to do with the FSAL derivative after projection.
pub fn dop853_with<S: OdeSystem>(
    sys: &mut S,
    t0: f64,
    y0: &[f64],
    outputs: &[f64],
    tol: &Tolerances,
    fsal: FsalPolicy,
    mut out: impl FnMut(f64, &[f64]),
) -> Result<Stats, OdeError> {
    adaptive(sys, t0, y0, outputs, tol, fsal, Dop853::new, &mut out)
}


// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // ---- test systems ----

    /// y' = -y
    struct Decay;
    impl OdeSystem for Decay {
        fn dim(&self) -> usize {
            1
        }
        fn rhs(&mut self, _t: f64, y: &[f64], dy: &mut [f64]) {
            dy[0] = -y[0];
        }
    }

    /// y' = y cos t, y = y0 exp(sin t)
    struct CosGrowth;
    impl OdeSystem for CosGrowth {
        fn dim(&self) -> usize {
            1
        }
        fn rhs(&mut self, t: f64, y: &[f64], dy: &mut [f64]) {
            dy[0] = y[0] * t.cos();
        }
    }

    /// x' = v, v' = -x; manifold x² + v² = 1 (projection: normalise).
    struct Oscillator {
        project: bool,
        projections: usize,
    }
    impl OdeSystem for Oscillator {
        fn dim(&self) -> usize {
            2
        }
        fn rhs(&mut self, _t: f64, y: &[f64], dy: &mut [f64]) {
            dy[0] = y[1];
            dy[1] = -y[0];
        }
        fn project(&mut self, y: &mut [f64]) {
            if self.project {
                self.projections += 1;
                let r = y[0].hypot(y[1]);
                y[0] /= r;
                y[1] /= r;
            }
        }
    }
    fn osc(project: bool) -> Oscillator {
        Oscillator { project, projections: 0 }
    }

    /// y' = r y (1 - y / k)
    struct Logistic {
        r: f64,
        k: f64,
    }
    impl OdeSystem for Logistic {
        fn dim(&self) -> usize {
            1
        }
        fn rhs(&mut self, _t: f64, y: &[f64], dy: &mut [f64]) {
            dy[0] = self.r * y[0] * (1.0 - y[0] / self.k);
        }
    }
    fn logistic_exact(r: f64, k: f64, y0: f64, t: f64) -> f64 {
        k / (1.0 + (k / y0 - 1.0) * (-r * t).exp())
    }

    /// y' = 1 on [0, 1), y' = -2 on [1, 2) (or (0, 1], (1, 2] with `left_closed = false`).
    struct Piecewise {
        left_closed: bool,
        declare: bool,
    }
    impl OdeSystem for Piecewise {
        fn dim(&self) -> usize {
            1
        }
        fn rhs(&mut self, t: f64, _y: &[f64], dy: &mut [f64]) {
            let first = if self.left_closed { t < 1.0 } else { t <= 1.0 };
            dy[0] = if first { 1.0 } else { -2.0 };
        }
        fn breakpoints(&self, _t0: f64, _t1: f64) -> Vec<f64> {
            if self.declare {
                vec![1.0]
            } else {
                vec![]
            }
        }
    }
    fn piecewise_exact(t: f64) -> f64 {
        if t <= 1.0 {
            t
        } else {
            1.0 - 2.0 * (t - 1.0)
        }
    }

    /// y' = A y, A row-major n×n.
    struct Linear {
        n: usize,
        a: Vec<f64>,
    }
    impl OdeSystem for Linear {
        fn dim(&self) -> usize {
            self.n
        }
        fn rhs(&mut self, _t: f64, y: &[f64], dy: &mut [f64]) {
            for (d, row) in dy.iter_mut().zip(self.a.chunks(self.n)) {
                *d = row.iter().zip(y).map(|(a, y)| a * y).sum();
            }
        }
    }

    /// y' = -y but NaN for t > t_bad.
    struct NanAfter {
        t_bad: f64,
    }
    impl OdeSystem for NanAfter {
        fn dim(&self) -> usize {
            1
        }
        fn rhs(&mut self, t: f64, y: &[f64], dy: &mut [f64]) {
            dy[0] = if t > self.t_bad { f64::NAN } else { -y[0] };
        }
    }

    /// y' = y², blows up at t = 1 for y0 = 1.
    struct BlowUp;
    impl OdeSystem for BlowUp {
        fn dim(&self) -> usize {
            1
        }
        fn rhs(&mut self, _t: f64, y: &[f64], dy: &mut [f64]) {
            dy[0] = y[0] * y[0];
        }
    }

    // ---- helpers ----

    type Trace = Vec<(f64, Vec<f64>)>;

    fn tight() -> Tolerances {
        Tolerances::new(1e-12, 1e-14)
    }

    fn run_dp<S: OdeSystem>(sys: &mut S, t0: f64, y0: &[f64], outs: &[f64], tol: &Tolerances) -> (Trace, Stats) {
        let mut tr = Vec::new();
        let st = dopri5(sys, t0, y0, outs, tol, |t, y| tr.push((t, y.to_vec()))).expect("dopri5 failed");
        (tr, st)
    }

    fn run_rk4<S: OdeSystem>(sys: &mut S, t0: f64, y0: &[f64], h: f64, outs: &[f64]) -> (Trace, Stats) {
        let mut tr = Vec::new();
        let st = rk4(sys, t0, y0, h, outs, |t, y| tr.push((t, y.to_vec()))).expect("rk4 failed");
        (tr, st)
    }

    fn rel(a: f64, b: f64) -> f64 {
        (a - b).abs() / b.abs().max(1e-300)
    }

    // ---- DOPRI5 accuracy ----

    #[test]
    fn dopri5_matches_exact_solutions() {
        let tol = tight();
        let (tr, st) = run_dp(&mut Decay, 0.0, &[1.0], &[10.0], &tol);
        let e = rel(tr[0].1[0], (-10.0f64).exp());
        println!("decay: rel err {e:.2e}, {st:?}");
        assert!(e < 1e-10, "decay {e}");

        let (tr, st) = run_dp(&mut CosGrowth, 0.0, &[2.0], &[10.0], &tol);
        let e = rel(tr[0].1[0], 2.0 * 10.0f64.sin().exp());
        println!("cos growth: rel err {e:.2e}, {st:?}");
        assert!(e < 1e-10, "cos {e}");

        for project in [false, true] {
            let mut sys = osc(project);
            let (tr, st) = run_dp(&mut sys, 0.0, &[1.0, 0.0], &[20.0], &tol);
            let (x, v) = (tr[0].1[0], tr[0].1[1]);
            let e = (x - 20.0f64.cos()).abs().max((v + 20.0f64.sin()).abs());
            println!("oscillator (project={project}): abs err {e:.2e}, radius-1 {:.1e}, {st:?}", x.hypot(v) - 1.0);
            assert!(e < 1e-10, "oscillator {e}");
            if project {
                assert!((x.hypot(v) - 1.0).abs() < 4.0 * f64::EPSILON);
                assert_eq!(sys.projections as u64, st.steps);
            }
        }

        let (r, k, y0) = (1.5, 3.0, 0.1);
        let (tr, st) = run_dp(&mut Logistic { r, k }, 0.0, &[y0], &[8.0], &tol);
        let e = rel(tr[0].1[0], logistic_exact(r, k, y0, 8.0));
        println!("logistic: rel err {e:.2e}, {st:?}");
        assert!(e < 1e-10, "logistic {e}");
    }

    #[test]
    fn dopri5_error_scales_with_tolerance() {
        // Global error should go down roughly like tol (not stall) as tol decreases.
        let mut prev = f64::INFINITY;
        for k in [6, 8, 10, 12] {
            let r = 10f64.powi(-k);
            let (tr, _) = run_dp(&mut CosGrowth, 0.0, &[1.0], &[10.0], &Tolerances::new(r, r * 1e-2));
            let e = rel(tr[0].1[0], 10.0f64.sin().exp());
            assert!(e < 100.0 * r, "rtol {r}: err {e}");
            assert!(e < prev);
            prev = e;
        }
    }

    // ---- Bogacki–Shampine 3(2) ----

    fn run_bs3<S: OdeSystem>(sys: &mut S, t0: f64, y0: &[f64], outs: &[f64], tol: &Tolerances) -> (Trace, Stats) {
        let mut tr = Vec::new();
        let st = bs3(sys, t0, y0, outs, tol, FsalPolicy::Recompute, |t, y| tr.push((t, y.to_vec()))).expect("bs3 failed");
        (tr, st)
    }

    #[test]
    fn bs3_matches_exact_solutions_and_dense_output() {
        let tol = Tolerances::new(1e-10, 1e-12);
        let (tr, st) = run_bs3(&mut Decay, 0.0, &[1.0], &[10.0], &tol);
        let e = rel(tr[0].1[0], (-10.0f64).exp());
        println!("bs3 decay: rel err {e:.2e}, {st:?}");
        // Error per unit step, ~5000 steps: the global error is a few hundred rtol.
        assert!(e < 1e-7, "decay {e}");
        let (r, k, y0) = (1.5, 3.0, 0.1);
        let (tr, _) = run_bs3(&mut Logistic { r, k }, 0.0, &[y0], &[8.0], &tol);
        let e = rel(tr[0].1[0], logistic_exact(r, k, y0, 8.0));
        assert!(e < 1e-7, "logistic {e}");
        // Dense output at 1000 points: the cubic Hermite interpolant is third order, like the
        // step, so it stays within a small multiple of the tolerance.
        let outs: Vec<f64> = (1..=1000).map(|i| i as f64 * 0.01).collect();
        for rtol in [1e-5, 1e-9] {
            let tol = Tolerances::new(rtol, rtol * 1e-2);
            let (tr, st) = run_bs3(&mut CosGrowth, 0.0, &[1.0], &outs, &tol);
            let (_, st_single) = run_bs3(&mut CosGrowth, 0.0, &[1.0], &[10.0], &tol);
            assert_eq!(st, st_single, "outputs must not change the steps");
            let worst = tr.iter().map(|(t, y)| rel(y[0], t.sin().exp())).fold(0.0, f64::max);
            println!("bs3 dense output rtol {rtol:e}: worst rel err {worst:.2e}, {st:?}");
            assert!(worst < 50.0 * rtol, "rtol {rtol}: {worst}");
        }
        // With projection onto the circle.
        let outs: Vec<f64> = (0..=200).map(|i| i as f64 * 0.05).collect();
        let (tr, _) = run_bs3(&mut osc(true), 0.0, &[1.0, 0.0], &outs, &Tolerances::new(1e-10, 1e-12));
        for (t, y) in &tr {
            assert!((y[0].hypot(y[1]) - 1.0).abs() < 4.0 * f64::EPSILON, "radius at {t}");
            assert!((y[0] - t.cos()).abs() < 1e-7 && (y[1] + t.sin()).abs() < 1e-7, "t={t}");
        }
    }

    /// With a fixed step (every step accepted), halving it divides the global error by 2³.
    #[test]
    fn bs3_fixed_step_order_three() {
        let err_at = |h: f64| {
            let tol = Tolerances { h_init: Some(h), h_max: h, ..Tolerances::new(1.0, 1.0) };
            let mut y = 0.0;
            let st = bs3(&mut CosGrowth, 0.0, &[1.0], &[5.0], &tol, FsalPolicy::Recompute, |_, v| y = v[0]).unwrap();
            assert_eq!((st.rejected, st.steps), (0, (5.0 / h).round() as u64));
            (y - 5.0f64.sin().exp()).abs()
        };
        let (e1, e2) = (err_at(0.05), err_at(0.025));
        println!("bs3 fixed step: {e1:.3e} / {e2:.3e} = {:.2} (expect 8)", e1 / e2);
        assert!((7.0..9.2).contains(&(e1 / e2)), "{}", e1 / e2);
    }

    /// The error estimate is the second-order solution's local error: it shrinks like h³, and
    /// it bounds the (third-order) step's true local error with a wide margin.
    #[test]
    fn bs3_error_estimate_is_sane() {
        let est_and_true = |h: f64| {
            let tol = Tolerances::new(0.0, 1.0); // weights 1: the norm is |estimate|
            let mut m = Bs3::new(&[1.0]);
            let mut stats = Stats::default();
            let t0: f64 = 0.3;
            let y0 = t0.sin().exp();
            m.c.y[0] = y0;
            CosGrowth.rhs(t0, &m.c.y.clone(), &mut m.c.k1);
            let sp = Span::new(t0, t0 + h, false, false);
            let est = m.trial(&mut CosGrowth, &mut stats, &sp, &tol);
            assert_eq!(stats.rhs_evals, 3);
            (est, (m.c.ynew[0] - (t0 + h).sin().exp()).abs())
        };
        let (e1, t1) = est_and_true(0.02);
        let (e2, t2) = est_and_true(0.01);
        println!("bs3 estimate {e1:.3e} → {e2:.3e} (ratio {:.2}), true local error {t1:.3e}, {t2:.3e}", e1 / e2);
        assert!((7.0..9.0).contains(&(e1 / e2)), "estimate ratio {}", e1 / e2);
        assert!(t1 < 0.1 * e1 && t2 < 0.1 * e2);
    }

    /// A step-local system (the moment method) re-evaluates the first stage in every trial: 4
    /// evaluations per attempt, plus the initial derivative and the initial-step probe.
    #[test]
    fn bs3_step_local_costs_four_evaluations_per_attempt() {
        struct Local(u64);
        impl OdeSystem for Local {
            fn dim(&self) -> usize {
                1
            }
            fn rhs(&mut self, t: f64, y: &[f64], dy: &mut [f64]) {
                dy[0] = y[0] * t.cos();
            }
            fn begin_step(&mut self, _t0: f64, _t1: f64) {
                self.0 += 1;
            }
            fn step_local(&self) -> bool {
                true
            }
        }
        let mut sys = Local(0);
        let (tr, st) = run_bs3(&mut sys, 0.0, &[1.0], &[10.0], &Tolerances::new(1e-8, 1e-10));
        assert_eq!(st.rhs_evals, 2 + 4 * (st.steps + st.rejected), "{st:?}");
        assert_eq!(sys.0, st.steps + st.rejected);
        assert!(rel(tr[0].1[0], 10.0f64.sin().exp()) < 1e-6);
        // Not step-local: FSAL, 3 per attempt.
        let (_, st) = run_bs3(&mut CosGrowth, 0.0, &[1.0], &[10.0], &Tolerances::new(1e-8, 1e-10));
        assert_eq!(st.rhs_evals, 2 + 3 * (st.steps + st.rejected), "{st:?}");
    }

    // ---- DOP853 ----

    fn run_853<S: OdeSystem>(sys: &mut S, t0: f64, y0: &[f64], outs: &[f64], tol: &Tolerances) -> (Trace, Stats) {
        let mut tr = Vec::new();
        let st = dop853(sys, t0, y0, outs, tol, |t, y| tr.push((t, y.to_vec()))).expect("dop853 failed");
        (tr, st)
    }

    #[test]
    fn dop853_matches_exact_solutions() {
        let tol = Tolerances::new(1e-13, 1e-15);
        let (tr, st) = run_853(&mut Decay, 0.0, &[1.0], &[10.0], &tol);
        let e = rel(tr[0].1[0], (-10.0f64).exp());
        println!("dop853 decay: rel err {e:.2e}, {st:?}");
        assert!(e < 1e-11, "decay {e}");
        let (tr, st) = run_853(&mut CosGrowth, 0.0, &[2.0], &[10.0], &tol);
        let e = rel(tr[0].1[0], 2.0 * 10.0f64.sin().exp());
        println!("dop853 cos growth: rel err {e:.2e}, {st:?}");
        assert!(e < 1e-11, "cos {e}");
        for project in [false, true] {
            let (tr, st) = run_853(&mut osc(project), 0.0, &[1.0, 0.0], &[20.0], &tol);
            let (x, v) = (tr[0].1[0], tr[0].1[1]);
            let e = (x - 20.0f64.cos()).abs().max((v + 20.0f64.sin()).abs());
            println!("dop853 oscillator (project={project}): abs err {e:.2e}, {st:?}");
            assert!(e < 1e-11, "oscillator {e}");
        }
        let (r, k, y0) = (1.5, 3.0, 0.1);
        let (tr, st) = run_853(&mut Logistic { r, k }, 0.0, &[y0], &[8.0], &tol);
        let e = rel(tr[0].1[0], logistic_exact(r, k, y0, 8.0));
        println!("dop853 logistic: rel err {e:.2e}, {st:?}");
        assert!(e < 1e-11, "logistic {e}");
        // Cheaper than DOPRI5 at tight tolerance.
        let (_, st5) = run_dp(&mut CosGrowth, 0.0, &[2.0], &[10.0], &tight());
        let (_, st8) = run_853(&mut CosGrowth, 0.0, &[2.0], &[10.0], &tight());
        println!("rtol 1e-12, y' = y cos t: dopri5 {st5:?}, dop853 {st8:?}");
        assert!(st8.rhs_evals < st5.rhs_evals);
    }

    #[test]
    fn fixed_step_orders_of_embedded_methods() {
        // h_init = h_max = h with a tolerance so loose that every step is accepted: the methods
        // run with a fixed step, and halving it must divide the error by 2^order.
        let err_at = |h: f64, eighth: bool| {
            let tol = Tolerances { h_init: Some(h), h_max: h, ..Tolerances::new(1.0, 1.0) };
            let mut y = 0.0;
            let st = if eighth {
                dop853(&mut CosGrowth, 0.0, &[1.0], &[5.0], &tol, |_, v| y = v[0])
            } else {
                dopri5(&mut CosGrowth, 0.0, &[1.0], &[5.0], &tol, |_, v| y = v[0])
            }
            .unwrap();
            assert_eq!(st.rejected, 0);
            assert_eq!(st.steps, (5.0 / h).round() as u64);
            (y - 5.0f64.sin().exp()).abs()
        };
        let (e1, e2) = (err_at(0.1, false), err_at(0.05, false));
        println!("dopri5 fixed step: {e1:.3e} / {e2:.3e} = {:.1} (expect 32)", e1 / e2);
        assert!((26.0..40.0).contains(&(e1 / e2)));
        let (e1, e2) = (err_at(0.25, true), err_at(0.125, true));
        println!("dop853 fixed step: {e1:.3e} / {e2:.3e} = {:.1} (expect 256)", e1 / e2);
        assert!((190.0..330.0).contains(&(e1 / e2)));
    }

    #[test]
    fn dop853_dense_output_and_breakpoints() {
        let outs: Vec<f64> = (1..=1000).map(|i| i as f64 * 0.01).collect();
        for rtol in [1e-7, 1e-12] {
            let tol = Tolerances::new(rtol, rtol * 1e-2);
            let (tr, st) = run_853(&mut CosGrowth, 0.0, &[1.0], &outs, &tol);
            let (_, st_single) = run_853(&mut CosGrowth, 0.0, &[1.0], &[10.0], &tol);
            assert_eq!(st.steps, st_single.steps, "outputs must not change the steps");
            let mut worst = 0.0f64;
            for ((t, y), &to) in tr.iter().zip(&outs) {
                assert_eq!(*t, to);
                worst = worst.max(rel(y[0], t.sin().exp()));
            }
            println!("dop853 dense rtol {rtol:e}: worst rel err {worst:.2e}, {} steps, {} evals (single output: {})",
                st.steps, st.rhs_evals, st_single.rhs_evals);
            assert!(worst < 50.0 * rtol, "rtol {rtol}: {worst}");
            // FSAL evaluated after acceptance only (not after the last step); 3 extra per
            // step with dense output; every step here contains an output.
            let a = st_single.steps + st_single.rejected;
            assert_eq!(st_single.rhs_evals, 2 + 11 * a + st_single.steps - 1);
            // (+1: the last step's FSAL derivative, needed by its dense output.)
            assert_eq!(st.rhs_evals, st_single.rhs_evals + 3 * st.steps + 1);
        }
        let outs = [0.25, 1.0, 1.5, 2.0];
        for left_closed in [true, false] {
            let (tr, st) = run_853(&mut Piecewise { left_closed, declare: true }, 0.0, &[0.0], &outs, &Tolerances::default());
            for (t, y) in &tr {
                // Step ends (t = 1, 2) are exact to rounding; the dense output's large
                // coefficients (|d| ~ 500) cost a few more ulps at t = 0.25, 1.5.
                let bound = if *t == 1.0 || *t == 2.0 { 4.0 * f64::EPSILON } else { 1e-14 };
                assert!((y[0] - piecewise_exact(*t)).abs() <= bound, "t={t}: {}", y[0]);
            }
            assert_eq!(st.rejected, 0);
        }
        let (tr, _) = run_853(&mut osc(true), 0.0, &[1.0, 0.0], &[0.5, 1.7, 3.0], &Tolerances::new(1e-12, 1e-14));
        for (t, y) in &tr {
            assert!((y[0].hypot(y[1]) - 1.0).abs() < 4.0 * f64::EPSILON);
            assert!((y[0] - t.cos()).abs() < 1e-10 && (y[1] + t.sin()).abs() < 1e-10, "t={t}");
        }
        assert!(matches!(dop853(&mut NanAfter { t_bad: 0.5 }, 0.0, &[1.0], &[1.0], &tight(), |_, _| {}), Err(OdeError::NonFinite { .. })));
    }

    // ---- RK4 ----

    #[test]
    fn rk4_order_four() {
        // (name, error at h, error at h/2)
        let mut ratios = Vec::new();
        let t1 = 5.0;
        for h in [0.1, 0.05] {
            let (tr, _) = run_rk4(&mut Decay, 0.0, &[1.0], h, &[t1]);
            ratios.push(("decay", h, (tr[0].1[0] - (-t1).exp()).abs()));
            let (tr, _) = run_rk4(&mut CosGrowth, 0.0, &[1.0], h, &[t1]);
            ratios.push(("cos", h, (tr[0].1[0] - t1.sin().exp()).abs()));
            for project in [false, true] {
                let (tr, _) = run_rk4(&mut osc(project), 0.0, &[1.0, 0.0], h, &[t1]);
                let e = (tr[0].1[0] - t1.cos()).abs().max((tr[0].1[1] + t1.sin()).abs());
                ratios.push((if project { "osc+proj" } else { "osc" }, h, e));
            }
            let (tr, _) = run_rk4(&mut Logistic { r: 1.5, k: 3.0 }, 0.0, &[0.1], h, &[t1]);
            ratios.push(("logistic", h, (tr[0].1[0] - logistic_exact(1.5, 3.0, 0.1, t1)).abs()));
        }
        let m = ratios.len() / 2;
        for i in 0..m {
            let (name, _, e1) = ratios[i];
            let (_, _, e2) = ratios[i + m];
            let q = e1 / e2;
            println!("rk4 {name}: err(h=0.1) {e1:.3e}, err(h=0.05) {e2:.3e}, ratio {q:.2}");
            assert!((14.0..18.5).contains(&q), "{name}: ratio {q}");
        }
    }

    #[test]
    fn rk4_hits_output_times_exactly() {
        let outs = [0.0, 0.05, 0.05, 0.333, 0.3, 1.0];
        // unsorted on purpose? no: keep sorted
        let outs_sorted = {
            let mut o = outs.to_vec();
            o.sort_by(f64::total_cmp);
            o
        };
        let (tr, st) = run_rk4(&mut CosGrowth, 0.0, &[1.0], 0.1, &outs_sorted);
        assert_eq!(tr.len(), outs_sorted.len());
        for ((t, y), &to) in tr.iter().zip(&outs_sorted) {
            assert_eq!(*t, to);
            assert!((y[0] - t.sin().exp()).abs() < 1e-5, "t={t}");
        }
        // Grid 0.1..1.0 (10 nodes) + 0.05 + 0.333; 0.3 is (within ulps) a grid node.
        assert_eq!(st.steps, 12, "{st:?}");
        assert_eq!(st.rhs_evals, 4 * st.steps);
        // Only t0 requested.
        let (tr, st) = run_rk4(&mut Decay, 1.0, &[2.0], 0.1, &[1.0, 1.0]);
        assert_eq!(tr, vec![(1.0, vec![2.0]), (1.0, vec![2.0])]);
        assert_eq!(st, Stats::default());
    }

    // ---- dense output ----

    #[test]
    fn dense_output_matches_exact_solution() {
        let outs: Vec<f64> = (1..=1000).map(|i| i as f64 * 0.01).collect();
        for rtol in [1e-6, 1e-10] {
            let tol = Tolerances::new(rtol, rtol * 1e-2);
            let (tr, st) = run_dp(&mut CosGrowth, 0.0, &[1.0], &outs, &tol);
            let (_, st_single) = run_dp(&mut CosGrowth, 0.0, &[1.0], &[10.0], &tol);
            assert_eq!(st, st_single, "outputs must not change the steps");
            assert_eq!(tr.len(), outs.len());
            let mut worst = 0.0f64;
            for ((t, y), &to) in tr.iter().zip(&outs) {
                assert_eq!(*t, to);
                worst = worst.max(rel(y[0], t.sin().exp()));
            }
            println!("dense output rtol {rtol:e}: worst rel err {worst:.2e} over 1000 points, {} steps", st.steps);
            assert!(worst < 50.0 * rtol, "rtol {rtol}: {worst}");
        }
        // Oscillator with projection: dense outputs are projected too.
        let outs: Vec<f64> = (0..=500).map(|i| i as f64 * 0.037).collect();
        let (tr, _) = run_dp(&mut osc(true), 0.0, &[1.0, 0.0], &outs, &Tolerances::new(1e-10, 1e-12));
        for (t, y) in &tr {
            assert!((y[0].hypot(y[1]) - 1.0).abs() < 4.0 * f64::EPSILON, "radius at {t}");
            assert!((y[0] - t.cos()).abs() < 1e-8 && (y[1] + t.sin()).abs() < 1e-8, "t={t}");
        }
    }

    #[test]
    fn output_at_t0_and_repeated_outputs() {
        let outs = [0.5, 0.5, 0.5, 0.7, 1.3, 1.3, 2.0, 2.0];
        let mut tr = Vec::new();
        dopri5(&mut Decay, 0.5, &[3.0], &outs, &tight(), |t, y| tr.push((t, y[0]))).unwrap();
        assert_eq!(tr.len(), outs.len());
        for (i, (t, y)) in tr.iter().enumerate() {
            assert_eq!(*t, outs[i]);
            assert!(rel(*y, 3.0 * (0.5 - t).exp()) < 1e-10);
        }
        assert_eq!(tr[0].1, 3.0);
        assert_eq!(tr[1], tr[0]);
        assert_eq!(tr[4], tr[5]);
        assert_eq!(tr[6], tr[7]);
        // Only t0 requested: no steps, no evaluations.
        let mut n = 0;
        let st = dopri5(&mut Decay, 0.0, &[1.0], &[0.0, 0.0], &tight(), |_, _| n += 1).unwrap();
        assert_eq!((n, st), (2, Stats::default()));
        // Empty output list: nothing happens.
        let st = dopri5(&mut Decay, 0.0, &[1.0], &[], &tight(), |_, _| panic!()).unwrap();
        assert_eq!(st, Stats::default());
    }

    // ---- breakpoints ----

    #[test]
    fn breakpoints_are_hit_exactly() {
        let outs = [0.25, 1.0, 1.5, 2.0];
        for left_closed in [true, false] {
            let mut sys = Piecewise { left_closed, declare: true };
            let (tr, st) = run_dp(&mut sys, 0.0, &[0.0], &outs, &Tolerances::new(1e-6, 1e-8));
            for (t, y) in &tr {
                assert!((y[0] - piecewise_exact(*t)).abs() <= 4.0 * f64::EPSILON, "dopri5 {left_closed} t={t}: {}", y[0]);
            }
            println!("piecewise dopri5 (left_closed={left_closed}): y(2) = {:e}, {st:?}", tr[3].1[0]);
            assert_eq!(st.rejected, 0);
            for h in [0.3, 0.1] {
                let (tr, _) = run_rk4(&mut Piecewise { left_closed, declare: true }, 0.0, &[0.0], h, &outs);
                for (t, y) in &tr {
                    assert!((y[0] - piecewise_exact(*t)).abs() <= 8.0 * f64::EPSILON, "rk4 h={h} t={t}: {}", y[0]);
                }
            }
        }
        // Without declared breakpoints the step across t = 1 is inexact (sanity check of the test).
        let (tr, st) = run_rk4(&mut Piecewise { left_closed: true, declare: false }, 0.0, &[0.0], 0.3, &[2.0]);
        println!("piecewise rk4 without breakpoints: err {:.2e}, {st:?}", (tr[0].1[0] + 1.0).abs());
        assert!((tr[0].1[0] + 1.0).abs() > 1e-3);
    }

    /// A schedule located like attncert's layers: layer `⌊t/τ⌋`, boundaries reported as `k·τ`.
    struct FloorLayers {
        tau: f64,
        rates: Vec<f64>,
        exponential: bool,
    }
    impl FloorLayers {
        fn rate(&self, t: f64) -> f64 {
            let k = (t / self.tau).floor().max(0.0) as usize;
            self.rates[k % self.rates.len()]
        }
    }
    impl OdeSystem for FloorLayers {
        fn dim(&self) -> usize {
            1
        }
        fn rhs(&mut self, t: f64, y: &[f64], dy: &mut [f64]) {
            dy[0] = self.rate(t) * if self.exponential { y[0] } else { 1.0 };
        }
        fn breakpoints(&self, t0: f64, t1: f64) -> Vec<f64> {
            let mut out = Vec::new();
            let mut k = (t0 / self.tau).floor() + 1.0;
            while k * self.tau < t1 {
                out.push(k * self.tau);
                k += 1.0;
            }
            out
        }
    }

    #[test]
    fn floor_located_layers_are_integrated_exactly() {
        let rates = [0.7, -1.3, 0.2, 1.1, -0.4];
        for tau in [0.1, 0.3, 1.0 / 3.0, 0.7, 0.05] {
            let t1 = 30.0 * tau + 0.5 * tau;
            let mut sys = FloorLayers { tau, rates: rates.to_vec(), exponential: false };
            // Exact: Σ rate_k · (length of layer k), with the float boundaries.
            let mut bs = vec![0.0];
            bs.extend(sys.breakpoints(0.0, t1));
            bs.push(t1);
            let integral: f64 = bs.windows(2).map(|w| sys.rate(0.5 * (w[0] + w[1])) * (w[1] - w[0])).sum();
            let (tr, st5) = run_dp(&mut sys, 0.0, &[0.0], &[t1], &Tolerances::new(1e-6, 1e-9));
            assert!((tr[0].1[0] - integral).abs() < 1e-13, "dopri5 tau={tau}: {} vs {integral}", tr[0].1[0]);
            let (tr, _) = run_853(&mut sys, 0.0, &[0.0], &[t1], &Tolerances::new(1e-6, 1e-9));
            assert!((tr[0].1[0] - integral).abs() < 1e-13, "dop853 tau={tau}");
            let (tr, _) = run_rk4(&mut sys, 0.0, &[0.0], 0.37 * tau, &[t1]);
            assert!((tr[0].1[0] - integral).abs() < 1e-13, "rk4 tau={tau}");
            assert!(st5.rejected == 0, "{st5:?}");

            let mut sys = FloorLayers { tau, rates: rates.to_vec(), exponential: true };
            let exact = integral.exp();
            let (tr, st) = run_dp(&mut sys, 0.0, &[1.0], &[t1], &tight());
            assert!(rel(tr[0].1[0], exact) < 1e-10, "dopri5 exp tau={tau}: {:e} {st:?}", rel(tr[0].1[0], exact));
            let (tr, _) = run_853(&mut sys, 0.0, &[1.0], &[t1], &tight());
            assert!(rel(tr[0].1[0], exact) < 1e-10, "dop853 exp tau={tau}");
        }
    }

    #[test]
    fn nearly_coincident_breakpoints_are_merged() {
        // Two "heads" switching at the same boundary computed two ways: 0.3 and 3·0.1 (1 ulp apart).
        struct TwoHeads {
            both: bool,
        }
        impl OdeSystem for TwoHeads {
            fn dim(&self) -> usize {
                1
            }
            fn rhs(&mut self, t: f64, _y: &[f64], dy: &mut [f64]) {
                let a = if t < 0.3 { 1.0 } else { -2.0 };
                let b = if (t / 0.1).floor() < 3.0 { 0.5 } else { 4.0 };
                dy[0] = a + b;
            }
            fn breakpoints(&self, _t0: f64, _t1: f64) -> Vec<f64> {
                if self.both {
                    vec![3.0 * 0.1, 0.3]
                } else {
                    vec![0.3]
                }
            }
        }
        assert_ne!(3.0 * 0.1, 0.3);
        let exact = 1.5 * 0.3 + 2.0 * 0.7;
        let mut dp_stats = Vec::new();
        for both in [true, false] {
            let (tr, st) = run_dp(&mut TwoHeads { both }, 0.0, &[0.0], &[1.0], &Tolerances::default());
            println!("two heads (both={both}): {st:?}, err {:e}", tr[0].1[0] - exact);
            assert!((tr[0].1[0] - exact).abs() < 1e-14);
            assert_eq!(st.rejected, 0);
            dp_stats.push(st);
            let (tr, st) = run_rk4(&mut TwoHeads { both }, 0.0, &[0.0], 0.25, &[1.0]);
            assert!((tr[0].1[0] - exact).abs() < 1e-14);
            assert_eq!(st.steps, 5);
        }
        assert_eq!(dp_stats[0], dp_stats[1], "no sliver step between the two breakpoints");
    }

    #[test]
    fn breakpoint_at_t0_uses_right_limit() {
        // With the (a, b] convention, f(1) is the left piece; starting at the breakpoint t0 = 1
        // must use the right piece.
        struct S;
        impl OdeSystem for S {
            fn dim(&self) -> usize {
                1
            }
            fn rhs(&mut self, t: f64, _y: &[f64], dy: &mut [f64]) {
                dy[0] = if t <= 1.0 { 1.0 } else { -2.0 };
            }
            fn breakpoints(&self, _t0: f64, _t1: f64) -> Vec<f64> {
                vec![1.0]
            }
        }
        let (tr, _) = run_dp(&mut S, 1.0, &[1.0], &[2.0], &Tolerances::default());
        assert!((tr[0].1[0] + 1.0).abs() < 4.0 * f64::EPSILON);
        let (tr, _) = run_rk4(&mut S, 1.0, &[1.0], 0.25, &[2.0]);
        assert!((tr[0].1[0] + 1.0).abs() < 4.0 * f64::EPSILON);
    }

    #[test]
    fn many_breakpoints_smooth_pieces() {
        // y' = c_k y on [k/4, (k+1)/4) with alternating c; exact solution is a product of exps.
        struct Sched;
        impl OdeSystem for Sched {
            fn dim(&self) -> usize {
                1
            }
            fn rhs(&mut self, t: f64, y: &[f64], dy: &mut [f64]) {
                let k = (t * 4.0).floor() as i64;
                dy[0] = if k % 2 == 0 { 0.7 } else { -1.3 } * y[0];
            }
            fn breakpoints(&self, t0: f64, t1: f64) -> Vec<f64> {
                (1..40).map(|k| k as f64 * 0.25).filter(|&b| b > t0 && b < t1).collect()
            }
        }
        let (tr, st) = run_dp(&mut Sched, 0.0, &[1.0], &[3.0], &tight());
        let exact = (6.0 * 0.25 * 0.7 - 6.0 * 0.25 * 1.3f64).exp();
        let e = rel(tr[0].1[0], exact);
        println!("12 pieces: rel err {e:.2e}, {st:?}");
        assert!(e < 1e-11);
    }

    // ---- step counts and FSAL bookkeeping ----

    #[test]
    fn step_count_is_modest() {
        let (tr, st) = run_dp(&mut Decay, 0.0, &[1.0], &[10.0], &Tolerances::new(1e-8, 1e-8));
        println!("y'=-y to t=10 at rtol=atol=1e-8: {st:?}, rel err {:.2e}", rel(tr[0].1[0], (-10.0f64).exp()));
        assert!(st.steps < 80, "{st:?}");
        assert!(st.rejected <= 3, "{st:?}");
        let (_, st) = run_dp(&mut Decay, 0.0, &[1.0], &[10.0], &Tolerances::new(1e-8, 1e-12));
        println!("y'=-y to t=10 at rtol=1e-8, atol=1e-12: {st:?}");
        assert!(st.steps < 120, "{st:?}");
    }

    #[test]
    fn fsal_evaluation_counts() {
        // No projection: 1 (k1) + 1 (initial step probe) + 6 per attempt.
        let (_, st) = run_dp(&mut CosGrowth, 0.0, &[1.0], &[10.0], &Tolerances::new(1e-9, 1e-12));
        assert_eq!(st.rhs_evals, 2 + 6 * (st.steps + st.rejected), "{st:?}");
        // Projection that changes the state: one more evaluation per accepted step (except the last).
        let mut sys = osc(true);
        let (_, st) = run_dp(&mut sys, 0.0, &[1.0, 0.0], &[10.0], &Tolerances::new(1e-9, 1e-12));
        let base = 2 + 6 * (st.steps + st.rejected);
        println!("oscillator+projection, Recompute: {st:?}");
        assert!(st.rhs_evals < base + st.steps && st.rhs_evals >= base + st.steps / 2, "{st:?}");
        // ReuseWithinTolerance: the projection moves by far less than the tolerance, so FSAL is kept.
        let mut tr = Vec::new();
        let st = dopri5_with(
            &mut osc(true),
            0.0,
            &[1.0, 0.0],
            &[10.0],
            &Tolerances::new(1e-9, 1e-12),
            FsalPolicy::ReuseWithinTolerance,
            |t, y| tr.push((t, y.to_vec())),
        )
        .unwrap();
        println!("oscillator+projection, ReuseWithinTolerance: {st:?}");
        assert_eq!(st.rhs_evals, 2 + 6 * (st.steps + st.rejected));
        let y = &tr[0].1;
        assert!((y[0] - 10.0f64.cos()).abs() < 1e-7 && (y[1] + 10.0f64.sin()).abs() < 1e-7);
        // Off-manifold start: the first projection is large, so it is recomputed even under Reuse.
        let mut tr = Vec::new();
        let st = dopri5_with(
            &mut osc(true),
            0.0,
            &[2.0, 0.0],
            &[10.0],
            &Tolerances::new(1e-9, 1e-12),
            FsalPolicy::ReuseWithinTolerance,
            |t, y| tr.push((t, y.to_vec())),
        )
        .unwrap();
        assert_eq!(st.rhs_evals, 3 + 6 * (st.steps + st.rejected));
    }

    #[test]
    fn h_init_and_h_max_are_respected() {
        let tol = Tolerances { h_init: Some(1e-3), h_max: 0.05, ..Tolerances::new(1e-6, 1e-9) };
        let (tr, st) = run_dp(&mut Decay, 0.0, &[1.0], &[2.0], &tol);
        assert!(st.steps >= 40, "{st:?}");
        assert_eq!(st.rhs_evals, 1 + 6 * (st.steps + st.rejected));
        assert!(rel(tr[0].1[0], (-2.0f64).exp()) < 1e-7);
    }

    #[test]
    fn large_state_smoke() {
        // 25,000 decoupled decays with rates in [0.5, 1.5].
        struct Many(Vec<f64>);
        impl OdeSystem for Many {
            fn dim(&self) -> usize {
                self.0.len()
            }
            fn rhs(&mut self, _t: f64, y: &[f64], dy: &mut [f64]) {
                for ((d, y), l) in dy.iter_mut().zip(y).zip(&self.0) {
                    *d = -l * y;
                }
            }
        }
        let n = 25_000;
        let rates: Vec<f64> = (0..n).map(|i| 0.5 + i as f64 / n as f64).collect();
        let y0 = vec![1.0; n];
        let mut sys = Many(rates.clone());
        let (tr, st) = run_dp(&mut sys, 0.0, &y0, &[1.0, 2.0], &Tolerances::new(1e-9, 1e-12));
        let worst = tr[1].1.iter().zip(&rates).map(|(y, l)| rel(*y, (-2.0 * l).exp())).fold(0.0, f64::max);
        println!("25k state: {st:?}, worst rel err {worst:.2e}");
        assert!(worst < 1e-8);
    }

    // ---- errors ----

    #[test]
    fn nan_rhs_gives_nonfinite() {
        let r = dopri5(&mut NanAfter { t_bad: -1.0 }, 0.0, &[1.0], &[1.0], &tight(), |_, _| {});
        assert_eq!(r, Err(OdeError::NonFinite { t: 0.0 }));
        let r = dopri5(&mut NanAfter { t_bad: 0.5 }, 0.0, &[1.0], &[1.0], &tight(), |_, _| {});
        match r {
            Err(OdeError::NonFinite { t }) => assert!((0.3..=0.5).contains(&t), "t = {t}"),
            other => panic!("{other:?}"),
        }
        let r = rk4(&mut NanAfter { t_bad: 0.5 }, 0.0, &[1.0], 0.1, &[1.0], |_, _| {});
        assert_eq!(r, Err(OdeError::NonFinite { t: 6.0 * 0.1 }));
        let r = dopri5(&mut Decay, 0.0, &[f64::NAN], &[1.0], &tight(), |_, _| {});
        assert_eq!(r, Err(OdeError::NonFinite { t: 0.0 }));
        // A projection producing NaN is caught too.
        struct BadProj;
        impl OdeSystem for BadProj {
            fn dim(&self) -> usize {
                1
            }
            fn rhs(&mut self, _t: f64, _y: &[f64], dy: &mut [f64]) {
                dy[0] = 1.0;
            }
            fn project(&mut self, y: &mut [f64]) {
                y[0] = f64::NAN;
            }
        }
        assert!(matches!(dopri5(&mut BadProj, 0.0, &[1.0], &[1.0], &tight(), |_, _| {}), Err(OdeError::NonFinite { .. })));
        assert!(matches!(rk4(&mut BadProj, 0.0, &[1.0], 0.1, &[1.0], |_, _| {}), Err(OdeError::NonFinite { .. })));
    }

    #[test]
    fn blow_up_gives_step_too_small() {
        let r = dopri5(&mut BlowUp, 0.0, &[1.0], &[2.0], &Tolerances::new(1e-8, 1e-10), |_, _| {});
        println!("blow-up: {r:?}");
        match r {
            Err(OdeError::StepTooSmall { t, h }) => assert!((t - 1.0).abs() < 1e-6 && h > 0.0),
            Err(OdeError::NonFinite { t }) => assert!((t - 1.0).abs() < 1e-6),
            other => panic!("{other:?}"),
        }
    }

    /// A horizon whose time resolution (10·ε·t_end) exceeds the steps the problem needs is
    /// reported as such at once, not as a step size collapsing at t = 0 (the old message blamed
    /// stiffness or a blow-up).
    #[test]
    fn horizon_beyond_double_resolution_is_named() {
        for t_end in [1e308, 1e20] {
            let r = dopri5(&mut Decay, 0.0, &[1.0], &[t_end], &tight(), |_, _| {});
            assert!(matches!(r, Err(OdeError::HorizonTooLong { t, horizon, .. }) if t == 0.0 && horizon == t_end), "{r:?}");
            let r = dop853(&mut Decay, 0.0, &[1.0], &[t_end], &tight(), |_, _| {});
            assert!(matches!(r, Err(OdeError::HorizonTooLong { .. })), "{r:?}");
        }
    }

    #[test]
    fn max_steps_is_enforced() {
        let tol = Tolerances { max_steps: 5, ..tight() };
        let r = dopri5(&mut Decay, 0.0, &[1.0], &[100.0], &tol, |_, _| {});
        assert!(matches!(r, Err(OdeError::MaxSteps { t }) if t > 0.0 && t < 100.0), "{r:?}");
    }

    #[test]
    fn bad_arguments_are_rejected() {
        let bad_outs: [&[f64]; 4] = [&[0.5, 0.2], &[-0.1, 1.0], &[f64::NAN], &[1.0, f64::INFINITY]];
        for outs in bad_outs {
            let r = dopri5(&mut Decay, 0.0, &[1.0], outs, &tight(), |_, _| {});
            assert!(matches!(r, Err(OdeError::BadOutputTimes(_))), "{outs:?}: {r:?}");
            let r = rk4(&mut Decay, 0.0, &[1.0], 0.1, outs, |_, _| {});
            assert!(matches!(r, Err(OdeError::BadOutputTimes(_))), "{outs:?}: {r:?}");
        }
        let bp = |r: Result<Stats, OdeError>| assert!(matches!(r, Err(OdeError::BadParameter(_))), "{r:?}");
        bp(dopri5(&mut Decay, 0.0, &[1.0, 2.0], &[1.0], &tight(), |_, _| {}));
        bp(dopri5(&mut Decay, f64::NAN, &[1.0], &[1.0], &tight(), |_, _| {}));
        bp(dopri5(&mut Decay, 0.0, &[1.0], &[1.0], &Tolerances::new(1e-6, 0.0), |_, _| {}));
        bp(dopri5(&mut Decay, 0.0, &[1.0], &[1.0], &Tolerances::new(-1.0, 1e-6), |_, _| {}));
        bp(dopri5(&mut Decay, 0.0, &[1.0], &[1.0], &Tolerances { h_init: Some(0.0), ..tight() }, |_, _| {}));
        bp(dopri5(&mut Decay, 0.0, &[1.0], &[1.0], &Tolerances { h_max: 0.0, ..tight() }, |_, _| {}));
        bp(rk4(&mut Decay, 0.0, &[1.0], 0.0, &[1.0], |_, _| {}));
        bp(rk4(&mut Decay, 0.0, &[1.0], f64::NAN, &[1.0], |_, _| {}));
        bp(rk4(&mut Decay, 1e6, &[1.0], 1e-12, &[1e6 + 1.0], |_, _| {}));
        // Messages are readable.
        for e in [
            OdeError::NonFinite { t: 1.0 },
            OdeError::StepTooSmall { t: 1.0, h: 1e-17 },
            OdeError::HorizonTooLong { t: 0.0, h: 1e-3, horizon: 1e308 },
            OdeError::MaxSteps { t: 2.0 },
            OdeError::BadOutputTimes("x".into()),
            OdeError::BadParameter("y".into()),
        ] {
            let s = e.to_string();
            assert!(s.contains("ODE"), "{s}");
            let _: &dyn std::error::Error = &e;
        }
    }

    #[test]
    fn next_float_helpers() {
        for x in [0.0, -0.0, 1.0, -1.0, 1e-300, -3.5, 1e300] {
            let u = next_up(x);
            let d = next_down(x);
            assert!(u > x && d < x, "{x}");
            assert!(!(x < u && u < x) && ((u - x) <= x.abs() * f64::EPSILON || x.abs() < 1e-290));
            assert_eq!(next_down(u), if x == 0.0 { 0.0 } else { x });
        }
    }

    // ---- property test: linear systems vs. matrix exponential ----

    fn matmul(a: &[f64], b: &[f64], n: usize) -> Vec<f64> {
        let mut c = vec![0.0; n * n];
        for i in 0..n {
            for k in 0..n {
                for j in 0..n {
                    c[i * n + j] += a[i * n + k] * b[k * n + j];
                }
            }
        }
        c
    }

    /// exp(M) by Taylor series with scaling and squaring.
    fn expm(m: &[f64], n: usize) -> Vec<f64> {
        let norm1 = (0..n).map(|j| (0..n).map(|i| m[i * n + j].abs()).sum::<f64>()).fold(0.0, f64::max);
        let s = if norm1 > 0.125 { (norm1 / 0.125).log2().ceil() as i32 } else { 0 };
        let scale = 0.5f64.powi(s);
        let ms: Vec<f64> = m.iter().map(|v| v * scale).collect();
        let mut e = vec![0.0; n * n];
        let mut term = vec![0.0; n * n];
        for i in 0..n {
            e[i * n + i] = 1.0;
            term[i * n + i] = 1.0;
        }
        for k in 1..30 {
            term = matmul(&term, &ms, n);
            for v in term.iter_mut() {
                *v /= k as f64;
            }
            for (ei, ti) in e.iter_mut().zip(&term) {
                *ei += ti;
            }
        }
        for _ in 0..s {
            e = matmul(&e, &e, n);
        }
        e
    }

    #[test]
    fn expm_sanity() {
        // exp([[0, t], [-t, 0]]) is a rotation.
        let t = 2.3;
        let e = expm(&[0.0, t, -t, 0.0], 2);
        let want = [t.cos(), t.sin(), -t.sin(), t.cos()];
        for (a, b) in e.iter().zip(want) {
            assert!((a - b).abs() < 1e-14);
        }
    }

    fn linear_case() -> impl Strategy<Value = (usize, Vec<f64>, Vec<f64>, f64)> {
        (2usize..=4).prop_flat_map(|n| {
            (
                Just(n),
                prop::collection::vec(-1.0f64..1.0, n * n),
                prop::collection::vec(-1.0f64..1.0, n),
                0.1f64..3.0,
            )
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn linear_systems_match_matrix_exponential((n, a, y0, t1) in linear_case()) {
            let mut sys = Linear { n, a: a.clone() };
            let at: Vec<f64> = a.iter().map(|v| v * t1).collect();
            let e = expm(&at, n);
            let want: Vec<f64> = (0..n).map(|i| (0..n).map(|j| e[i * n + j] * y0[j]).sum()).collect();
            let scale = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
            let tol = Tolerances::new(1e-11, 1e-13);
            let mut got = Vec::new();
            let outs = [0.5 * t1, t1];
            let st = dopri5(&mut sys, 0.0, &y0, &outs, &tol, |_, y| got.push(y.to_vec())).unwrap();
            prop_assert_eq!(got.len(), 2);
            for i in 0..n {
                prop_assert!((got[1][i] - want[i]).abs() <= 1e-8 * scale,
                    "component {}: {} vs {} ({:?})", i, got[1][i], want[i], st);
            }
            // Dense output at the midpoint against exp(A t1 / 2).
            let half: Vec<f64> = a.iter().map(|v| v * 0.5 * t1).collect();
            let eh = expm(&half, n);
            for i in 0..n {
                let wi: f64 = (0..n).map(|j| eh[i * n + j] * y0[j]).sum();
                prop_assert!((got[0][i] - wi).abs() <= 1e-8 * scale);
            }
            // DOP853 too.
            let mut got8 = Vec::new();
            dop853(&mut Linear { n, a: a.clone() }, 0.0, &y0, &outs, &tol, |_, y| got8.push(y.to_vec())).unwrap();
            for i in 0..n {
                prop_assert!((got8[1][i] - want[i]).abs() <= 1e-8 * scale);
            }
            // RK4 with a small step is accurate too.
            let mut got4 = Vec::new();
            rk4(&mut Linear { n, a: a.clone() }, 0.0, &y0, 0.01, &[t1], |_, y| got4.push(y.to_vec())).unwrap();
            for i in 0..n {
                prop_assert!((got4[0][i] - want[i]).abs() <= 1e-6 * scale);
            }
        }
    }
}
