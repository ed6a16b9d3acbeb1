//! Doubleton sets `x + C·u + B·r` (certificate format 5): the checker accepts them only with a
//! proof, every field tampered with is rejected with the step and the reason, solutions from
//! the corners of the initial box stay inside them, and version-4 certificates still verify.

mod common;

use std::path::Path;

use attncert::certificate::check::verify;
use attncert::certificate::{Certificate, SystemSource};
use attncert::certify::{certify, Options, Sets};
use attncert::model::{self, Kernel};
use attncert::system::{doc, System};
use nalgebra::DMatrix;
use proptest::prelude::*;

fn load(text: &str) -> System {
    let v = doc::parse_toml(Path::new("t.toml"), text).expect("toml");
    System::from_value(Path::new("t.toml"), &v).expect("system")
}

fn make(text: &str, until: f64, radius: f64) -> Certificate {
    let sys = load(text);
    let opts = Options { theorem: "3.2".into(), until, order: 6, radius, sets: Sets::Doubleton, ..Options::default() };
    let source = SystemSource { file: "t.toml".into(), format: "toml".into(), text: text.into() };
    certify(&sys, source, &opts, |_| {}).expect("certify")
}

/// Section 7.1 over `[0, 0.3]` from a box of half-width 1e-4: every step ends in a doubleton.
fn base() -> Certificate {
    let text = std::fs::read_to_string(common::repo("theorems/examples/sec7_1.toml")).unwrap();
    let c = make(&text, 0.3, 1e-4);
    assert!(c.steps.len() >= 3, "need a few steps to tamper with");
    assert!(c.steps.iter().all(|s| s.end.linear.is_some()), "every end is a doubleton");
    c
}

fn rejected(c: &Certificate) -> String {
    match verify(c) {
        Ok(_) => panic!("a tampered certificate was accepted"),
        Err(r) => r.to_string(),
    }
}

#[test]
fn doubleton_certificates_verify_and_round_trip() {
    let c = base();
    assert_eq!(c.version, 5);
    verify(&c).unwrap_or_else(|r| panic!("{r}"));
    let back = Certificate::parse(Path::new("c.json"), &c.to_json()).unwrap();
    assert_eq!(back, c);
}

#[test]
fn every_doubleton_field_tampered_is_rejected() {
    let c = base();
    let lin = |c: &mut Certificate| c.steps[1].end.linear.as_mut().unwrap().clone();
    let set_lin = |c: &mut Certificate, l| c.steps[1].end.linear = Some(l);
    type Tamper<'a> = Box<dyn Fn(&mut Certificate) + 'a>;
    let cases: Vec<(&str, Tamper)> = vec![
        // C shrunk: the initial box's image no longer fits, r' would have to absorb it.
        ("step 2: end does not contain the flow", Box::new(|c| {
            let mut l = lin(c);
            l.matrix.iter_mut().for_each(|x| *x *= 1e-3);
            set_lin(c, l);
        })),
        // u narrowed: the start's linear coefficients are not in it.
        ("step 2: the start set's linear coefficient 1", Box::new(|c| {
            let mut l = lin(c);
            l.lo[0] = 0.5 * (l.lo[0] + l.hi[0]);
            set_lin(c, l);
        })),
        ("step 2: end.linear: coordinate 3 has lo", Box::new(|c| {
            let mut l = lin(c);
            (l.lo[2], l.hi[2]) = (l.hi[2], l.lo[2] - 1.0);
            set_lin(c, l);
        })),
        ("step 2: end: linear.matrix has", Box::new(|c| {
            let mut l = lin(c);
            l.matrix.pop();
            set_lin(c, l);
        })),
        ("step 2: end: linear.matrix has", Box::new(|c| {
            let mut l = lin(c);
            l.matrix[7] = f64::NAN;
            set_lin(c, l);
        })),
        ("step 2: end.linear has", Box::new(|c| {
            let mut l = lin(c);
            l.hi.pop();
            set_lin(c, l);
        })),
        // B shrunk: the accumulated errors no longer fit.
        ("step 2: end does not contain the flow", Box::new(|c| c.steps[1].end.matrix.as_mut().unwrap().iter_mut().for_each(|x| *x *= 1e-3))),
        ("step 2: end does not contain the flow", Box::new(|c| {
            let e = &mut c.steps[1].end;
            let w = (e.hi[0] - e.lo[0]).max(1e-15);
            e.lo[0] += 2.0 * w;
            e.hi[0] += 2.0 * w;
        })),
        ("step 2: end does not contain the flow", Box::new(|c| c.steps[1].end.center.as_mut().unwrap()[4] += 1e-3)),
        ("step 2: end: center and matrix come together", Box::new(|c| c.steps[1].end.center = None)),
        ("step 2: end: center and matrix come together", Box::new(|c| {
            c.steps[1].end.center = None;
            c.steps[1].end.matrix = None;
        })),
        ("step 2: box must be a plain box", Box::new(|c| c.steps[1].apriori.linear = c.steps[1].end.linear.clone())),
        ("not a attncert-certificate", Box::new(|c| c.version = 3)),
        ("a version-4 certificate has no doubleton sets", Box::new(|c| c.version = 4)),
    ];
    for (want, tamper) in cases {
        let mut t = c.clone();
        tamper(&mut t);
        let why = rejected(&t);
        assert!(why.starts_with(want) || why.contains(want), "wanted '{want}', got '{why}'");
    }
    // An order-1 step has no linear part to carry over: a doubleton end after it is refused
    // (by the a-priori check or by the end's kind, whichever comes first), never accepted.
    let mut t = c.clone();
    t.steps[1].order = 1;
    rejected(&t);
}

