//! Certificates: producer and checker agree, enclosures contain float trajectories, and every
//! kind of tampering is rejected with the step (or claim) and the reason.

mod common;

use std::path::Path;

use attncert::certificate::check::verify;
use attncert::certificate::{Certificate, Claim, SystemSource};
use attncert::certify::{certify, Options, Sets};
use attncert::simulate::{simulate, Method};
use attncert::system::{doc, System};
use proptest::prelude::*;

fn source(name: &str, text: &str) -> SystemSource {
    SystemSource { file: name.into(), format: "toml".into(), text: text.into() }
}

fn load(text: &str) -> System {
    let v = doc::parse_toml(Path::new("t.toml"), text).expect("toml");
    System::from_value(Path::new("t.toml"), &v).expect("system")
}

fn make(text: &str, theorem: &str, until: f64, sets: Sets) -> Certificate {
    let sys = load(text);
    let opts = Options { theorem: theorem.into(), until, order: 6, sets, ..Options::default() };
    certify(&sys, source("t.toml", text), &opts, |_| {}).expect("certify")
}

fn sec7_1() -> String {
    std::fs::read_to_string(common::repo("theorems/examples/sec7_1.toml")).unwrap()
}

/// A short certificate of the paper's 7.1 system, shared by the tamper tests.
fn base() -> Certificate {
    let c = make(&sec7_1(), "3.2", 0.3, Sets::Qr);
    assert!(c.steps.len() >= 3, "need a few steps to tamper with");
    c
}

#[test]
fn producer_and_checker_agree_on_the_paper_systems() {
    for (file, theorem) in [("sec7_1", "3.2"), ("sec7_2", "4.1"), ("sec7_3", "6.1")] {
        let text = std::fs::read_to_string(common::repo(&format!("theorems/examples/{file}.toml"))).unwrap();
        for sets in [Sets::Qr, Sets::Box] {
            let c = make(&text, theorem, 0.2, sets);
            let ok = verify(&c).unwrap_or_else(|r| panic!("{file} {sets:?}: {r}"));
            assert_eq!(ok.verdict, "holds");
            assert_eq!(ok.end_time, 0.2);
            let kinds: Vec<&str> = ok.claims.iter().map(|c| c.claim.kind.as_str()).collect();
            assert!(kinds.contains(&"lyapunov-nonincreasing"), "{file}: {kinds:?}");
            assert!(kinds.contains(&"misalignment-at-end") && kinds.contains(&"max-angle-at-end") && kinds.contains(&"lyapunov-at-end"));
        }
    }
}

/// Layer boundaries (a piecewise-constant `P`) are crossed with order-1 steps, whose a-priori
/// box the checker validates with the first-order operator on the interval field (the Taylor
/// series is not defined across the boundary). A regression test: with the a-priori operator
/// of fixed order 3, the producer stopped at the first boundary.
#[test]
fn layer_boundaries_are_crossed_and_verified() {
    let text = std::fs::read_to_string(common::repo("fuzz/seeds/parse_system_toml/random_layers.toml")).unwrap();
    let c = make(&text, "4.1", 0.6, Sets::Box);
    assert!(c.producer.stop.starts_with("reached"), "{}", c.producer.stop);
    assert!(c.steps.iter().any(|s| s.order == 1 && s.t0 < 0.25 && 0.25 < s.t1), "no order-1 step across t = 0.25");
    let ok = verify(&c).unwrap_or_else(|r| panic!("{r}"));
    assert_eq!(ok.end_time, 0.6);
}

#[test]
fn a_certificate_round_trips_bit_exactly() {
    let c = base();
    let back = Certificate::parse(Path::new("c.json"), &c.to_json()).unwrap();
    assert_eq!(back, c);
    assert!(verify(&back).is_ok());
}

fn rejected(c: &Certificate) -> String {
    match verify(c) {
        Ok(_) => panic!("a tampered certificate was accepted"),
        Err(r) => r.to_string(),
    }
}

#[test]
fn a_narrowed_box_is_rejected() {
    let mut c = base();
    let s = &mut c.steps[1].apriori;
    let w = s.hi[4] - s.lo[4];
    s.hi[4] -= 0.6 * w;
    let why = rejected(&c);
    assert!(why.starts_with("step 2: a-priori inclusion fails at token 2, coordinate 2"), "{why}");
}

