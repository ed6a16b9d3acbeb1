//! The float search of a campaign case (untrusted: it only proposes findings; a finding is
//! "observed" until `verify` accepts its certificate). The case is simulated on a geometric
//! time grid until the theorem's conclusion is decided or a horizon chosen from the system, and
//! classified.

use nalgebra::{DMatrix, SymmetricEigen};

use crate::model::{self, lyapunov, Kernel};
use crate::simulate::ode::Stats;
use crate::simulate::observe::observe;
use crate::simulate::Method;
use crate::system::System;

/// Below this `E` the tokens are at consensus (to double precision, for practical purposes).
pub const CONSENSUS: f64 = 1e-10;
/// A consensus point farther than this (in the 2-norm of unit directions) from the predicted
/// limit is a wrong limit.
pub const LIMIT_TOLERANCE: f64 = 1e-3;
/// A state whose tokens all move slower than this, with `E` above [`STALL_MISALIGNMENT`],
/// sits near a non-consensus equilibrium (an equilibrium for the predicted limit).
pub const STALL_SPEED: f64 = 1e-9;
/// Below this a token's speed is rounding noise (an exact equilibrium in floating point).
pub const ROUNDING_SPEED: f64 = 1e-14;
pub const STALL_MISALIGNMENT: f64 = 1e-4;
/// Step attempts (or layers) the search may spend on one case: a few milliseconds on small
/// systems.
/// A case that needs more is `slow`.
pub const STEP_BUDGET: u64 = 5_000;
/// A Lyapunov function rising by more than this (relative to `max(1, |V|)`) between two
/// observations has increased beyond the integration error.
pub const INCREASE_TOLERANCE: f64 = 1e-6;

/// What a case did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// As the theorem predicts.
    Converged,
    /// No verdict by the horizon: counted, never a finding.
    Slow,
    /// The theorem's Lyapunov function rose.
    LyapunovIncrease,
    /// Consensus, but not where the theorem says.
    WrongLimit,
    /// Near a non-consensus equilibrium.
    Stalled,
}

impl Class {
    pub const ALL: [Class; 5] = [Class::Converged, Class::Slow, Class::LyapunovIncrease, Class::WrongLimit, Class::Stalled];

    pub fn name(self) -> &'static str {
        match self {
            Class::Converged => "converged",
            Class::Slow => "slow",
            Class::LyapunovIncrease => "lyapunov-increase",
            Class::WrongLimit => "wrong-limit",
            Class::Stalled => "stalled",
        }
    }

    pub fn parse(s: &str) -> Option<Class> {
        Class::ALL.into_iter().find(|c| c.name() == s)
    }

    pub fn is_finding(self) -> bool {
        matches!(self, Class::LyapunovIncrease | Class::WrongLimit | Class::Stalled)
    }
}

/// The theorem's Lyapunov function, watched along the trajectory.
#[derive(Debug, Clone)]
pub enum Leading {
    /// `V_P` (Theorem 3.2) with head 1's constant `P`.
    Potential(Vec<Vec<f64>>),
    /// `max_i (1 − vᵀy_i)` (Theorem 4.1).
    Hemisphere(Vec<f64>),
    /// `V(a_2)`, `a_2 = û_1ᵀû_2` (Theorem 5.1, strict for token 2).
    Cascade,
    /// `1 − vᵀy_1` (Theorem 6.1).
    Eigen(Vec<f64>),
    None,
}

impl Leading {
    /// The certificate's name of the function (see `certificate::lyapunov::setup`).
    pub fn name(&self) -> Option<&'static str> {
        match self {
            Leading::Potential(_) => Some("V_P"),
            Leading::Hemisphere(_) => Some("V_hemisphere"),
            Leading::Cascade => Some("V_cascade_2"),
            Leading::Eigen(_) => Some("V_eigen_1"),
            Leading::None => None,
        }
    }

    fn value(&self, y: &[&[f64]]) -> Option<f64> {
        match self {
            Leading::Potential(p) => Some(lyapunov::potential(p, y)),
            Leading::Hemisphere(v) => Some(lyapunov::hemisphere(v, y)),
            Leading::Cascade if y.len() >= 2 => Some(lyapunov::cascade(dot(&unit(y[0]), &unit(y[1])))),
            Leading::Eigen(v) => Some(lyapunov::eigen(v, y[0])),
            _ => None,
        }
    }
}

