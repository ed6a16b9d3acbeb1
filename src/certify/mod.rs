//! The certificate producer behind `attncert certify` (untrusted: `verify` re-checks all it
//! writes). It chooses step sizes, builds a-priori boxes by inflation, steps over kinks and
//! layer boundaries with order-1 steps, and decides when to stop; the enclosures themselves
//! are the trusted formulas of `certificate::flow`, so the checker recomputes exactly what is
//! recorded.

use std::time::Instant;

use inari::Interval;

use crate::certificate::flow::{self, Dynamics, Image, Linear, Set};
use crate::certificate::lyapunov::{self, Functions};
use crate::certificate::{self as format, BoxSet, Certificate, Claim, ClaimKind, Producer, Step, SystemSource, FORMAT, VERSION};
use crate::error::{Error, Result};
use crate::hypothesis::{verdict::Verdict, Context};
use crate::system::System;
use crate::theorem;

/// What to certify and how hard to try.
#[derive(Debug, Clone)]
pub struct Options {
    pub theorem: String,
    /// Stop at this time.
    pub until: f64,
    /// Stop earlier, once `E(y(t)) ≤` this is proved.
    pub until_misalignment: Option<f64>,
    /// Half-width of the initial box around the exact tokens.
    pub radius: f64,
    /// Taylor order of the steps (2 ..= 23).
    pub order: u32,
    /// Taylor order of the variational matrix in the end enclosures (1 ..= order): the
    /// wrapping of the enclosure grows like `h^(q+1)` per step, its cost like `q²`.
    pub variational_order: u32,
    /// Allowed growth of the enclosure width per unit time, from truncation and wrapping;
    /// `None`: a fraction of the set's own width (see [`budget_rate`]).
    pub tolerance: Option<f64>,
    /// Give up after this many steps.
    pub max_steps: usize,
    /// The set representation of step ends.
    pub sets: Sets,
    /// Also claim the lower bounds the enclosure proves at `T` (`E ≥ b > 0`, each function
    /// `≥ b`, increases `F(T) − F(0) ≥ b > 0`): for counterexamples.
    pub lower_bounds: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { theorem: "3.2".into(), until: 10.0, until_misalignment: None, radius: 0.0, order: 12, variational_order: 8, tolerance: None, max_steps: 200_000, sets: Sets::Auto, lower_bounds: false }
    }
}

