//! Bulk runs: `N` independent redraws of every random field, simulated in parallel (rayon) and
//! handed to a sink in run order as soon as each prefix of runs is complete (streaming output).

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::Mutex;

use rayon::prelude::*;

use super::{simulate_full, Averaging, KernelChoice, Method, Trajectory};
use crate::error::{Error, Result};
use crate::system::{random, System};

/// The stream number of run `r` under master seed `seed` (what `System::redraw` mixes in).
pub fn stream(seed: u64, run: u64) -> u64 {
    random::mix(seed, run)
}

/// Simulates `runs` redraws of `sys` with the given float kernel; `sink(run, trajectory)` is
/// called in run order, from one thread at a time, and may stop the whole batch quietly
/// (`ControlFlow::Break`, e.g. when the reader of the output went away); `tick()` after each
/// finished run (for a progress bar). Stops at the first run that fails (in run order) and
/// returns its error.
#[allow(clippy::too_many_arguments)]
pub fn run_many(
    sys: &System,
    method: Method,
    kernel: KernelChoice,
    averaging: Averaging,
    times: &[f64],
    runs: u64,
    seed: u64,
    sink: impl FnMut(u64, &Trajectory) -> Result<ControlFlow<()>> + Send,
    tick: impl Fn() + Sync,
) -> Result<()> {
    check_runs(runs, times)?;
    super::check_work(sys, method, times)?;
    struct Emitter<F> {
        next: u64,
        pending: BTreeMap<u64, Result<Trajectory>>,
        sink: F,
        failed: Option<crate::error::Error>,
        stopped: bool,
    }
    let state = Mutex::new(Emitter { next: 0, pending: BTreeMap::new(), sink, failed: None, stopped: false });
    (0..runs).into_par_iter().for_each(|r| {
        if state.lock().map(|s| s.failed.is_some() || s.stopped).unwrap_or(true) {
            return;
        }
        let result = simulate_full(&sys.redraw(stream(seed, r)), method, kernel, averaging, times);
        tick();
        let Ok(mut s) = state.lock() else { return };
        // Nothing after a failed or stopped run reaches the sink (runs still in flight finish).
        if s.stopped || s.failed.is_some() {
            return;
        }
        s.pending.insert(r, result);
        loop {
            let next = s.next;
            let Some(res) = s.pending.remove(&next) else { break };
            s.next += 1;
            match res.and_then(|traj| (s.sink)(next, &traj)) {
                Ok(ControlFlow::Continue(())) => {}
                Ok(ControlFlow::Break(())) => {
                    s.stopped = true;
                    s.pending.clear();
                    break;
                }
                Err(e) => {
                    s.failed.get_or_insert(e);
                    break;
                }
            }
        }
    });
    match state.into_inner() {
        Ok(s) => s.failed.map_or(Ok(()), Err),
        Err(_) => Err(Error::Numerical("a worker thread panicked".into())),
    }
}

/// Refuses, before any work, a bulk simulation beyond [`MAX_RUNS`](super::MAX_RUNS) runs or
/// [`MAX_ROWS`](super::MAX_ROWS) rows (runs × report times).
pub fn check_runs(runs: u64, times: &[f64]) -> Result<()> {
    use super::{MAX_ROWS, MAX_RUNS};
    if runs == 0 {
        return Err(Error::Usage("--runs must be at least 1".into()));
    }
    if runs > MAX_RUNS {
        return Err(Error::Usage(format!("--runs {runs} is more runs than this tool does in one go ({MAX_RUNS}): run several batches with different --seed")));
    }
    let rows = runs.saturating_mul(times.len() as u64);
    if rows > MAX_ROWS {
        return Err(Error::Usage(format!(
            "--runs {runs} × {} report times is {rows} rows, more than this tool writes in one go ({MAX_ROWS}): \
             use fewer runs or report times (--samples, --at)",
            times.len()
        )));
    }
    Ok(())
}
