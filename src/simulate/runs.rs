//! Bulk runs: `N` independent redraws of every random field, simulated in parallel (rayon) and
//! handed to a sink in run order as soon as each prefix of runs is complete (streaming output).

use std::collections::BTreeMap;
use std::sync::Mutex;

use rayon::prelude::*;

use super::{simulate, Method, Trajectory};
use crate::error::Result;
use crate::system::{random, System};

/// The stream number of run `r` under master seed `seed` (what `System::redraw` mixes in).
pub fn stream(seed: u64, run: u64) -> u64 {
    random::mix(seed, run)
}

/// Simulates `runs` redraws of `sys`; `sink(run, trajectory)` is called in run order, from one
/// thread at a time; `tick()` after each finished run (for a progress bar). Stops at the first
/// run that fails (in run order) and returns its error.
pub fn run_many(
    sys: &System,
    method: Method,
    times: &[f64],
    runs: u64,
    seed: u64,
    sink: impl FnMut(u64, &Trajectory) -> Result<()> + Send,
    tick: impl Fn() + Sync,
) -> Result<()> {
    struct Emitter<F> {
        next: u64,
        pending: BTreeMap<u64, Result<Trajectory>>,
        sink: F,
        failed: Option<crate::error::Error>,
    }
    let state = Mutex::new(Emitter { next: 0, pending: BTreeMap::new(), sink, failed: None });
    (0..runs).into_par_iter().for_each(|r| {
        if state.lock().map(|s| s.failed.is_some()).unwrap_or(true) {
            return;
        }
        let result = simulate(&sys.redraw(stream(seed, r)), method, times);
        tick();
        let Ok(mut s) = state.lock() else { return };
        s.pending.insert(r, result);
        loop {
            let next = s.next;
            let Some(res) = s.pending.remove(&next) else { break };
            s.next += 1;
            let out = res.and_then(|traj| (s.sink)(next, &traj));
            if let Err(e) = out {
                s.failed.get_or_insert(e);
                break;
            }
        }
    });
    match state.into_inner() {
        Ok(s) => s.failed.map_or(Ok(()), Err),
        Err(_) => Err(crate::error::Error::Numerical("a worker thread panicked".into())),
    }
}