/// Certifies `sys` (read from `source`). Fails only on unusable options or a theorem without
/// Lyapunov function for this system; a flow that cannot be enclosed further gives a partial
/// certificate whose `producer.stop` says why and when.
pub fn certify(sys: &System, source: SystemSource, opts: &Options, mut progress: impl FnMut(f64)) -> Result<Certificate> {
    let started = Instant::now();
    if !(opts.until.is_finite() && opts.until > 0.0) {
        return Err(Error::Usage(format!("--until must be a positive time, got {}", opts.until)));
    }
    if !(opts.radius.is_finite() && opts.radius >= 0.0) {
        return Err(Error::Usage(format!("--radius must be ≥ 0, got {}", opts.radius)));
    }
    if !(1..crate::numeric::jet::MAX_LEN as u32).contains(&opts.variational_order) {
        return Err(Error::Usage(format!("--variational-order must be in 1..={}, got {}", crate::numeric::jet::MAX_LEN - 1, opts.variational_order)));
    }
    if !(2..crate::numeric::jet::MAX_LEN as u32).contains(&opts.order) {
        return Err(Error::Usage(format!("--order must be in 2..={}, got {}", crate::numeric::jet::MAX_LEN - 1, opts.order)));
    }
    // Each layer boundary costs at least two steps (one up to it, an order-1 step across):
    // refuse up front what cannot fit in --max-steps rather than stop after hours.
    let boundaries = sys.layer_boundaries_before(opts.until);
    if 2.0 * boundaries > opts.max_steps as f64 {
        return Err(Error::Usage(format!(
            "the layer schedule has about {boundaries:.3e} boundaries before t = {}, and certifying needs at least two steps per boundary: more than --max-steps {} (use a shorter --until, a larger layer_time, or raise --max-steps)",
            opts.until, opts.max_steps
        )));
    }
    // A certificate embeds the system file's text and `verify` re-reads only that: factors in a
    // side file would not travel with it.
    if sys.heads.iter().any(|h| h.p.uses_tensor_file() || h.u.uses_tensor_file()) {
        return Err(Error::Usage(
            "certify does not support matrices whose factors are read from tensor files (an imported model): a certificate embeds only the system file's text; use check and simulate".into(),
        ));
    }
    let spec = theorem::all()?
        .into_iter()
        .find(|s| s.id == opts.theorem)
        .ok_or_else(|| Error::Usage(format!("unknown theorem '{}'", opts.theorem)))?;
    let verdict = theorem::run(&Context::new(sys), &spec).verdict;
    let funcs = lyapunov::setup(sys, &opts.theorem, verdict == Verdict::Holds, opts.radius).map_err(|e| Error::Usage(format!("cannot certify: {e}")))?;
    let dy = Dynamics::new(sys).map_err(Error::Numerical)?;
    // Framed sets cost the checker O(n³) per step (`flow::check_set_cost`): in systems too large
    // for that, every step ends in a box, which the checker accepts at any size.
    let n = dy.len();
    let resolved;
    let opts = if opts.sets == Sets::Auto {
        resolved = Options { sets: auto_sets(opts), ..opts.clone() };
        &resolved
    } else {
        opts
    };
    let boxed;
    let columns = if opts.sets == Sets::Doubleton { 2 * n } else { n };
    let opts = if opts.sets != Sets::Box && flow::check_frame_cost(n, columns, "framed").is_err() {
        boxed = Options { sets: Sets::Box, ..opts.clone() };
        &boxed
    } else {
        opts
    };
    let initial = dy.initial(opts.radius).map_err(Error::Numerical)?;
    let mut set = Set::from_box(initial.clone());
    let mut steps = Vec::new();
    let mut t = 0.0;
    let mut h = 0.05_f64.min(opts.until);
    // Framed sets with the width-following budget end up at the option's order within a few
    // steps (measured: 7.1 at r = 1e-6 climbs 3 → 8 in 5 retried steps, a quarter of the run
    // at T = 1): start there, `advance` lowers it when the wrapping allows. Boxes and fixed
    // budgets start low, as the golden certificates always did.
    let mut q = if opts.sets == Sets::Box || opts.tolerance.is_some() || claim_floor(opts).is_some() { opts.variational_order.min(3) } else { opts.variational_order.min(opts.order) };
    while q > 3 && flow::check_step_cost(&dy, opts.order, q).is_err() {
        q -= 1;
    }
    // The checker refuses steps beyond its work budget: say so now, not after the first step.
    flow::check_step_cost(&dy, opts.order, q).map_err(|e| Error::Usage(format!("cannot certify: {e} (lower --order)")))?;
    // Order-1 steps are meant for single kinks and layer boundaries; a long run of them means
    // the Taylor enclosure fails everywhere (e.g. attention scores whose exponentials leave the
    // double range), and would crawl on in steps of 1e-9 until --max-steps.
    let mut first_order_run = 0usize;
    let stop = loop {
        if first_order_run >= MAX_FIRST_ORDER_RUN {
            break format!("the Taylor enclosure failed at every step from t = {t} on ({MAX_FIRST_ORDER_RUN} first-order steps in a row; are the attention scores y_iᵀPy_j beyond exp's double range?)");
        }
        if t >= opts.until {
            break format!("reached t = {}", opts.until);
        }
        if let Some(eps) = opts.until_misalignment {
            if lyapunov::misalignment(&dy.tokens(&set.hull())).sup() <= eps {
                break format!("E ≤ {eps:e} proved at t = {t}");
            }
        }
        if steps.len() >= opts.max_steps {
            break format!("stopped after {} steps at t = {t} (--max-steps)", steps.len());
        }
        match advance(&dy, &funcs, opts, t, &set, (h, q)) {
            Ok((step, next, next_h, next_q)) => {
                t = step.t1;
                set = next;
                (h, q) = (next_h, next_q);
                first_order_run = if step.order == 1 { first_order_run + 1 } else { 0 };
                steps.push(step);
                progress(t);
            }
            Err(why) => break format!("the enclosure could not be continued past t = {t}: {why}"),
        }
    };
    let mut claims = claims(&dy, &funcs, &steps, &set.hull());
    if opts.lower_bounds {
        claims.extend(lower_claims(&dy, &funcs, &steps, (&initial, &set.hull())));
    }
    Ok(Certificate {
        format: FORMAT.into(),
        version: VERSION,
        theorem: opts.theorem.clone(),
        system: source,
        verdict: verdict.as_str().into(),
        radius: opts.radius,
        lyapunov: funcs.names.clone(),
        producer: Producer {
            program: format!("attncert {}", env!("CARGO_PKG_VERSION")),
            method: format!(
                "interval Taylor order {} with a mean-value (Lohner) form of variational order {}, {:?} sets, tolerance {}",
                opts.order,
                opts.variational_order.min(opts.order),
                opts.sets,
                opts.tolerance.map_or_else(
                    || match claim_floor(opts) {
                        Some(f) => format!("{KAPPA:e} × the set's width (at least {f:e}, from the claims' margin) per unit time"),
                        None => format!("{KAPPA:e} × the set's width (at least {WIDTH_FLOOR:e}) per unit time"),
                    },
                    |t| format!("{t:e}")
                )
            ),
            stop,
            seconds: started.elapsed().as_secs_f64(),
        },
        steps,
        claims,
    })
}

