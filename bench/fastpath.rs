//! The float fast path, measured: `cargo bench` (or `cargo bench -- FILE` for another system).
//!
//! 1. right-hand-side evaluations per second at the initial state (batched GEMM kernel);
//! 2. on kinked coefficients, the moment method's step set-up and averaged evaluation;
//! 3. one trajectory to t = 150 at the defaults (dopri5, step averaging where it applies);
//! 4. one trajectory to t = 150 with Dormand–Prince 5(4) at rtol = 1e-8, atol = 1e-10:
//!    wall time, steps, evaluations, E(50), E(150) and the drift off E_W before re-projection.
//!
//! The defaults are the paper's Section 7.4 system (50 tokens, d = 500, two heads). One core:
//! `--runs` parallelism is across trajectories, except that a stacked layer (every head a
//! constant product, as `attncert import` writes) of at least 2^20 multiply–adds per
//! evaluation runs in two parts of heads on two cores (`model::kernel`). An imported layer is
//! measured with `cargo bench --bench fastpath -- layer3.toml`.
//! bench/numpy_baseline.py measures the same two figures with NumPy/SciPy.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use attncert::model::reduced::Reduced;
use attncert::model::{self, Kernel};
use attncert::simulate::{simulate_with, KernelChoice, Method};
use attncert::system::System;
use nalgebra::DMatrix;

fn main() {
    // `cargo bench` passes `--bench`; any other argument is a system file.
    let file = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/theorems/examples/sec7_4.toml")));
    let sys = match System::load(&file) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    println!("system: {} ({} tokens, d = {}, {} heads)", sys.name, sys.tokens, sys.dim, sys.heads.len());

    let y = model::initial_state(&sys);
    let mut batched = Kernel::new(&sys);
    let mut dy = DMatrix::zeros(sys.dim, sys.tokens);
    // On a thread of rayon's pool, as `simulate` runs (a split layer forks with rayon::join).
    let per_sec = rayon::scope(|_| rate(|k| batched.rhs(0.1 * k as f64, &y, &mut dy)));
    println!("batched kernel: {per_sec:.0} rhs evaluations per second ({:.3} ms each)", 1e3 / per_sec);
    let reduced = Reduced::new(&sys, &y);
    if let Some(mut r) = reduced {
        let phi = DMatrix::identity(sys.tokens, sys.tokens);
        let mut dphi = DMatrix::zeros(sys.tokens, sys.tokens);
        let per_sec = rate(|k| r.rhs(0.1 * k as f64, &phi, &mut dphi));
        println!("reduced kernel: {per_sec:.0} rhs evaluations per second ({:.3} ms each)", 1e3 / per_sec);
        if r.has_kinks() {
            // The moment method's two costs: a step's set-up and a stage inside it.
            r.enable_averaging(attncert::simulate::DEFAULT_MOMENTS);
            let per_sec = rate(|k| r.begin_step(0.25 * k as f64, 0.25 * (k + 1) as f64));
            println!("reduced kernel, averaged: {per_sec:.0} step set-ups per second ({:.3} ms each)", 1e3 / per_sec);
            r.begin_step(10.0, 10.25);
            let per_sec = rate(|k| r.rhs(10.0 + 0.25 * (k % 4) as f64 / 4.0, &phi, &mut dphi));
            println!("reduced kernel, averaged: {per_sec:.0} rhs evaluations per second ({:.3} ms each)", 1e3 / per_sec);
        }
    }
    {
        use attncert::simulate::{simulate_full, Averaging, DEFAULT_ATOL, DEFAULT_RTOL};
        let method = Method::Dopri5 { rtol: DEFAULT_RTOL, atol: DEFAULT_ATOL };
        let start = Instant::now();
        match simulate_full(&sys, method, KernelChoice::Auto, Averaging::Auto, &[50.0, 150.0]) {
            Ok(traj) => println!(
                "defaults ({method:?}, moments {:?}) to t = 150: {:.2} s, {} steps ({} rejected), {} evaluations, E(50) = {:.6e}, E(150) = {:.6e}",
                traj.moments,
                start.elapsed().as_secs_f64(),
                traj.stats.steps,
                traj.stats.rejected,
                traj.stats.rhs_evals,
                traj.samples[0].values[0],
                traj.samples[1].values[0]
            ),
            Err(e) => println!("defaults: {e}"),
        }
    }
    for (name, kernel) in [("batched", KernelChoice::Batched), ("reduced", KernelChoice::Reduced)] {
        let method = Method::Dopri5 { rtol: 1e-8, atol: 1e-10 };
        let start = Instant::now();
        let traj = match simulate_with(&sys, method, kernel, &[50.0, 150.0]) {
            Ok(t) => t,
            Err(e) => {
                println!("{name}: {e}");
                continue;
            }
        };
        let wall = start.elapsed().as_secs_f64();
        println!(
            "{name}: dopri5 to t = 150 (rtol 1e-8, atol 1e-10): {wall:.2} s, {} steps ({} rejected), {} evaluations, \
             E(50) = {:.6e}, E(150) = {:.6e}, max drift off E_W {:.1e}",
            traj.stats.steps,
            traj.stats.rejected,
            traj.stats.rhs_evals,
            traj.samples[0].values[0],
            traj.samples[1].values[0],
            traj.max_drift
        );
    }
}

/// Calls per second of `f` over about two seconds.
fn rate(mut f: impl FnMut(u64)) -> f64 {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(2) {
        f(n);
        n += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}
