//! Float simulation against exact solutions, the discrete model's first-order limit, and the
//! paper's qualitative results (consensus; Lyapunov functions non-increasing).

mod common;

use attncert::simulate::{simulate, Method, Trajectory};
use attncert::system::System;

fn load(name: &str) -> System {
    System::load(&common::repo(&format!("theorems/examples/{name}"))).expect("example loads")
}

fn column(traj: &Trajectory, name: &str) -> Vec<f64> {
    let k = traj.names.iter().position(|n| n == name).unwrap_or_else(|| panic!("no monitor {name}: {:?}", traj.names));
    traj.samples.iter().map(|s| s.values[k]).collect()
}

/// Causal, two tokens, P = 0, U = I, W = I, paper normalisation: `α_21 = 1/(2·sqrt(d))`, and
/// `a = y_1ᵀy_2` obeys `ȧ = (1 − a²)/(2·sqrt(d))`, so `a(t) = tanh(t/(2·sqrt(d)) + artanh(a(0)))`.
/// With `E = (1 − a)/2`, both integrators must reproduce it to 1e-10.
#[test]
fn two_tokens_exact_solution() {
    let sys = common::system(
        "tokens = 2\ndim = 3\nattention = \"causal\"\n[[heads]]\nP = \"zero\"\nU = \"identity\"\n\
         [initial]\ntokens = [[1, 0, 0], [-0.6, 0.8, 0]]\n",
    );
    let times: Vec<f64> = (0..=20).map(|k| 0.5 * k as f64).collect();
    let a0: f64 = -0.6;
    let exact = |t: f64| (t / (2.0 * 3f64.sqrt()) + a0.atanh()).tanh();
    for method in [Method::Rk4 { h: 1e-3 }, Method::Dopri5 { rtol: 1e-12, atol: 1e-14 }, Method::Dop853 { rtol: 1e-12, atol: 1e-14 }] {
        let traj = simulate(&sys, method, &times).unwrap();
        for (s, t) in traj.samples.iter().zip(&times) {
            let a = 1.0 - 2.0 * s.values[0];
            assert!((a - exact(*t)).abs() < 1e-10, "{method:?} at t = {t}: a = {a}, exact {}", exact(*t));
        }
    }
}

/// The layer map `π(y + τ f)` is a first-order method for (7): halving τ halves the error.
#[test]
fn discrete_map_is_first_order_in_tau() {
    let sys = load("sec7_2.toml");
    let t = 1.0;
    let flow = simulate(&sys, Method::Dopri5 { rtol: 1e-12, atol: 1e-14 }, &[t]).unwrap().final_state;
    let err = |tau: f64| (simulate(&sys, Method::Discrete { tau }, &[t]).unwrap().final_state - &flow).abs().max();
    let (e1, e2, e3) = (err(1.0 / 200.0), err(1.0 / 400.0), err(1.0 / 800.0));
    assert!(e3 < e2 && e2 < e1 && e1 < 1e-2, "errors {e1} {e2} {e3}");
    for ratio in [e1 / e2, e2 / e3] {
        assert!((1.8..2.2).contains(&ratio), "error ratio {ratio} (first order: 2); errors {e1} {e2} {e3}");
    }
}

/// Section 7.1 (Theorem 3.2): `V_P` is non-increasing and the tokens reach consensus.
#[test]
fn sec7_1_potential_decreases_to_consensus() {
    let times: Vec<f64> = (0..=300).map(|k| 0.1 * k as f64).collect();
    let traj = simulate(&load("sec7_1.toml"), Method::Dopri5 { rtol: 1e-10, atol: 1e-12 }, &times).unwrap();
    let v = column(&traj, "V_P");
    for (k, w) in v.windows(2).enumerate() {
        assert!(w[1] <= w[0] + 1e-9, "V_P rises at t = {}: {} → {}", times[k + 1], w[0], w[1]);
    }
    let e = column(&traj, "E");
    assert!(e[e.len() - 1] < 1e-6, "E(30) = {}", e[e.len() - 1]);
}

/// Section 7.2 (Theorem 4.1): `max_i (1 − vᵀy_i)` with `v = (1, 0, 0)` is non-increasing.
#[test]
fn sec7_2_hemisphere_function_decreases_to_consensus() {
    let times: Vec<f64> = (0..=400).map(|k| 0.1 * k as f64).collect();
    let traj = simulate(&load("sec7_2.toml"), Method::Dopri5 { rtol: 1e-10, atol: 1e-12 }, &times).unwrap();
    let v = column(&traj, "V_hemisphere");
    for (k, w) in v.windows(2).enumerate() {
        assert!(w[1] <= w[0] + 1e-9, "V rises at t = {}: {} → {}", times[k + 1], w[0], w[1]);
    }
    assert!(*column(&traj, "E").last().unwrap() < 1e-6);
}

/// Section 7.3 (Theorem 6.1): `V_1 = 1 − vᵀy_1` is non-increasing, and all tokens go to `v`.
#[test]
fn sec7_3_first_eigen_function_decreases_to_consensus() {
    let times: Vec<f64> = (0..=500).map(|k| 0.1 * k as f64).collect();
    let traj = simulate(&load("sec7_3.toml"), Method::Dopri5 { rtol: 1e-10, atol: 1e-12 }, &times).unwrap();
    let v1 = column(&traj, "V_eigen_1");
    for (k, w) in v1.windows(2).enumerate() {
        assert!(w[1] <= w[0] + 1e-9, "V_1 rises at t = {}: {} → {}", times[k + 1], w[0], w[1]);
    }
    assert!(*column(&traj, "V_eigen_max").last().unwrap() < 1e-8);
    assert!(*column(&traj, "E").last().unwrap() < 1e-9);
}