fn to_boxset(v: &[Interval]) -> Option<BoxSet> {
    v.iter().all(|x| x.inf().is_finite() && x.sup().is_finite()).then(|| BoxSet::plain(v.iter().map(|x| x.inf()).collect(), v.iter().map(|x| x.sup()).collect()))
}

/// The recorded form of a set.
fn to_record(s: &Set) -> Option<BoxSet> {
    let mut b = to_boxset(&s.r)?;
    if let Some(m) = &s.b {
        b.center = Some(s.x.clone());
        b.matrix = Some(m.concat());
    }
    if let Some(l) = &s.lin {
        let u = to_boxset(&l.u)?;
        b.linear = Some(format::Linear { matrix: l.c.concat(), lo: u.lo, hi: u.hi });
    }
    Some(b)
}

/// Which set represents the end of a step (the wrapping-effect control).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sets {
    /// Axis-aligned boxes.
    Box,
    /// Parallelepipeds `x + B·r` with `B = mid(M·B_prev)`.
    Parallelepiped,
    /// Lohner's QR method: `B` the orthogonal factor of `mid(M·B_prev)`, columns pivoted.
    Qr,
    /// Lohner's doubleton `x + C·u + B·r`: `C = mid(M·C_prev)` carries the initial box `u`
    /// (never re-wrapped), `B` (QR, columns pivoted) the errors accumulated in `r`.
    Doubleton,
    /// The default: boxes for a point set run to a misalignment target (see [`auto_sets`]),
    /// doubletons otherwise.
    Auto,
}

/// What [`Sets::Auto`] means for a run. A point set (`--radius 0`) run to `E ≤ ε` has only
/// the steps' own errors to carry, and its budget is the claims' ([`claim_floor`]), far above
/// the set's width: there is no initial box to keep apart from them, and a doubleton would
/// record two `n×n` matrices per step for nothing (measured on Section 7.1–7.3 to `E ≤ 1e-6`,
/// README Certificates: boxes give the same steps and claims in files 15–80× smaller). Boxes
/// of initial states, and point sets without a target (whose enclosure is wanted as tight as
/// rounding allows: `--until 1 --radius 0` on 7.1, 2.2e-13 with doubletons against 4.6e-13
/// with boxes), keep doubletons.
pub fn auto_sets(opts: &Options) -> Sets {
    if opts.radius == 0.0 && opts.until_misalignment.is_some() {
        Sets::Box
    } else {
        Sets::Doubleton
    }
}

/// The orthogonal factor of the QR factorisation of `a` with its columns taken in decreasing
/// order of `|a_j|·w_j` (`w` the widths of the coefficients they multiply): the first column
/// of `Q` follows the set's longest edge, which keeps the box in `Q`'s frame tight (Lohner's
/// pivoting). Any orthogonal-ish `Q` is sound: the checker inverts it rigorously.
fn pivoted_q(a: &nalgebra::DMatrix<f64>, w: &[f64]) -> nalgebra::DMatrix<f64> {
    let n = a.nrows();
    let mut order: Vec<usize> = (0..a.ncols()).collect();
    let len = |j: usize| a.column(j).norm() * w.get(j).copied().unwrap_or(1.0);
    order.sort_by(|&i, &j| len(j).total_cmp(&len(i)));
    let sorted = nalgebra::DMatrix::from_fn(n, a.ncols(), |i, k| a[(i, order[k])]);
    sorted.qr().q()
}