#[test]
fn a_shifted_end_is_rejected() {
    let mut c = base();
    let e = &mut c.steps[2].end;
    let w = (e.hi[0] - e.lo[0]).max(1e-12);
    e.lo[0] += 2.0 * w;
    e.hi[0] += 2.0 * w;
    let why = rejected(&c);
    assert!(why.starts_with("step 3: end does not contain the flow"), "{why}");
}

#[test]
fn a_step_that_skips_time_is_rejected() {
    let mut c = base();
    c.steps[2].t0 += 1e-9;
    let why = rejected(&c);
    assert!(why.starts_with("step 3: starts at t ="), "{why}");
    let mut c = base();
    c.steps.remove(1);
    assert!(rejected(&c).starts_with("step 2: starts at t ="));
    let mut c = base();
    c.steps[0].t0 = 0.01;
    assert!(rejected(&c).starts_with("step 1: starts at t ="));
}

#[test]
fn tightened_claims_are_rejected() {
    let c = base();
    for k in 0..c.claims.len() {
        let mut t = c.clone();
        let b = t.claims[k].bound;
        t.claims[k].bound = if b == 0.0 { -1e-300 } else { b - b.abs() * 1e-9 };
        let why = rejected(&t);
        assert!(why.starts_with(&format!("claim {}:", k + 1)), "{why}");
    }
}

#[test]
fn tampered_records_and_headers_are_rejected() {
    let mut c = base();
    c.steps[1].values[0][1] = c.steps[1].values[0][0];
    assert!(rejected(&c).starts_with("step 2: V_P over the box"));
    let mut c = base();
    c.steps[1].derivative_upper[0] = -1e9;
    assert!(rejected(&c).starts_with("step 2: the derivative of V_P"));
    let mut c = base();
    c.steps[0].misalignment[1] = c.steps[0].misalignment[0];
    assert!(rejected(&c).starts_with("step 1: E over the box"));
    let mut c = base();
    c.verdict = "fails".into();
    assert!(rejected(&c).contains("re-check as 'holds'"));
    let mut c = base();
    c.system.text = c.system.text.replace("0.9432", "0.9433");
    assert!(verify(&c).is_err(), "a changed system must not verify");
    let mut c = base();
    c.radius = 0.0 - 1.0;
    assert!(rejected(&c).contains("radius"));
    let mut c = base();
    c.steps[0].order = 99;
    assert!(rejected(&c).starts_with("step 1: order 99"));
    let mut c = base();
    c.steps[0].variational_order = 0;
    assert!(rejected(&c).starts_with("step 1: order") && rejected(&c).contains("variational order 0"));
    // Any variational order is a sound enclosure: a different one is accepted or rejected for
    // the end set, never a crash.
    let mut c = base();
    c.steps[0].variational_order = 1;
    let _ = verify(&c);
    let mut c = base();
    c.claims.push(attncert::certificate::Claim { kind: "lyapunov-nonincreasing".into(), bound: 1.0, function: Some("V_P".into()) });
    assert!(rejected(&c).contains("does not make a function non-increasing"));
}

#[test]
fn a_parallelepiped_end_with_a_changed_matrix_is_rejected() {
    let mut c = base();
    // A matrix change that keeps the set around the flow is a valid certificate; shrinking the
    // parallelepiped a thousandfold is not.
    let m = c.steps[1].end.matrix.as_mut().expect("QR sets record a matrix");
    m.iter_mut().for_each(|x| *x *= 1e-3);
    assert!(rejected(&c).starts_with("step 2: end does not contain the flow"));
}

/// The float solution at `t`, as a flat token-major vector.
fn float_state(sys: &System, t: f64) -> Vec<f64> {
    let y = simulate(sys, Method::Dop853 { rtol: 1e-13, atol: 1e-15 }, &[t]).unwrap().final_state;
    y.as_slice().to_vec()
}