/// A doubleton end keeps the initial box's image exact up to the steps' errors: the final width
/// is that of the first-order image (here within 1% of the float Jacobian's), where boxes wrap.
#[test]
fn doubletons_are_tighter_than_boxes() {
    let text = std::fs::read_to_string(common::repo("theorems/examples/sec7_1.toml")).unwrap();
    let width = |c: &Certificate| {
        let (lo, hi) = c.steps.last().unwrap().end.approx_hull();
        lo.iter().zip(&hi).map(|(l, h)| h - l).fold(0.0, f64::max)
    };
    let d = make(&text, 1.0, 1e-6);
    let sys = load(&text);
    let opts = Options { theorem: "3.2".into(), until: 1.0, order: 6, radius: 1e-6, sets: Sets::Box, ..Options::default() };
    let source = SystemSource { file: "t.toml".into(), format: "toml".into(), text: text.clone() };
    let b = certify(&sys, source, &opts, |_| {}).unwrap();
    verify(&d).unwrap();
    // The true width at T = 1 (bench/true_width): 4.615e-6.
    assert!(width(&d) < 1.01 * 4.615e-6, "doubleton width {:e}", width(&d));
    assert!(width(&d) < width(&b), "doubleton {:e}, box {:e}", width(&d), width(&b));
}

/// The default sets (`Sets::Auto`): a point set run to a misalignment target ends every step in
/// a box, with the step budget from the claim's margin (recorded in the producer's method), and
/// verifies; a box of initial states to the same target, or a point set without one, keeps
/// doubletons.
#[test]
fn auto_sets_are_boxes_only_for_point_sets_to_a_target() {
    let text = std::fs::read_to_string(common::repo("theorems/examples/sec7_1.toml")).unwrap();
    let run = |radius: f64, target: Option<f64>| {
        let opts = Options { theorem: "3.2".into(), until: 0.3, until_misalignment: target, radius, ..Options::default() };
        assert_eq!(opts.sets, Sets::Auto, "the default");
        let source = SystemSource { file: "t.toml".into(), format: "toml".into(), text: text.clone() };
        let c = certify(&load(&text), source, &opts, |_| {}).expect("certify");
        verify(&c).unwrap_or_else(|r| panic!("r = {radius}, target {target:?}: {r}"));
        c
    };
    let point = run(0.0, Some(1e-6));
    assert!(point.steps.len() >= 2 && point.steps.iter().all(|s| s.end.matrix.is_none() && s.end.linear.is_none()), "boxes");
    assert!(point.producer.method.contains("Box sets") && point.producer.method.contains("at least 1e-7, from the claims' margin"), "{}", point.producer.method);
    for (radius, target) in [(1e-6, Some(1e-6)), (0.0, None)] {
        let c = run(radius, target);
        assert!(c.steps.iter().all(|s| s.end.linear.is_some()), "r = {radius}, target {target:?}: doubletons");
    }
}