fn rows(a: &nalgebra::DMatrix<f64>) -> Vec<Vec<f64>> {
    (0..a.nrows()).map(|i| (0..a.ncols()).map(|j| a[(i, j)]).collect()).collect()
}

/// The end set of a step from the image of the start set.
fn end_set(img: &Image, sets: Sets) -> std::result::Result<Set, String> {
    let mb = match (&img.mb, sets) {
        (Some(mb), Sets::Parallelepiped | Sets::Qr | Sets::Doubleton) => mb,
        _ => return Ok(Set::from_box(img.hull())),
    };
    let n = img.c.len();
    let k = img.coeff.len();
    let x: Vec<f64> = img.c.iter().map(|c| c.mid()).collect();
    let mid = |cols: std::ops::Range<usize>| nalgebra::DMatrix::from_fn(n, cols.len(), |i, j| mb[i][cols.start + j].mid());
    let widths: Vec<f64> = img.coeff.iter().map(|c| c.wid()).collect();
    let mut end = match sets {
        Sets::Doubleton => {
            // The errors' frame: pivoted QR of their images when the start was a doubleton
            // (columns n..2n), the identity after a box or parallelepiped start.
            let b = if k > n { pivoted_q(&mid(n..k), &widths[n..]) } else { nalgebra::DMatrix::identity(n, n) };
            let lin = Linear { c: rows(&mid(0..n)), u: img.linear_box().unwrap_or_default() };
            Set { x, b: Some(rows(&b)), r: vec![], lin: Some(lin) }
        }
        Sets::Qr => Set { x, b: Some(rows(&pivoted_q(&mid(0..k), &widths))), r: vec![], lin: None },
        _ => Set { x, b: Some(rows(&mid(0..k))), r: vec![], lin: None },
    };
    end.r = flow::coordinates(img, &end)?;
    Ok(end)
}

/// The default growth allowed per unit time, as a fraction of the set's width: the errors a
/// step adds (truncation, wrapping) stay about `KAPPA·T` of the width over a horizon
/// `T ≤ KAPPA_HORIZON` (measured: within 1.02× of the true width at `T ≤ 5` on Section 7.1,
/// README Tightness).
pub const KAPPA: f64 = 1e-3;

/// Past this horizon the rate shrinks like `KAPPA·KAPPA_HORIZON/T`, so that the steps' share
/// of the final width stays about `KAPPA·KAPPA_HORIZON` however long the run (measured on 7.1
/// at `T = 20`, r = 1e-6: 1.13× the true width at the full rate, 1.10× at a quarter of it).
pub const KAPPA_HORIZON: f64 = 5.0;

/// The width below which the default tolerance stops shrinking (point sets, `--radius 0`):
/// a few hundred ulps of the unit-norm tokens, where rounding, not truncation, dominates.
pub const WIDTH_FLOOR: f64 = 1e-13;

/// The share of a misalignment target `ε` (`--until-misalignment`) the default budget may
/// spend per unit time (see [`claim_floor`]).
pub const CLAIM_SHARE: f64 = 0.1;

/// The least growth per unit time the claims can absorb, when the run has a target: with
/// `E ≤ ε` to prove, `CLAIM_SHARE·ε`. Why that is safe: `E`'s enclosure over a hull of width
/// `w` exceeds `E` by about `√(2E)·w`, and the width the steps accumulate is that rate times
/// the horizon times the wrapping's amplification (measured ≤ 20× for boxes on Section 7.1
/// over `t ≤ 20`), so at `E ≈ ε = 1e-6` the final width is ~`3e-5` and costs `E` ~`4e-8`, a
/// few percent of `ε`; the other claims (`V` non-increasing, the values at `T`) are bounds
/// proved along the way with margins far wider than that (7.1–7.3 measured: the same claims).
/// Without a target there is no margin to spend: the set's own width rules.
fn claim_floor(opts: &Options) -> Option<f64> {
    opts.until_misalignment.filter(|e| e.is_finite() && *e > 0.0).map(|e| CLAIM_SHARE * e)
}