fn random_system(kind: usize, l: usize, d: usize, entries: &[i32], toks: &[i32]) -> (String, &'static str) {
    let m = |off: usize, sym: bool| -> String {
        let rows: Vec<String> = (0..d)
            .map(|i| {
                let r: Vec<String> = (0..d)
                    .map(|j| {
                        let (a, b) = if sym && j < i { (j, i) } else { (i, j) };
                        let v = entries[(off + a * d + b) % entries.len()] as f64 / 100.0;
                        let v = if sym && a == b { v.abs() + 1.5 } else { v };
                        format!("{v}")
                    })
                    .collect();
                format!("[{}]", r.join(", "))
            })
            .collect();
        format!("[{}]", rows.join(", "))
    };
    let tokens: Vec<String> = (0..l)
        .map(|i| {
            let r: Vec<String> = (0..d).map(|k| format!("{}", toks[(i * d + k) % toks.len()] as f64 / 100.0 + if k == 0 { 1.0 } else { 0.0 })).collect();
            format!("[{}]", r.join(", "))
        })
        .collect();
    let head = |p: String, u: &str| format!("[[heads]]\nP = {p}\nU = {u}\n");
    let (body, th) = match kind {
        0 => (format!("attention = \"full\"\nmetric = \"P\"\n{}", head(m(0, true), "\"identity\"")), "3.2"),
        1 => (format!("attention = \"full\"\n{}", head(m(0, false), "\"identity\"")), "4.1"),
        2 => (format!("attention = \"causal\"\n{}{}", head(m(0, false), "\"identity\""), head(m(7, false), "\"identity\"")), "5.1"),
        _ => (format!("attention = \"causal\"\n{}", head(m(0, false), &m(5, true))), "6.1"),
    };
    (format!("tokens = {l}\ndim = {d}\n{body}\n[initial]\ntokens = [{}]\n", tokens.join(", ")), th)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Float trajectories at the ends of steps lie in the certified end sets, and inside the
    /// a-priori boxes in between (up to the float solver's own error).
    #[test]
    fn enclosures_contain_float_trajectories(
        kind in 0usize..4, l in 2usize..4, d in 2usize..4,
        entries in prop::collection::vec(-60i32..60, 9..20),
        toks in prop::collection::vec(-40i32..40, 12),
        frac in 0.0f64..1.0,
    ) {
        let (text, th) = random_system(kind, l, d, &entries, &toks);
        let sys = load(&text);
        let opts = Options { theorem: th.into(), until: 0.25, order: 6, ..Options::default() };
        let c = certify(&sys, source("t.toml", &text), &opts, |_| {}).expect("certify");
        prop_assert!(verify(&c).is_ok(), "{:?}", verify(&c).err());
        let slack = 1e-10;
        for (k, step) in c.steps.iter().enumerate() {
            let (lo, hi) = step.end.approx_hull();
            let y = float_state(&sys, step.t1);
            for i in 0..y.len() {
                prop_assert!(lo[i] - slack <= y[i] && y[i] <= hi[i] + slack, "step {k}: {} not in [{}, {}]", y[i], lo[i], hi[i]);
            }
            let t = step.t0 + frac * (step.t1 - step.t0);
            let y = float_state(&sys, t);
            for i in 0..y.len() {
                prop_assert!(step.apriori.lo[i] - slack <= y[i] && y[i] <= step.apriori.hi[i] + slack);
            }
        }
    }
}

#[test]
fn golden_certificates_verify() {
    let dir = common::repo("certificates");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let c = Certificate::load(&path).unwrap();
            let ok = verify(&c).unwrap_or_else(|r| panic!("{}: {r}", path.display()));
            assert_eq!(ok.verdict, "holds", "{}", path.display());
            n += 1;
        }
    }
    assert!(n >= 3, "the three small paper systems have golden certificates");
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_attncert")).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[test]
fn verify_and_report_commands() {
    let dir = tempfile::tempdir().unwrap();
    let golden = common::repo("certificates/sec7_1.json");
    let golden = golden.to_str().unwrap();
    let (code, out, _) = run(&["verify", golden]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("ACCEPTED"));
    // Rejected: exit 1, the step and the reason on stdout.
    let mut c = Certificate::load(Path::new(golden)).unwrap();
    c.steps[3].t0 += 1e-6;
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, c.to_json()).unwrap();
    let (code, out, _) = run(&["verify", bad.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.contains("REJECTED") && out.contains("step 4: starts at t ="), "{out}");
    // Not a certificate: exit 2 with the file and the reason.
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "{\"format\": \"something-else\"}").unwrap();
    let (code, _, err) = run(&["verify", junk.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("junk.json: format: 'something-else' is not an attncert certificate"), "{err}");
    // A rejected certificate gets no report file.
    let html = dir.path().join("r.html");
    assert_eq!(run(&["report", bad.to_str().unwrap(), "-o", html.to_str().unwrap()]).0, 1);
    assert!(!html.exists());
    assert_eq!(run(&["report", golden, "-o", html.to_str().unwrap()]).0, 0);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<svg") && page.contains("VERIFIED"));
}

