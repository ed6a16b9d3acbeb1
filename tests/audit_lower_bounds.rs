//! Red-team attacks (round 2) on the lower-bound claims, the reader hardening and the campaign's
//! "verified" line. Every test asserts that something false is REJECTED, or that what is
//! accepted is true along accurate float solutions. A failing test is a finding.

mod common;

use std::path::Path;

use attncert::certificate::check::verify;
use attncert::certificate::lyapunov;
use attncert::certificate::{Certificate, Claim, SystemSource};
use attncert::certify::{certify, Options, Sets};
use attncert::simulate::{simulate, Method};
use attncert::system::{doc, System};
use inari::Interval;

fn source(text: &str) -> SystemSource {
    SystemSource { file: "t.toml".into(), format: "toml".into(), text: text.into() }
}

fn load(text: &str) -> System {
    let v = doc::parse_toml(Path::new("t.toml"), text).expect("toml");
    System::from_value(Path::new("t.toml"), &v).expect("system")
}

fn make_lower(text: &str, theorem: &str, until: f64, radius: f64, sets: Sets) -> Certificate {
    let sys = load(text);
    let opts = Options { theorem: theorem.into(), until, order: 8, variational_order: 3, radius, sets, lower_bounds: true, ..Options::default() };
    certify(&sys, source(text), &opts, |_| {}).expect("certify")
}

fn text(name: &str) -> String {
    std::fs::read_to_string(common::repo(name)).unwrap()
}

/// The red-team system with every corner of the model (tests/systems/weird.toml).
fn weird() -> String {
    text("tests/systems/weird.toml")
}
const ANTIPODAL_2: &str = "tokens = 2\ndim = 2\nattention = \"causal\"\n[[heads]]\nP = \"identity\"\nU = \"identity\"\n[initial]\ntokens = [[1, 0], [-1, 0]]\n";
const NEGATIVE_TOP: &str = "tokens = 2\ndim = 2\nattention = \"causal\"\n[[heads]]\nP = \"identity\"\nU = [[-2, 0], [0, -2.5]]\n[initial]\ntokens = [[1, 0.2], [1, 1]]\n";

/// The state at `t` (token-major) from DOP853 at rtol 1e-12, and at t = 0.
fn float_state(sys: &System, t: f64) -> (Vec<f64>, Vec<f64>) {
    let y0 = attncert::model::initial_state(sys);
    let y = simulate(sys, Method::Dop853 { rtol: 1e-12, atol: 1e-14 }, &[t]).unwrap().final_state;
    (y0.as_slice().to_vec(), y.as_slice().to_vec())
}

fn points(y: &[f64], d: usize) -> Vec<Vec<Interval>> {
    y.chunks(d).map(|t| t.iter().map(|&x| Interval::try_from((x, x)).unwrap()).collect()).collect()
}

/// Every accepted lower-bound claim against the float solution (the checker's own function
/// formulas evaluated at the float points).
fn lower_claims_true(name: &str, c: &Certificate) {
    let ok = verify(c).unwrap_or_else(|r| panic!("{name}: {r}"));
    let sys = load(&c.system.text);
    let funcs = lyapunov::setup(&sys, &c.theorem, false, c.radius).unwrap();
    let (y0, yt) = float_state(&sys, ok.end_time);
    let d = sys.dim;
    let e = lyapunov::misalignment(&points(&yt, d)).mid();
    let vt: Vec<f64> = funcs.values(&points(&yt, d)).iter().map(|x| x.mid()).collect();
    let v0: Vec<f64> = funcs.values(&points(&y0, d)).iter().map(|x| x.mid()).collect();
    let mut n = 0;
    for p in &ok.claims {
        let f = p.claim.function.as_ref().map(|f| funcs.names.iter().position(|n| n == f).unwrap());
        let truth = match p.claim.kind.as_str() {
            "misalignment-above-at-end" => e,
            "lyapunov-above-at-end" => vt[f.unwrap()],
            "lyapunov-increase" => vt[f.unwrap()] - v0[f.unwrap()],
            _ => continue,
        };
        n += 1;
        eprintln!("{name}: {} {:?} >= {:e} (float {truth:e})", p.claim.kind, p.claim.function, p.claim.bound);
        assert!(truth >= p.claim.bound - 1e-9, "FALSE ACCEPT {name}: {} {:?} >= {:e}, float {truth:e}", p.claim.kind, p.claim.function, p.claim.bound);
    }
    eprintln!("{name}: {n} lower-bound claims checked at T = {}", ok.end_time);
}