#[test]
fn version_4_certificates_still_verify() {
    let c = Certificate::load(&common::repo("tests/systems/v4_tiny_certificate.json")).unwrap();
    assert_eq!(c.version, 4);
    verify(&c).unwrap_or_else(|r| panic!("{r}"));
}

/// `y(t1)` from `y` at `t0` by classical RK4 with steps of at most 1e-3 (float, error ~1e-13).
fn rk4(k: &mut Kernel, mut y: DMatrix<f64>, t0: f64, t1: f64) -> DMatrix<f64> {
    let steps = ((t1 - t0) / 1e-3).ceil().max(1.0) as usize;
    let h = (t1 - t0) / steps as f64;
    let z = || DMatrix::zeros(y.nrows(), y.ncols());
    let (mut k1, mut k2, mut k3, mut k4) = (z(), z(), z(), z());
    for s in 0..steps {
        let t = t0 + s as f64 * h;
        k.rhs(t, &y, &mut k1);
        k.rhs(t + h / 2.0, &(&y + &k1 * (h / 2.0)), &mut k2);
        k.rhs(t + h / 2.0, &(&y + &k2 * (h / 2.0)), &mut k3);
        k.rhs(t + h, &(&y + &k3 * h), &mut k4);
        y += (&k1 + &k2 * 2.0 + &k3 * 2.0 + &k4) * (h / 6.0);
    }
    y
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10, ..ProptestConfig::default() })]

    /// Solutions from corners of the initial box (the normalised tokens ± r in every
    /// coordinate) are inside every step's doubleton end (its hull, up to the float solver's
    /// error), for random tokens under the 7.1 matrices.
    #[test]
    fn corner_solutions_stay_in_doubletons(
        l in 2usize..5,
        toks in prop::collection::vec(-90i32..90, 15),
        signs in prop::collection::vec(any::<bool>(), 15),
        radius in prop::sample::select(vec![1e-6, 1e-4, 1e-3]),
    ) {
        let rows: Vec<String> = (0..l).map(|i| format!("[{}, {}, {}]", 1.0 + toks[3 * i] as f64 / 100.0, toks[3 * i + 1] as f64 / 100.0, toks[3 * i + 2] as f64 / 100.0)).collect();
        let text = format!(
            "tokens = {l}\ndim = 3\nattention = \"full\"\nmetric = \"P\"\n[[heads]]\nP = [[0.9432, 0.0587, -0.1813], [0.0587, 0.845, -0.1013], [-0.1813, -0.1013, 0.5519]]\nU = \"identity\"\n[initial]\ntokens = [{}]\n",
            rows.join(", ")
        );
        let c = make(&text, 0.5, radius);
        prop_assert!(verify(&c).is_ok(), "{:?}", verify(&c).err());
        let sys = load(&text);
        let mut kernel = Kernel::new(&sys);
        let mut y = model::initial_state(&sys);
        // A corner, a hair inside (the float normalisation may differ from the exact one in the
        // last bits).
        for (v, &up) in y.as_mut_slice().iter_mut().zip(&signs) {
            *v += if up { radius } else { -radius } * (1.0 - 1e-9);
        }
        let (mut t, slack) = (0.0, 1e-10);
        for (k, step) in c.steps.iter().enumerate() {
            y = rk4(&mut kernel, y, t, step.t1);
            t = step.t1;
            let (lo, hi) = step.end.approx_hull();
            for (i, &v) in y.as_slice().iter().enumerate() {
                prop_assert!(lo[i] - slack <= v && v <= hi[i] + slack, "step {}: {} not in [{}, {}]", k + 1, v, lo[i], hi[i]);
            }
        }
    }
}