/// Where the theorem says the tokens go.
#[derive(Debug, Clone)]
pub enum Limit {
    None,
    /// Any consensus (Theorem 4.1), inside the open hemisphere of `v`.
    Hemisphere(Vec<f64>),
    /// This unit direction (Theorem 5.1: `y_1(0)`; Theorem 6.1: `±v`).
    Direction(Vec<f64>),
}

/// What to watch in a case of `theorem`.
#[derive(Debug, Clone)]
pub struct Watch {
    pub leading: Leading,
    pub limit: Limit,
    /// Whether the theorem predicts consensus (so a stall is a finding); Theorem 3.2 predicts
    /// only an equilibrium.
    pub consensus: bool,
    /// The horizon: thirty time constants of the slowest predicted motion, between 50 and 3000.
    pub horizon: f64,
    /// The time after which the tokens must be at the predicted limit: thirty time constants of
    /// the slowest motion toward it (Theorem 6.1: token 1 moves toward `v` at the rate
    /// `α_11·(λ1 − y_1ᵀUy_1)`, and under causal attention `α_11 = 1/sqrt(d)` per head, whatever
    /// `P`, so the eigenvalue gap sets it). A consensus elsewhere is a wrong limit only after it.
    pub settle: f64,
}

impl Watch {
    pub fn new(theorem: &str, sys: &System) -> Watch {
        let y0 = model::initial_state(sys);
        let first = unit(y0.column(0).as_slice());
        // Thirty time constants, plus the ln(1e12) ≈ 28 it takes to leave an unstable
        // equilibrium from 1e-12 away (the smallest margin the generators plant).
        let attention = 58.0 / attention_rate(sys);
        let (leading, limit, consensus, settle) = match theorem {
            "3.2" => {
                let p = &sys.heads[0].p;
                let leading = if p.is_constant() { Leading::Potential(rows(&p.eval(0.0, sys.dim))) } else { Leading::None };
                (leading, Limit::None, false, 0.0)
            }
            "4.1" => match sys.hemisphere.as_ref().map(|v| unit(&v.iter().map(|l| l.value).collect::<Vec<_>>())) {
                Some(v) => (Leading::Hemisphere(v.clone()), Limit::Hemisphere(v), true, 0.0),
                None => (Leading::None, Limit::None, true, 0.0),
            },
            // Token 1 never moves under Theorem 5.1's hypotheses: the limit is known at once.
            "5.1" => (Leading::Cascade, Limit::Direction(first), true, 0.0),
            _ => match top_direction(&sys.heads[0].u.eval(0.0, sys.dim), &y0) {
                Some((v, gap)) => {
                    let alpha = match sys.normalization {
                        crate::system::Normalization::Paper => sys.heads.len() as f64 / (sys.dim as f64).sqrt(),
                        crate::system::Normalization::Softmax => sys.heads.len() as f64,
                    };
                    // `b = vᵀy_1` grows like `b(0)·e^{rate·t}` while small: leaving the
                    // neighbourhood of the equator takes `ln(1/b(0))` time constants more.
                    let b0 = dot(&v, &first).abs().max(1e-300);
                    (Leading::Eigen(v.clone()), Limit::Direction(v), true, (30.0 + (1.0 / b0).ln()) / (alpha * gap).max(1e-300))
                }
                None => (Leading::None, Limit::None, true, f64::INFINITY),
            },
        };
        Watch { leading, limit, consensus, horizon: attention.max(settle).clamp(50.0, 3000.0), settle }
    }
}