/// An auditor's false ACCEPT: with no steps the maximum of the derivative bounds was −∞, so a
/// claim `dV_P/dt ≤ -1e300` passed. Every proved value must come from an enclosure.
#[test]
fn an_empty_certificate_proves_nothing_about_derivatives() {
    let mut c = base();
    c.steps.clear();
    c.claims = vec![Claim { kind: "lyapunov-nonincreasing".into(), bound: -1e300, function: Some("V_P".into()) }];
    let why = rejected(&c);
    assert!(why.starts_with("claim 1: a certificate without steps proves nothing about a derivative"), "{why}");
    // What an empty certificate does prove: bounds at t = 0 from the initial set itself.
    let mut c = base();
    c.steps.clear();
    c.claims = vec![Claim { kind: "misalignment-at-end".into(), bound: 2.5, function: None }];
    let ok = verify(&c).expect("E(y(0)) ≤ 2.5 holds (E ≤ 2 on the sphere)");
    assert_eq!(ok.end_time, 0.0);
    assert!(ok.claims[0].proved.is_finite() && ok.claims[0].proved > 0.1, "E of the paper's tokens at t = 0");
    c.claims[0].bound = 1e-3;
    assert!(rejected(&c).starts_with("claim 1: misalignment-at-end claims ≤"));
}

/// `-1e400` reads as −∞ (and NaN cannot be written, but a program could build it): a bound
/// that is not a finite number is rejected before it is compared.
#[test]
fn non_finite_claim_bounds_are_rejected() {
    let c = base();
    let text = c.to_json().replacen("\"claims\":[", "\"claims\":[{\"kind\":\"lyapunov-nonincreasing\",\"bound\":-1e400,\"function\":\"V_P\"},", 1);
    // The reader refuses it with its field; a program that builds the value gets it refused by
    // the checker.
    let e = Certificate::parse(Path::new("c.json"), &text).unwrap_err().to_string();
    assert!(e.contains("claims[0].bound: the number -1e+400 is not representable as a double"), "{e}");
    let mut back = base();
    back.claims[0].bound = f64::NEG_INFINITY;
    assert!(rejected(&back).starts_with("claim 1: the bound -inf is not a finite number"), "{}", rejected(&back));
    for bound in [f64::NAN, f64::INFINITY] {
        let mut c = base();
        c.claims[0].bound = bound;
        assert!(rejected(&c).contains("is not a finite number"));
    }
}

/// Claims must name a function exactly when their kind is about one: a report would otherwise
/// print "misalignment-at-end V_P ≤ …" for a bound on E.
#[test]
fn claims_name_functions_only_where_their_kind_takes_one() {
    let mut c = base();
    let e = c.claims.iter().position(|c| c.kind == "misalignment-at-end").unwrap();
    c.claims[e].function = Some("V_P".into());
    assert!(rejected(&c).contains("is about no Lyapunov function, but names 'V_P'"));
    let mut c = base();
    let l = c.claims.iter().position(|c| c.kind == "lyapunov-at-end").unwrap();
    c.claims[l].function = None;
    assert!(rejected(&c).contains("lyapunov-at-end must name a Lyapunov function"));
}

/// certify's first line and exit code say whether the theorem applies; verify's first line too.
#[test]
fn certify_and_verify_say_whether_the_theorem_applies() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("c.json");
    let c = cert.to_str().unwrap();
    let sec7_3 = common::repo("theorems/examples/sec7_3.toml");
    // Theorem 4.1 needs U = I; 7.3's U is not: the certificate only proves enclosures.
    let (code, out, err) = run(&["certify", sec7_3.to_str().unwrap(), "--theorem", "4.1", "--until", "0.05", "-o", c]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(out.starts_with(&format!("NOT APPLICABLE {c}: theorem 4.1 does NOT apply (its hypotheses fail")), "{out}");
    let (code, out, _) = run(&["verify", c]);
    assert_eq!(code, 0, "an accepted certificate exits 0 whatever the verdict: {out}");
    assert!(out.starts_with(&format!("ACCEPTED {c}: theorem 4.1 does NOT apply")) && out.contains("not the theorem's conclusion"), "{out}");
    // The theorem that applies.
    let (code, out, err) = run(&["certify", sec7_3.to_str().unwrap(), "--theorem", "6.1", "--until", "0.05", "-o", c]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with(&format!("CERTIFIED {c}: theorem 6.1 applies")), "{out}");
    let (code, out, _) = run(&["verify", c]);
    assert_eq!(code, 0);
    assert!(out.starts_with(&format!("ACCEPTED {c}: theorem 6.1 applies")), "{out}");
    // The target not reached: PARTIAL, exit 1.
    let (code, out, _) = run(&["certify", sec7_3.to_str().unwrap(), "--theorem", "6.1", "--until", "1", "--max-steps", "2", "-o", c]);
    assert_eq!(code, 1);
    assert!(out.starts_with("PARTIAL (stopped before t = 1"), "{out}");
}