#[test]
fn certified_lower_bounds_hold_along_float_solutions() {
    for (name, t, th, until, sets) in [
        ("sec7_1", text("theorems/examples/sec7_1.toml"), "3.2", 0.3, Sets::Qr),
        ("sec7_2", text("theorems/examples/sec7_2.toml"), "4.1", 0.3, Sets::Box),
        ("sec7_3", text("theorems/examples/sec7_3.toml"), "6.1", 0.3, Sets::Qr),
        ("antipodal", ANTIPODAL_2.to_string(), "5.1", 1.0, Sets::Box),
        ("negative-top", NEGATIVE_TOP.to_string(), "6.1", 1.0, Sets::Parallelepiped),
        ("weird", weird(), "4.1", 0.04, Sets::Qr),
    ] {
        let c = make_lower(&t, th, until, 0.0, sets);
        lower_claims_true(name, &c);
    }
}

/// Each lower-bound claim pushed one step past what is proved, or made vacuous, is rejected.
#[test]
fn lower_bounds_past_the_proof_or_vacuous_are_rejected() {
    let c = make_lower(NEGATIVE_TOP, "6.1", 1.0, 0.0, Sets::Box);
    let ok = verify(&c).unwrap();
    for (i, p) in ok.claims.iter().enumerate() {
        if !matches!(p.claim.kind.as_str(), "misalignment-above-at-end" | "lyapunov-above-at-end" | "lyapunov-increase") {
            continue;
        }
        let mut bad = c.clone();
        bad.claims = vec![Claim { bound: p.proved.next_up(), ..c.claims[i].clone() }];
        assert!(verify(&bad).is_err(), "accepted {} above proved", p.claim.kind);
    }
    // Increase at T = 0 (no steps), zero and negative bounds, no function, wrong function.
    let mut none = c.clone();
    none.steps.clear();
    none.claims = vec![Claim { kind: "lyapunov-increase".into(), bound: 1e-300, function: Some("V_eigen_2".into()) }];
    assert!(verify(&none).is_err());
    for (kind, b, f) in [
        ("lyapunov-increase", 0.0, Some("V_eigen_2")),
        ("lyapunov-increase", -0.0, Some("V_eigen_2")),
        ("misalignment-above-at-end", 0.0, None),
        ("misalignment-above-at-end", -0.0, None),
        ("misalignment-above-at-end", 1e-300, Some("V_eigen_2")),
        ("lyapunov-above-at-end", -1e300, None),
        ("lyapunov-increase", 1e-300, None),
        ("lyapunov-above-at-end", -1e300, Some("V_eigen_3")),
        ("lyapunov-above-at-end", f64::NAN, Some("V_eigen_2")),
        ("lyapunov-above-at-end", f64::NEG_INFINITY, Some("V_eigen_2")),
        ("lyapunov-increase", f64::MIN_POSITIVE, Some("V_eigen_1")),
    ] {
        let mut bad = c.clone();
        bad.claims = vec![Claim { kind: kind.into(), bound: b, function: f.map(String::from) }];
        assert!(verify(&bad).is_err(), "accepted {kind} {b} {f:?}");
    }
    // Tiny decrease of V_eigen_1 claimed as an increase.
    // A final set pushed toward consensus by a (rejected) tampered end box.
    let mut bad = c.clone();
    let last = bad.steps.last_mut().unwrap();
    for (lo, hi) in last.end.lo.iter_mut().zip(last.end.hi.iter_mut()) {
        let m = 0.5 * (*lo + *hi);
        *lo = m;
        *hi = m;
    }
    assert!(verify(&bad).is_err());
}

/// The sign of Theorem 6.1's `v`: the checker picks it from the RAW rows of the file
/// (`v̂ᵀ Σ rows ≥ 0`), while the model/simulator (and the documented convention, `y_i(0)` the
/// normalised tokens) uses the normalised tokens. When the two sums differ in sign, `V_eigen_i`
/// of a certificate is `1 − vᵀy_i` with the opposite `v` from what `attncert simulate`
/// reports as `V_eigen_i`: verify accepts `V_eigen_2 ≥ b` with `b` near 2 while the float
/// solution has `V_eigen_2` near 0.
const SIGN: &str = "tokens = 3\ndim = 2\nattention = \"causal\"\n[[heads]]\nP = \"identity\"\nU = [[2, 0], [0, 1]]\n[initial]\ntokens = [[10, 0], [-1, 0.2], [-1, 0.3]]\n";