/// The allowed width growth per unit time from `set`, and whether it is a fixed figure rather
/// than the set's own width: `--tolerance` (fixed), or `KAPPA` (scaled down past
/// [`KAPPA_HORIZON`]) times the larger of the set's
/// width (its hull's widest coordinate) and [`WIDTH_FLOOR`], but at least [`claim_floor`]
/// (fixed when that rules: the claims' margin, not the set, sets the step).
fn budget_rate(opts: &Options, set: &Set) -> (f64, bool) {
    if let Some(t) = opts.tolerance {
        return (t, true);
    }
    let w = set.hull().iter().map(|x| x.wid()).fold(0.0, f64::max);
    let own = KAPPA * (KAPPA_HORIZON / opts.until).min(1.0) * if w.is_finite() { w.max(WIDTH_FLOOR) } else { 1.0 };
    match claim_floor(opts) {
        Some(f) if f > own => (f, true),
        _ => (own, false),
    }
}

/// Consecutive first-order steps after which the producer gives up.
const MAX_FIRST_ORDER_RUN: usize = 200;

/// The smallest step tried before giving up.
const H_MIN: f64 = 1e-9;

/// One step from `(t, set)` with a first guess `h` and variational order `q`: shrinks `h` until
/// the a-priori box, the end enclosure and the width budget all work, and raises `q` (up to
/// the option) while the wrapping from the variational matrix takes much of the budget;
/// returns the step and the next guesses.
fn advance(dy: &Dynamics, funcs: &Functions, opts: &Options, t: f64, set: &Set, (mut h, mut q): (f64, u32)) -> std::result::Result<(Step, Set, f64, u32), String> {
    let mut last_err = String::new();
    let mut order = opts.order;
    let (rate, fixed) = budget_rate(opts, set);
    // The a-priori box of the last try, kept for a retry with a higher `q` over the same
    // `[t, t1]` at the same order (the box does not depend on `q`): a third of a step's work.
    let mut cache: Option<(f64, u32, Apriori)> = None;
    loop {
        if h < H_MIN * t.max(1.0) {
            // A kink or layer boundary the Taylor form cannot cross: one tiny order-1 step.
            if order > 1 {
                order = 1;
                h = (H_MIN * t.max(1.0)).max(1e-12);
            } else {
                return Err(last_err);
            }
        }
        let t1 = (t + h).min(opts.until);
        let h_eff = t1 - t;
        if !matches!(&cache, Some((c1, co, _)) if *c1 == t1 && *co == order) {
            cache = None;
            match apriori_box(dy, t, t1, order, &set.hull_with_center()) {
                Ok(ap) => cache = Some((t1, order, ap)),
                Err(e) => {
                    if std::env::var_os("ATTNCERT_DEBUG").is_some() {
                        eprintln!("t = {t}, h = {h_eff:e}, order {order}: {e}");
                    }
                    last_err = e;
                    h = h_eff * 0.5;
                    continue;
                }
            }
        }
        let Some((_, _, ap)) = cache.as_ref() else { continue };
        match try_step(dy, funcs, t, t1, (order, q), set, opts.sets, ap) {
            Ok((step, end, grow, wrap, tail)) => {
                // Next guess from the width growth: the truncation part scales like h^(p+1)
                // and the wrapping part like h^(q+1) per step; aim both at budget·h.
                let budget = rate * h_eff;
                let aim = |x: f64, e: u32| if x <= 0.0 { 2.0 } else { (0.8 * (budget / x).powf(1.0 / f64::from(e))).clamp(0.3, 2.0) };
                // With a fixed budget (--tolerance, or the claims' margin) the budget bounds the
                // truncation alone and the whole wrapping only raises q, as before the
                // width-following default: the steps are as long as the claims allow.
                let (wrap, tail) = if fixed { (wrap, 0.0) } else { (tail, tail) };
                let factor = aim(grow, order.max(1)).min(aim(tail, q));
                let next_h = if order == 1 { 1e-3 * t.max(1.0) } else { h_eff * factor };
                if std::env::var_os("ATTNCERT_DEBUG").is_some() {
                    eprintln!("t = {t}, h = {h_eff:e}, order {order}, q {q}: grow {grow:e}, wrap {wrap:e}, tail {tail:e}, budget {budget:e}");
                }
                // Only the truncation and the variational remainder shrink with the step; the
                // rest of the wrapping (the variational matrix's width over the set itself, of
                // the order of the width squared per unit time) does not, and is accepted.
                if wrap > 0.25 * budget && q < opts.variational_order.min(order) && flow::check_step_cost(dy, order, q + 1).is_ok() {
                    q += 1;
                    continue;
                }
                if grow + tail > budget && order > 1 && h_eff > H_MIN * 10.0 {
                    last_err = format!("width grew by {grow:e} + {tail:e} in a step of {h_eff:e}");
                    h = h_eff * factor.min(0.7);
                    continue;
                }
                let next_q = if wrap < 1e-3 * budget && q > 1 { q - 1 } else { q };
                return Ok((step, end, next_h, next_q));
            }
            Err(e) => {
                if std::env::var_os("ATTNCERT_DEBUG").is_some() {
                    eprintln!("t = {t}, h = {h_eff:e}, order {order}: {e}");
                }
                last_err = e;
                h = h_eff * 0.5;
            }
        }
    }
}