/// A layer schedule that needs more steps than --max-steps is refused up front (an auditor's
/// case ran for minutes with no output: about 5·10⁸ steps).
#[test]
fn certify_refuses_schedules_beyond_max_steps() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("fast.toml");
    std::fs::write(&f, "tokens = 2\ndim = 2\n[[heads]]\nP = { layers = [\"identity\", [[2, 0], [0, 1]]], layer_time = 1e-9 }\n[initial]\ntokens = [[1, 0], [0.6, 0.8]]\n").unwrap();
    let out = dir.path().join("c.json");
    let (code, _, err) = run(&["certify", f.to_str().unwrap(), "--theorem", "4.1", "--until", "0.5", "-o", out.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("boundaries before t = 0.5") && err.contains("--max-steps"), "{err}");
    assert!(!out.exists());
}

/// A hemisphere direction of tiny magnitude is a direction, not zero: `|v|²` underflowed.
#[test]
fn a_tiny_hemisphere_direction_is_normalised() {
    let text = std::fs::read_to_string(common::repo("theorems/examples/sec7_2.toml")).unwrap();
    let tiny = text.replace("v = [1, 0, 0]", "v = [1e-300, 0, 0]");
    assert_ne!(tiny, text);
    let c = make(&tiny, "4.1", 0.02, Sets::Box);
    let ok = verify(&c).unwrap_or_else(|r| panic!("{r}"));
    let same = make(&text, "4.1", 0.02, Sets::Box);
    // The same direction gives the same function (up to the enclosure of the literal 1e-300).
    let (a, b) = (c.steps[0].values[0], same.steps[0].values[0]);
    assert!((a[0] - b[0]).abs() <= 1e-12 && (a[1] - b[1]).abs() <= 1e-12, "{a:?} vs {b:?}");
    assert!(ok.claims.iter().any(|c| c.claim.kind == "lyapunov-nonincreasing"));
    // Below the double range it is said so; exactly zero is refused as zero.
    let under = common::system_error(&text.replace("v = [1, 0, 0]", "v = [1e-400, 0, 0]"));
    assert!(under.contains("underflows to 0 in double precision"), "{under}");
    let zero = common::system_error(&text.replace("v = [1, 0, 0]", "v = [0, 0.0, 0e5]"));
    assert!(zero.contains("must not be zero"), "{zero}");
}

// Lower-bound claims: counterexamples certified, and every way of overclaiming rejected.

/// Theorem 5.1 with `y_2(0) = −y_1(0)` exactly (its hypothesis `y_j ≠ −y_1` relaxed): token 2
/// sits at the unstable equilibrium `a = −1` forever, so consensus is never reached.
const ANTIPODAL_2: &str = "tokens = 2\ndim = 2\nattention = \"causal\"\n[[heads]]\nP = \"identity\"\nU = \"identity\"\n[initial]\ntokens = [[1, 0], [-1, 0]]\n";
/// The same with a third, non-antipodal token, which does converge to `y_1`.
const ANTIPODAL_3: &str = "tokens = 3\ndim = 2\nattention = \"causal\"\n[[heads]]\nP = \"identity\"\nU = \"identity\"\n[initial]\ntokens = [[0.6, 0.8], [-0.6, -0.8], [0, 1]]\n";
/// Theorem 6.1 with a negative top eigenvalue (`λ = −2`, gap 0.5; value-top-eigenvalue-positive
/// relaxed): `U y_1 ≈ λ v` pulls token 2 away from `v`, so `V_eigen_2` rises (0.29 → 0.54 on
/// [0, 1] in `attncert simulate`), while token 1 still converges to `v` (the Rayleigh flow).
const NEGATIVE_TOP: &str = "tokens = 2\ndim = 2\nattention = \"causal\"\n[[heads]]\nP = \"identity\"\nU = [[-2, 0], [0, -2.5]]\n[initial]\ntokens = [[1, 0.2], [1, 1]]\n";