/// The float unit top eigenvector of the symmetric part of `u`, on the tokens' side (signed so
/// that `Σ_i vᵀy_i(0) ≥ 0`, as the theorem's `v`), and the gap `λ1 − λ2`. `None` when the top
/// eigenvalue is not simple in floating point.
fn top_direction(u: &DMatrix<f64>, y0: &DMatrix<f64>) -> Option<(Vec<f64>, f64)> {
    let sym = (u + u.transpose()) * 0.5;
    let eig = SymmetricEigen::new(sym);
    let mut order: Vec<usize> = (0..eig.eigenvalues.len()).collect();
    order.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
    let gap = order.get(1).map_or(f64::INFINITY, |&k| eig.eigenvalues[order[0]] - eig.eigenvalues[k]);
    if !(gap > 1e-13 * eig.eigenvalues[order[0]].abs().max(1.0)) {
        return None;
    }
    let mut v: Vec<f64> = eig.eigenvectors.column(order[0]).iter().copied().collect();
    let side: f64 = y0.column_iter().map(|y| y.iter().zip(&v).map(|(a, b)| a * b).sum::<f64>()).sum();
    if side < 0.0 {
        v.iter_mut().for_each(|x| *x = -*x);
    }
    Some((v, gap))
}

fn rows(m: &DMatrix<f64>) -> Vec<Vec<f64>> {
    m.row_iter().map(|r| r.iter().copied().collect()).collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn unit(a: &[f64]) -> Vec<f64> {
    let m = a.iter().fold(0.0_f64, |m, x| m.max(x.abs()));
    if m == 0.0 {
        return a.to_vec();
    }
    let n = a.iter().map(|x| (x / m) * (x / m)).sum::<f64>().sqrt() * m;
    a.iter().map(|x| x / n).collect()
}

/// Below this attention weight between tokens in different directions the tokens hardly
/// interact: a still state there is slow, not stalled.
pub const MIN_COUPLING: f64 = 1e-8;

/// The largest attention weight (summed over heads) between two visible tokens whose
/// directions are not parallel or antiparallel; `∞` when there is no such pair. An exact
/// equilibrium of parallel and antiparallel tokens (an antipode) is a genuine stall whatever
/// its weights; tokens in other directions that stay still while *every* weight between them is
/// below [`MIN_COUPLING`] are only decoupled (a saturated softmax: scores y_iᵀPy_j far apart,
/// as a W with a tiny eigenvalue makes them). Softmax computed stably (shifted by the maximum).
fn coupling(sys: &System, t: f64, y: &[&[f64]]) -> f64 {
    let causal = sys.attention == crate::system::Attention::Causal;
    let l = y.len();
    let dirs: Vec<Vec<f64>> = y.iter().map(|yi| unit(yi)).collect();
    let ps: Vec<DMatrix<f64>> = sys.heads.iter().map(|h| h.p.eval(t, sys.dim)).collect();
    let mut weight = vec![vec![0.0; l]; l];
    for p in &ps {
        for i in 0..l {
            let visible = if causal { i + 1 } else { l };
            let s: Vec<f64> = (0..visible).map(|j| (0..sys.dim).map(|r| y[i][r] * (0..sys.dim).map(|c| p[(r, c)] * y[j][c]).sum::<f64>()).sum()).collect();
            let top = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let total: f64 = s.iter().map(|x| (x - top).exp()).sum();
            for j in 0..visible {
                weight[i][j] += (s[j] - top).exp() / total;
            }
        }
    }
    let mut best = f64::NEG_INFINITY;
    for i in 0..l {
        for j in 0..l {
            if i != j && 1.0 - dot(&dirs[i], &dirs[j]).abs() > 1e-9 {
                best = best.max(weight[i][j]);
            }
        }
    }
    if best == f64::NEG_INFINITY {
        f64::INFINITY
    } else {
        best
    }
}

/// What the search saw.
#[derive(Debug, Clone)]
pub struct Observation {
    pub class: Class,
    /// The time the case was decided (or the horizon).
    pub t_end: f64,
    pub horizon: f64,
    /// `E` at `t_end`.
    pub misalignment: f64,
    /// The leading Lyapunov function's name and value at `t_end`.
    pub lyapunov: Option<(&'static str, f64)>,
    /// The largest rise of the leading function between two observations (negative when it
    /// only fell): how near the case came to a Lyapunov finding.
    pub worst_rise: f64,
    /// The largest `V(t) − V(0)` seen and where (what a certificate of the increase can prove).
    pub rise_from_start: (f64, f64),
    /// Distance of the consensus point from the predicted limit (unit directions), if reached.
    pub limit_distance: Option<f64>,
    /// The largest token speed `|ẏ_i|` at `t_end`.
    pub speed: f64,
    pub stats: Stats,
    /// At `t_end`: still, `E` bounded away from 0, and slowing down.
    pub settling: bool,
}

/// The time grid: 0, 0.05, 0.1, 0.2, … doubling, up to the horizon (included).
pub fn grid(horizon: f64) -> Vec<f64> {
    let mut t = vec![0.0];
    let mut x = 0.05;
    while x < horizon {
        t.push(x);
        x *= 2.0;
    }
    t.push(horizon);
    t
}

/// The contraction rate of the attention, about `ℓ·c_1` with Lemma 4.1's lower bound
/// `c_1 = 1/(sqrt(d)·ℓ·exp(2K²b))` of every weight (`K² = 1/λ_min(W)`). `b` is estimated from
/// `‖P(t)‖_F` at a few times: a float estimate, since the horizon only needs the right scale,
/// and a case it cuts short is `slow`, never a finding.
fn attention_rate(sys: &System) -> f64 {
    // The bound is a worst case (every score at ±b); the exponent is capped at 10 so that large
    // `‖P‖` gives a long horizon, not an astronomical one.
    let b = sys
        .heads
        .iter()
        .flat_map(|h| [0.0, 0.37, 1.3, 2.9, 7.7].map(|t| h.p.eval(t, sys.dim).norm()))
        .fold(0.0_f64, f64::max);
    let lambda_min = SymmetricEigen::new(sys.metric_f64()).eigenvalues.iter().copied().fold(f64::INFINITY, f64::min).max(1e-12);
    1.0 / ((sys.dim as f64).sqrt() * (2.0 * b / lambda_min).min(10.0).exp())
}

/// Simulates and classifies one case.
pub fn search(sys: &System, watch: &Watch, method: Method, horizon: f64) -> crate::error::Result<Observation> {
    let first = search_within(sys, watch, method, horizon, STEP_BUDGET)?;
    // Settling into a non-consensus state (still, E bounded away, slowing down) but not yet
    // at rounding-level speed: a stable equilibrium approached at a slow rate. Give it four
    // times the time and steps (rare: the cost of the campaign is in the other cases).
    if first.class == Class::Slow && first.settling {
        return search_within(sys, watch, method, 4.0 * horizon, 4 * STEP_BUDGET);
    }
    Ok(first)
}

fn search_within(sys: &System, watch: &Watch, method: Method, horizon: f64, budget: u64) -> crate::error::Result<Observation> {
    let horizon = horizon.max(f64::MIN_POSITIVE);
    let mut kernel = Kernel::new(sys);
    let mut obs = Observation {
        class: Class::Slow,
        t_end: 0.0,
        horizon,
        misalignment: f64::NAN,
        lyapunov: None,
        worst_rise: f64::NEG_INFINITY,
        rise_from_start: (f64::NEG_INFINITY, 0.0),
        limit_distance: None,
        speed: f64::NAN,
        stats: Stats::default(),
        settling: false,
    };
    let mut prev: Option<f64> = None;
    let mut last_speed = f64::INFINITY;
    let mut start: Option<f64> = None;
    let mut dy = DMatrix::zeros(sys.dim, sys.tokens);
    let mut stalled_speed: Option<f64> = None;
    let (stats, _end) = observe(sys, method, &grid(horizon), budget, |t, y| {
        let toks: Vec<&[f64]> = y.as_slice().chunks(sys.dim).collect();
        let e = lyapunov::misalignment(&toks).max(0.0);
        kernel.rhs(t, y, &mut dy);
        let speed = dy.column_iter().map(|c| c.norm()).fold(0.0, f64::max);
        obs.t_end = t;
        obs.misalignment = e;
        obs.speed = speed;
        obs.settling = e > STALL_MISALIGNMENT && speed < 1e-6 && speed < last_speed;
        last_speed = speed;
        if let Some(v) = watch.leading.value(&toks) {
            obs.lyapunov = watch.leading.name().map(|n| (n, v));
            let v0 = *start.get_or_insert(v);
            if v - v0 > obs.rise_from_start.0 {
                obs.rise_from_start = (v - v0, t);
            }
            if let Some(p) = prev {
                let rise = (v - p) / p.abs().max(1.0);
                obs.worst_rise = obs.worst_rise.max(rise);
                if rise > INCREASE_TOLERANCE {
                    obs.class = Class::LyapunovIncrease;
                    return false;
                }
            }
            prev = Some(v);
        }
        // The farthest token from a predicted direction (consensus may come long before the
        // cluster reaches it: Theorem 6.1's drift toward v goes with the eigenvalue gap).
        let dist = match &watch.limit {
            Limit::Direction(v) => {
                let d = toks.iter().map(|y| unit(y).iter().zip(v).map(|(a, b)| (a - b) * (a - b)).sum::<f64>().sqrt()).fold(0.0, f64::max);
                obs.limit_distance = Some(d);
                d
            }
            _ => 0.0,
        };
        if e < CONSENSUS {
            let decided = match &watch.limit {
                Limit::None => Some(Class::Converged),
                Limit::Hemisphere(v) => Some(if dot(v, &unit(toks[0])) < -LIMIT_TOLERANCE { Class::WrongLimit } else { Class::Converged }),
                Limit::Direction(_) => (dist < LIMIT_TOLERANCE).then_some(Class::Converged),
            };
            if let Some(c) = decided {
                obs.class = c;
                return false;
            }
            // At consensus away from the predicted direction: a wrong limit once the drift
            // toward it has had its thirty time constants; if the horizon cannot give them (a
            // tiny eigenvalue gap), nothing more will be decided.
            if t >= watch.settle {
                obs.class = Class::WrongLimit;
                return false;
            }
            if watch.settle > horizon {
                return false;
            }
        }
        // Tokens that no longer move: an equilibrium. Theorem 3.2 predicts one; the others
        // predict consensus, so one far from it is a stall, and a consensus away from the
        // predicted direction is a wrong limit, but only where the horizon covers the slowest
        // predicted drift (else it may still be drifting there: slow).
        let still = speed < STALL_SPEED && t > 0.0;
        if still && !watch.consensus {
            obs.class = Class::Converged;
            return false;
        }
        if still && dist > LIMIT_TOLERANCE && e <= STALL_MISALIGNMENT && t >= watch.settle {
            obs.class = Class::WrongLimit;
            return false;
        }
        // A stall must not be an escape in slow motion: a state ε from an *unstable*
        // equilibrium (a token 1e-9 from the antipode of y_1) creeps at about r·ε for ln(1/ε)/r,
        // longer than any horizon when the attention weight r is tiny, and a time-varying P
        // hides the growth. Only rounding noise is conclusive: an exact equilibrium in floating
        // point, or a stable one reached. Rounding-level speed at two successive observations,
        // E bounded away from 0: stalled.
        // Rounding-level speed is also what a saturated softmax gives (every weight between
        // distinct tokens e^{-30}, a W with a tiny eigenvalue): there the tokens are coupled too
        // weakly to move, not at an equilibrium. Only coupled tokens can stall.
        let stall = speed <= ROUNDING_SPEED && t > 0.0 && e > STALL_MISALIGNMENT && coupling(sys, t, &toks) >= MIN_COUPLING;
        if stall && stalled_speed.is_some() {
            obs.class = Class::Stalled;
            return false;
        }
        stalled_speed = stall.then_some(speed);
        true
    })?;
    obs.stats = stats;
    Ok(obs)
}