#[test]
fn eigen_sign_agrees_with_the_simulated_v_eigen() {
    let c = make_lower(SIGN, "6.1", 0.5, 0.0, Sets::Box);
    let ok = verify(&c).unwrap_or_else(|r| panic!("{r}"));
    let sys = load(SIGN);
    let tr = simulate(&sys, Method::Dop853 { rtol: 1e-12, atol: 1e-14 }, &[ok.end_time]).unwrap();
    for p in &ok.claims {
        if p.claim.kind != "lyapunov-above-at-end" {
            continue;
        }
        let f = p.claim.function.as_deref().unwrap();
        let Some(k) = tr.names.iter().position(|n| n == f) else { continue };
        let sim = tr.samples.last().unwrap().values[k];
        eprintln!("verify accepts {f}(T={}) >= {:e}; attncert simulate gives {f} = {sim:e}", ok.end_time, p.claim.bound);
        assert!(sim >= p.claim.bound - 1e-6, "FALSE ACCEPT (by the simulator's own V_eigen): {f} >= {:e} accepted, simulate gives {sim:e}", p.claim.bound);
    }
}

fn sec7_1() -> String {
    text("certificates/sec7_1.json")
}

fn parse(t: &str) -> Result<Certificate, String> {
    Certificate::parse(Path::new("c.json"), t).map_err(|e| e.to_string())
}

/// Reader hardening: duplicates behind escapes, nested duplicates, huge and tiny numbers in
/// nested arrays, big integers.
#[test]
fn reader_hardening_is_not_bypassed() {
    let t = sec7_1();
    assert!(parse(&t).is_ok());
    let bad = |from: &str, to: &str| {
        let b = t.replacen(from, to, 1);
        assert_ne!(b, t, "{from} not found");
        b
    };
    for b in [
        bad("\"verdict\":\"holds\"", "\"verdict\":\"fails\",\"verd\\u0069ct\":\"holds\""),
        bad("\"verdict\":\"holds\"", "\"verd\\u0069ct\":\"fails\",\"verdict\":\"holds\""),
        bad("\"radius\":0.0", "\"radius\":0.0,\"r\\u0061dius\":0.5"),
        bad("\"kind\":", "\"bound\":-1e300,\"kind\":"),
        bad("\"t1\":", "\"t0\":0.0,\"t1\":"),
        bad("\"lo\":[", "\"lo\":[1e-400,"),
        bad("\"lo\":[", "\"lo\":[-1E-400,"),
        bad("\"radius\":0.0", &format!("\"radius\":1{}", "0".repeat(400))),
        bad("\"radius\":0.0", &format!("\"radius\":0.{}1", "0".repeat(400))),
        bad("\"version\":5", "\"version\":5.0"),
        bad("\"version\":5", "\"version\":18446744073709551620"),
        bad("\"lo\":[", "\"lo\":[2.4703282292062327e-324,"),
    ].into_iter().enumerate() {
        let (i, b) = b;
        let r = parse(&b);
        eprintln!("case {i}: parse {:?}", r.as_ref().err());
        // Either the reader refuses, or verify does.
        if let Ok(c) = r {
            let v = verify(&c);
            assert!(v.is_err(), "case {i}: accepted a tampered certificate");
        }
    }
    // A radius of 0.0e99999999999999999999 is zero, 1e-320 is a subnormal that a double holds:
    // not errors in themselves (whatever verify says).
    let z = parse(&t.replacen("\"radius\":0.0", "\"radius\":0.0e99999999999999999999", 1)).expect("0e… reads");
    assert_eq!(z.radius, 0.0);
    let z = parse(&t.replacen("\"radius\":0.0", "\"radius\":-0", 1)).expect("-0 reads");
    assert_eq!(z.radius, 0.0);
}

/// Tokens spread evenly around `v` leave its side open: no `V_eigen_i` is defined, rather than
/// one whose sign differs between the checker and the simulator.
#[test]
fn an_undetermined_eigenvector_side_defines_no_eigen_function() {
    let even = "tokens = 2\ndim = 2\nattention = \"causal\"\n[[heads]]\nP = \"identity\"\nU = [[2, 0], [0, 1]]\n[initial]\ntokens = [[1, 0.5], [-1, 0.5]]\n";
    let sys = load(even);
    let opts = Options { theorem: "6.1".into(), until: 0.1, ..Options::default() };
    let e = certify(&sys, source(even), &opts, |_| {}).expect_err("refused").to_string();
    assert!(e.contains("the side of U's top eigenvector is not determined"), "{e}");
}