fn make_lower(text: &str, theorem: &str, until: f64) -> Certificate {
    let sys = load(text);
    let opts = Options { theorem: theorem.into(), until, order: 6, lower_bounds: true, ..Options::default() };
    certify(&sys, source("t.toml", text), &opts, |_| {}).expect("certify")
}

/// The proved value of the first accepted claim of `kind` (about `function`, if given).
fn proved(ok: &attncert::certificate::check::Accepted, kind: &str, function: Option<&str>) -> f64 {
    ok.claims.iter().find(|p| p.claim.kind == kind && p.claim.function.as_deref() == function).unwrap_or_else(|| panic!("no {kind} {function:?} claim")).proved
}

#[test]
fn an_antipodal_token_is_certified_to_stay_misaligned() {
    for (text, e_min) in [(ANTIPODAL_2, 0.99), (ANTIPODAL_3, 0.6)] {
        let c = make_lower(text, "5.1", 1.0);
        let ok = verify(&c).unwrap_or_else(|r| panic!("{r}"));
        assert_eq!((ok.verdict.as_str(), ok.end_time), ("fails", 1.0));
        let e = proved(&ok, "misalignment-above-at-end", None);
        assert!(e > e_min && e <= 1.0, "E(y(1)) ≥ {e}");
        // V(a) = (1 − a)²(2 + a)/3 is 4/3 at a = −1: token 2 has not moved towards y_1.
        let v2 = proved(&ok, "lyapunov-above-at-end", Some("V_cascade_2"));
        assert!(v2 > 1.333 && v2 <= 4.0 / 3.0, "{v2}");
    }
    // Without the option, no lower bounds are claimed.
    let c = make(ANTIPODAL_2, "5.1", 0.1, Sets::Box);
    assert!(c.claims.iter().all(|c| !c.kind.contains("above") && c.kind != "lyapunov-increase"));
}

#[test]
fn a_negative_top_eigenvalue_lets_v_eigen_2_increase() {
    let c = make_lower(NEGATIVE_TOP, "6.1", 1.0);
    let ok = verify(&c).unwrap_or_else(|r| panic!("{r}"));
    assert_eq!((ok.verdict.as_str(), ok.end_time), ("fails", 1.0));
    let rise = proved(&ok, "lyapunov-increase", Some("V_eigen_2"));
    assert!(rise > 0.2 && rise < 0.3, "V_eigen_2(1) − V_eigen_2(0) ≥ {rise}");
    assert!(proved(&ok, "lyapunov-above-at-end", Some("V_eigen_2")) > 0.5);
    // Token 1 converges all the same: no increase of V_eigen_1 is claimed, its decrease is.
    assert!(ok.claims.iter().all(|p| !(p.claim.kind == "lyapunov-increase" && p.claim.function.as_deref() == Some("V_eigen_1"))));
    assert!(ok.claims.iter().any(|p| p.claim.kind == "lyapunov-nonincreasing"));
}

/// The counterexample certificate shared by the lower-bound tamper tests (short: T = 0.5).
fn lower_base() -> Certificate {
    let c = make_lower(NEGATIVE_TOP, "6.1", 0.5);
    for kind in ["misalignment-above-at-end", "lyapunov-above-at-end", "lyapunov-increase"] {
        assert!(c.claims.iter().any(|c| c.kind == kind), "no {kind} claim");
    }
    c
}

fn claim_of(c: &Certificate, kind: &str) -> usize {
    c.claims.iter().position(|c| c.kind == kind).unwrap()
}

#[test]
fn raised_lower_bounds_are_rejected() {
    let c = lower_base();
    let ok = verify(&c).unwrap_or_else(|r| panic!("{r}"));
    let mut n = 0;
    for (k, p) in ok.claims.iter().enumerate() {
        if !attncert::certificate::ClaimKind::parse(&p.claim.kind).unwrap().is_lower() {
            continue;
        }
        n += 1;
        assert_eq!(p.proved, p.claim.bound, "the producer claims exactly what the checker derives");
        let mut t = c.clone();
        t.claims[k].bound = p.proved + p.proved.abs().max(1e-300) * 1e-9;
        let why = rejected(&t);
        let want = format!("claim {}: {} claims ≥ {:e}, but the certificate proves only ≥ {:e}", k + 1, p.claim.kind, t.claims[k].bound, p.proved);
        assert_eq!(why, want);
    }
    assert!(n >= 4, "E, V_eigen_1, V_eigen_2 and the increase of V_eigen_2");
}