/// Section 7.4 (Theorem 5.1, d = 500): `E` falls, and the strict Lyapunov function of token 2
/// goes to zero. A short horizon keeps the test quick; the benchmark runs it to t = 150.
#[test]
fn sec7_4_misalignment_falls() {
    let traj = simulate(&load("sec7_4.toml"), Method::Dopri5 { rtol: 1e-6, atol: 1e-8 }, &[0.0, 5.0, 10.0]).unwrap();
    let e = column(&traj, "E");
    assert!(e[0] > 0.9 && e[1] < e[0] && e[2] < e[1], "E = {e:?}");
    let v2 = column(&traj, "V_cascade_2");
    assert!(v2[2] < v2[0], "V_cascade_2 = {v2:?}");
    assert!(traj.max_drift < 1e-8);
}

/// Re-projection keeps tokens on E_W: the drift of a step stays tiny at rtol = 1e-10.
#[test]
fn drift_off_the_ellipsoid_is_tiny() {
    for name in ["sec7_1.toml", "sec7_2.toml", "sec7_3.toml"] {
        let traj = simulate(&load(name), Method::Dopri5 { rtol: 1e-10, atol: 1e-12 }, &[20.0]).unwrap();
        assert!(traj.max_drift < 1e-11, "{name}: drift {}", traj.max_drift);
    }
}

/// Seeded draws are reproducible: the same file gives bit-identical trajectories, and the
/// drawn values are pinned (a change of generator would change every shipped example).
#[test]
fn seeded_draws_are_pinned() {
    let sys = load("sec7_4.toml");
    let y = sys.initial_raw_f64();
    let p = sys.heads[0].p.eval(0.0, sys.dim);
    insta::assert_snapshot!(
        "sec7_4_first_draws",
        format!("y[0..3, 0] = {:?}\nP(0)[0, 0..3] = {:?}", &y.as_slice()[0..3], [p[(0, 0)], p[(0, 1)], p[(0, 2)]])
    );
    let a = simulate(&sys, Method::Rk4 { h: 0.05 }, &[0.5]).unwrap();
    let b = simulate(&load("sec7_4.toml"), Method::Rk4 { h: 0.05 }, &[0.5]).unwrap();
    assert_eq!(a.final_state, b.final_state);
}

/// A periodic layer schedule (a looped transformer): the integrator lands on every layer
/// boundary, so the result matches integrating layer by layer.
#[test]
fn layer_schedule_matches_piecewise_integration() {
    let sched = common::system(
        "tokens = 3\ndim = 2\n[[heads]]\nP = { layers = [[[1, 0], [0, 1]], [[-1, 0.5], [0.5, 2]]], layer_time = 0.3, periodic = true }\n\
         [initial]\ntokens = [[1, 0], [0, 1], [-1, 0.2]]\n",
    );
    let traj = simulate(&sched, Method::Dopri5 { rtol: 1e-12, atol: 1e-14 }, &[1.0]).unwrap();
    // Piecewise: integrate each constant layer separately from the previous end state.
    let mut y = attncert::model::initial_state(&sched);
    let mut t = 0.0;
    let mut k = 0;
    while t < 1.0 - 1e-12 {
        let p = if k % 2 == 0 { "[[1, 0], [0, 1]]" } else { "[[-1, 0.5], [0.5, 2]]" };
        let h = (0.3f64).min(1.0 - t);
        let toks: Vec<String> = y.column_iter().map(|c| format!("[{:?}, {:?}]", c[0], c[1])).collect();
        let piece = common::system(&format!(
            "tokens = 3\ndim = 2\n[[heads]]\nP = {p}\n[initial]\ntokens = [{}]\n",
            toks.join(", ")
        ));
        y = simulate(&piece, Method::Dopri5 { rtol: 1e-12, atol: 1e-14 }, &[h]).unwrap().final_state;
        t += h;
        k += 1;
    }
    assert!((traj.final_state - y).abs().max() < 1e-9);
}

/// Bulk runs at the defaults are bit-reproducible: the same seed gives the same rows, whatever
/// the threads' schedule (a 7.4-like system at a small size, to a short horizon).
#[test]
fn bulk_runs_are_bit_reproducible() {
    use attncert::simulate::{runs, Averaging, KernelChoice, DEFAULT_ATOL, DEFAULT_RTOL};
    use std::ops::ControlFlow;
    let diag: Vec<String> = (0..40).map(|i| format!("\"abs(2*sin({}*t + {}))\"", 0.03 * i as f64, 0.3 * i as f64)).collect();
    let sys = common::system(&format!(
        "tokens = 24\ndim = 40\nattention = \"causal\"\n\
         [[heads]]\nP = {{ diag = [{0}], times = {{ random = {{ seed = 4, half_width = 0.5 }} }} }}\n\
         [[heads]]\nP = {{ diag = [{0}], times = {{ random = {{ seed = 6, half_width = 0.5 }} }} }}\n\
         [initial]\nrandom = {{ seed = 5, law = \"sphere\" }}\n",
        diag.join(", ")
    ));
    let m = Method::Dopri5 { rtol: DEFAULT_RTOL, atol: DEFAULT_ATOL };
    let times = [0.0, 2.5, 5.0];
    let batch = || {
        let mut rows = vec![];
        runs::run_many(&sys, m, KernelChoice::Auto, Averaging::Auto, &times, 6, 11, |r, t| {
            rows.push((r, t.samples.iter().map(|s| s.values.clone()).collect::<Vec<_>>(), t.final_state.clone()));
            Ok(ControlFlow::Continue(()))
        }, || {})
        .unwrap();
        rows
    };
    let (a, b) = (batch(), batch());
    assert_eq!(a.len(), 6);
    assert_eq!(a, b);
}