/// Builds one step over `[t0, t1]`; returns it, its truncation width, its wrapping width
/// (see below) and the part of that from the variational remainder ([`Image::tail`]).
#[allow(clippy::too_many_arguments)]
fn try_step(dy: &Dynamics, funcs: &Functions, t0: f64, t1: f64, (order, q): (u32, u32), set: &Set, sets: Sets, (bx, field, rem): &Apriori) -> std::result::Result<(Step, Set, f64, f64, f64), String> {
    let tt = flow::span(t0, t1);
    let img = flow::image(dy, (t0, t1), (order, q), set, bx, rem)?;
    let end = end_set(&img, sets)?;
    // The width the variational matrix's own width adds, max_i Σ_j rad(MB_ij)·|r_j|: what a
    // higher variational order reduces.
    let wrap = img.mb.as_ref().map_or(0.0, |mb| mb.iter().map(|row| row.iter().zip(&img.coeff).map(|(m, r)| m.rad() * r.mag()).sum::<f64>()).fold(0.0, f64::max));
    if std::env::var_os("ATTNCERT_DEBUG").is_some() {
        let wmax = |v: &[Interval]| v.iter().map(|x| x.wid()).fold(0.0, f64::max);
        let mbw = img.mb.as_ref().map_or(0.0, |m| m.iter().flatten().map(|x| x.wid()).fold(0.0, f64::max));
        eprintln!("  [{t0}, {t1}] box {:e} c {:e} mb {:e} coeff {:e} end.r {:e} hull {:e}", wmax(bx), wmax(&img.c), mbw, wmax(&img.coeff), wmax(&end.r), wmax(&end.hull()));
    }
    // The truncation part of the width, h^p·|y_p(box)|: what the step size controls (the
    // linear growth from the Jacobian term scales with h and cannot be reduced by shrinking it).
    let grow = if order <= 1 {
        0.0
    } else {
        let hp = (t1 - t0).powi(order as i32);
        rem.coeffs.iter().map(|r| hp * r.mag()).fold(0.0, f64::max)
    };
    let tokens = dy.tokens(bx);
    let f = dy.tokens(field);
    let values = funcs.values(&tokens);
    let rates = funcs.derivative_upper(dy, tt, &tokens, &f)?;
    let e = lyapunov::misalignment(&tokens);
    let bad = |x: &Interval| !(x.inf().is_finite() && x.sup().is_finite());
    if values.iter().any(bad) || bad(&e) || rates.iter().any(|r| !r.is_finite()) {
        return Err("a Lyapunov enclosure is not finite".into());
    }
    Ok((
        Step {
            t0,
            t1,
            order,
            variational_order: q,
            apriori: to_boxset(bx).ok_or("the a-priori box is not finite")?,
            end: to_record(&end).ok_or("the end enclosure is not finite")?,
            values: values.iter().map(|v| [v.inf(), v.sup()]).collect(),
            derivative_upper: rates,
            misalignment: [e.inf(), e.sup()],
        },
        end,
        grow,
        wrap,
        img.tail,
    ))
}

/// An a-priori box, the field over it, and the step's remainder coefficients over it.
type Apriori = (Vec<Interval>, Vec<Interval>, flow::Remainder);