#[test]
fn lower_bounds_that_say_nothing_are_rejected() {
    for (kind, what) in [("misalignment-above-at-end", "a lower bound on E must be > 0"), ("lyapunov-increase", "the bound must be > 0")] {
        for bound in [0.0, -0.0, -1.0] {
            let mut c = lower_base();
            let k = claim_of(&c, kind);
            c.claims[k].bound = bound;
            let why = rejected(&c);
            assert!(why.starts_with(&format!("claim {}:", k + 1)) && why.contains(what), "{why}");
        }
    }
    for kind in ["misalignment-above-at-end", "lyapunov-above-at-end", "lyapunov-increase"] {
        for bound in [f64::NEG_INFINITY, f64::INFINITY, f64::NAN] {
            let mut c = lower_base();
            let k = claim_of(&c, kind);
            c.claims[k].bound = bound;
            assert!(rejected(&c).contains("is not a finite number"), "{kind} {bound}");
        }
    }
}

#[test]
fn lower_bound_claims_name_functions_only_where_their_kind_takes_one() {
    let mut c = lower_base();
    let k = claim_of(&c, "misalignment-above-at-end");
    c.claims[k].function = Some("V_eigen_2".into());
    assert!(rejected(&c).contains("misalignment-above-at-end is about no Lyapunov function, but names 'V_eigen_2'"));
    for kind in ["lyapunov-above-at-end", "lyapunov-increase"] {
        let mut c = lower_base();
        let k = claim_of(&c, kind);
        c.claims[k].function = None;
        assert!(rejected(&c).contains(&format!("{kind} must name a Lyapunov function")));
        c.claims[k].function = Some("V_eigen_3".into());
        assert!(rejected(&c).contains("no Lyapunov function named 'V_eigen_3'"));
    }
    // An increase of the function that does decrease is not proved.
    let mut c = lower_base();
    let k = claim_of(&c, "lyapunov-increase");
    c.claims[k].function = Some("V_eigen_1".into());
    assert!(rejected(&c).contains("lyapunov-increase claims ≥"));
}

/// Without steps `T = 0`: an increase over no time is not a statement, however it is bounded.
#[test]
fn an_empty_certificate_proves_no_increase() {
    let mut c = lower_base();
    c.steps.clear();
    c.claims = vec![Claim { kind: "lyapunov-increase".into(), bound: 1e-300, function: Some("V_eigen_2".into()) }];
    let why = rejected(&c);
    assert!(why.starts_with("claim 1: a certificate without steps proves no increase (T = 0)"), "{why}");
    // Lower bounds at T = 0 do follow from the initial set itself.
    c.claims = vec![Claim { kind: "misalignment-above-at-end".into(), bound: 1e-3, function: None }];
    let ok = verify(&c).expect("E(y(0)) ≥ 1e-3");
    assert_eq!(ok.end_time, 0.0);
    assert!(ok.claims[0].proved > 0.08 && ok.claims[0].proved < 0.09, "E(y(0)) ≈ 0.084: {}", ok.claims[0].proved);
}

#[test]
fn certify_with_lower_bounds_and_verify_print_them_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let sys = dir.path().join("neg.toml");
    std::fs::write(&sys, NEGATIVE_TOP).unwrap();
    let cert = dir.path().join("c.json");
    let c = cert.to_str().unwrap();
    let (code, out, err) = run(&["certify", sys.to_str().unwrap(), "--theorem", "6.1", "--until", "0.5", "--lower-bounds", "-o", c]);
    assert_eq!(code, 3, "the theorem does not apply: {out}{err}");
    assert!(out.contains("\n  lyapunov-increase V_eigen_2 >= ") && out.contains("\n  misalignment-at-end <= "), "{out}");
    let (code, out, _) = run(&["verify", c]);
    assert_eq!(code, 0, "{out}");
    let line = out.lines().find(|l| l.starts_with("  lyapunov-increase V_eigen_2 >= ")).unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains("(proved >= "), "{line}");
    assert!(out.lines().any(|l| l.starts_with("  misalignment-above-at-end >= ")), "{out}");
    assert!(out.lines().any(|l| l.starts_with("  lyapunov-at-end V_eigen_2 <= ") && l.contains("(proved <= ")), "{out}");
}