/// An a-priori box by inflation: start from the operator applied to `start` itself, widen by
/// a fifth of the width plus a little, and iterate until the operator maps the box into its
/// interior. Returns the box, the field over it and the remainder coefficients the checker
/// will recompute.
fn apriori_box(dy: &Dynamics, t0: f64, t1: f64, order: u32, set: &[Interval]) -> std::result::Result<Apriori, String> {
    let inflate = |b: &[Interval]| -> Vec<Interval> {
        b.iter()
            .map(|x| {
                let pad = 0.2 * x.wid() + 1e-14 * (1.0 + x.mag());
                Interval::try_from((x.inf() - pad, x.sup() + pad)).unwrap_or(Interval::ENTIRE)
            })
            .collect()
    };
    let a = crate::certificate::check::APRIORI.min(order);
    let at_start = flow::start_series(dy, t0, a, set)?;
    let mut bx = inflate(&flow::apriori_operator(dy, t0, t1, 1, set, &at_start, set)?.0);
    for round in 0..12 {
        let (reach, over) = flow::apriori_operator(dy, t0, t1, a, set, &at_start, &bx)?;
        if reach.iter().zip(&bx).all(|(r, b)| b.inf() < r.inf() && r.sup() < b.sup()) {
            if std::env::var_os("ATTNCERT_DEBUG").is_some() {
                eprintln!("  a-priori box after {} rounds", round + 1);
            }
            let rem = flow::remainder(dy, t0, t1, order, &bx, &over)?;
            return Ok((bx, flow::field_over(&over), rem));
        }
        bx = inflate(&reach.iter().zip(&bx).map(|(r, b)| r.convex_hull(*b)).collect::<Vec<_>>());
    }
    Err("no a-priori box found (the step is too long for the flow's speed)".into())
}

/// The claims the steps support, each with the bound the checker will derive.
fn claims(dy: &Dynamics, funcs: &Functions, steps: &[Step], last: &[Interval]) -> Vec<Claim> {
    let tokens = dy.tokens(last);
    let mut out = Vec::new();
    if let Some(f) = funcs.leading {
        let worst = steps.iter().map(|s| s.derivative_upper[f]).fold(f64::NEG_INFINITY, f64::max);
        if worst <= 0.0 && !steps.is_empty() {
            out.push(Claim { kind: ClaimKind::LyapunovNonincreasing.name().into(), bound: worst, function: Some(funcs.names[f].clone()) });
        }
    }
    out.push(Claim { kind: ClaimKind::MisalignmentAtEnd.name().into(), bound: lyapunov::misalignment(&tokens).sup(), function: None });
    out.push(Claim { kind: ClaimKind::MaxAngleAtEnd.name().into(), bound: lyapunov::max_angle(&tokens).sup(), function: None });
    for (f, v) in funcs.values(&tokens).iter().enumerate() {
        out.push(Claim { kind: ClaimKind::LyapunovAtEnd.name().into(), bound: v.sup(), function: Some(funcs.names[f].clone()) });
    }
    out.retain(|c| c.bound.is_finite());
    out
}

/// The lower-bound claims the steps support, each with the bound the checker will derive from
/// the initial box `first` and the final set's hull `last` (the same enclosures, in the same
/// order of operations). Only finite bounds, and for `E` and increases only positive ones: the
/// checker rejects the others as proving nothing.
fn lower_claims(dy: &Dynamics, funcs: &Functions, steps: &[Step], (first, last): (&[Interval], &[Interval])) -> Vec<Claim> {
    let claim = |kind: ClaimKind, bound: f64, f: Option<usize>| Claim { kind: kind.name().into(), bound, function: f.map(|f| funcs.names[f].clone()) };
    let proper = |x: &Interval| !x.is_empty() && x.inf().is_finite() && x.sup().is_finite();
    let tokens = dy.tokens(last);
    let mut out = Vec::new();
    let e = lyapunov::misalignment(&tokens);
    if proper(&e) && e.inf() > 0.0 {
        out.push(claim(ClaimKind::MisalignmentAboveAtEnd, e.inf(), None));
    }
    let at_end = funcs.values(&tokens);
    let at_start = funcs.values(&dy.tokens(first));
    for (f, v) in at_end.iter().enumerate() {
        if proper(v) {
            out.push(claim(ClaimKind::LyapunovAboveAtEnd, v.inf(), Some(f)));
        }
    }
    for (f, (a, b)) in at_end.iter().zip(&at_start).enumerate() {
        let rise = *a - *b;
        if !steps.is_empty() && proper(a) && proper(b) && proper(&rise) && rise.inf() > 0.0 {
            out.push(claim(ClaimKind::LyapunovIncrease, rise.inf(), Some(f)));
        }
    }
    out
}
