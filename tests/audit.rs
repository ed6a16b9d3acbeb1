//! Red-team attacks on `attncert verify`: every test here asserts that something false is
//! REJECTED (or that an accepted certificate is true along independent float solutions).
//! A failing test is a finding.

mod common;

use std::path::Path;

use attncert::certificate::check::verify;
use attncert::certificate::flow::{self, Dynamics, Set};
use attncert::certificate::{BoxSet, Certificate, SystemSource};
use attncert::certify::{certify, Options, Sets};
use attncert::model::reference::{self, ModelAt};
use attncert::system::{doc, Attention, Normalization, System};
use nalgebra::DMatrix;

fn source(text: &str) -> SystemSource {
    SystemSource { file: "t.toml".into(), format: "toml".into(), text: text.into() }
}

fn load(text: &str) -> System {
    let v = doc::parse_toml(Path::new("t.toml"), text).expect("toml");
    System::from_value(Path::new("t.toml"), &v).expect("system")
}

fn make(text: &str, theorem: &str, until: f64, order: u32, q: u32, radius: f64, sets: Sets) -> Certificate {
    let sys = load(text);
    // A fixed tolerance: `tighten` swaps the producer's end sets for the checker's own boxes and
    // keeps the claims, which holds only while boxes are as tight as the producer's sets; with
    // the default tolerance for point sets (near rounding level) QR sets are tighter in the last
    // bits than the boxes, and the kept claims fail by an ulp (no false accept: a rejection).
    let opts = Options { theorem: theorem.into(), until, order, variational_order: q, radius, sets, tolerance: Some(1e-8), ..Options::default() };
    certify(&sys, source(text), &opts, |_| {}).expect("certify")
}

/// `f(t, y)` of model (7) in f64, straight from the definition (no projection).
fn rhs(sys: &System, t: f64, y: &[f64]) -> Vec<f64> {
    let d = sys.dim;
    let rows = |m: DMatrix<f64>| (0..d).map(|i| (0..d).map(|j| m[(i, j)]).collect()).collect::<Vec<Vec<f64>>>();
    let heads = sys.heads.iter().map(|h| (rows(h.p.eval(t, d)), rows(h.u.eval(t, d)))).collect();
    let z = match sys.normalization {
        Normalization::Paper => (d as f64).sqrt(),
        Normalization::Softmax => 1.0,
    };
    let m = ModelAt { heads, w: rows(sys.metric_f64()), causal: sys.attention == Attention::Causal, z_factor: z };
    let toks: Vec<Vec<f64>> = y.chunks(d).map(<[f64]>::to_vec).collect();
    reference::rhs(&m, &toks).concat()
}

/// Times where a test system's matrices have kinks or jumps (integration restarts there).
const KINKS: [f64; 2] = [0.013, 0.021];

/// Classic RK4 from t0 to t1 with `n` substeps, split at the system's breakpoints.
fn integrate(sys: &System, t0: f64, t1: f64, y: &[f64], n: usize) -> Vec<f64> {
    let mut cuts = vec![t0];
    cuts.extend(sys.breakpoints(t0, t1).into_iter().filter(|&b| b > t0 && b < t1));
    cuts.extend(KINKS.iter().copied().filter(|&b| b > t0 && b < t1));
    cuts.sort_by(f64::total_cmp);
    cuts.push(t1);
    let mut y = y.to_vec();
    for w in cuts.windows(2) {
        let (a, b) = (w[0], w[1]);
        let h = (b - a) / n as f64;
        for k in 0..n {
            let t = a + k as f64 * h;
            // Evaluate strictly inside the piece (the right-continuous layer).
            let eps = 0.0;
            let k1 = rhs(sys, t + eps, &y);
            let y2: Vec<f64> = y.iter().zip(&k1).map(|(a, b)| a + 0.5 * h * b).collect();
            let k2 = rhs(sys, t + 0.5 * h, &y2);
            let y3: Vec<f64> = y.iter().zip(&k2).map(|(a, b)| a + 0.5 * h * b).collect();
            let k3 = rhs(sys, t + 0.5 * h, &y3);
            let y4: Vec<f64> = y.iter().zip(&k3).map(|(a, b)| a + h * b).collect();
            let k4 = rhs(sys, (t + h).min(b - 1e-15 * b.abs().max(1.0)), &y4);
            for i in 0..y.len() {
                y[i] += h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
            }
        }
    }
    y
}

/// The normalised exact tokens in f64.
fn initial(sys: &System) -> Vec<f64> {
    let y = sys.initial_raw_f64();
    let w = sys.metric_f64();
    let mut out = vec![];
    for j in 0..sys.tokens {
        let c = y.column(j).into_owned();
        let n = c.dot(&(&w * &c)).sqrt();
        out.extend(c.iter().map(|x| x / n));
    }
    out
}

/// How far `y` is outside the set (0 if inside), in the set's coordinates.
fn outside(set: &BoxSet, y: &[f64]) -> f64 {
    let n = y.len();
    let r: Vec<f64> = match (&set.center, &set.matrix) {
        (Some(x), Some(m)) => {
            let b = DMatrix::from_row_slice(n, n, m);
            let v = DMatrix::from_fn(n, 1, |i, _| y[i] - x[i]);
            let r = b.lu().solve(&v).unwrap();
            r.iter().copied().collect()
        }
        _ => y.to_vec(),
    };
    r.iter().zip(set.lo.iter().zip(&set.hi)).map(|(&v, (&lo, &hi))| (lo - v).max(v - hi).max(0.0)).fold(0.0, f64::max)
}

/// Follows float solutions from `starts` through every step, checking the end sets and boxes.
/// Returns the worst excursion outside an end set / box.
fn audit(cert: &Certificate, starts: &[Vec<f64>]) -> (f64, f64) {
    let sys = load(&cert.system.text);
    let (mut worst_end, mut worst_box) = (0.0f64, 0.0f64);
    for y0 in starts {
        let mut y = y0.clone();
        for s in &cert.steps {
            // Box at a few times inside the step.
            let tm = s.t0 + 0.5 * (s.t1 - s.t0);
            let ym = integrate(&sys, s.t0, tm, &y, 16);
            worst_box = worst_box.max(outside(&s.apriori, &ym));
            y = integrate(&sys, s.t0, s.t1, &y, 32);
            worst_end = worst_end.max(outside(&s.end, &y));
        }
    }
    (worst_end, worst_box)
}

/// Corners and centre of the initial box.
fn starts(sys: &System, radius: f64, k: usize) -> Vec<Vec<f64>> {
    let c = initial(sys);
    let mut out = vec![c.clone()];
    let mut seed = 12345u64;
    for _ in 0..k {
        let y: Vec<f64> = c
            .iter()
            .map(|&x| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let s = if (seed >> 33) & 1 == 1 { 1.0 } else { -1.0 };
                x + s * radius
            })
            .collect();
        out.push(y);
    }
    out
}

/// Replaces every end set by the checker's own enclosure (a box, as tight as the checker can
/// justify), keeping the a-priori boxes. What the checker then accepts is exactly its own
/// numerics, with no producer padding.
fn tighten(cert: &mut Certificate) {
    let sys = load(&cert.system.text);
    let dy = Dynamics::new(&sys).unwrap();
    let mut set = Set::from_box(dy.initial(cert.radius).unwrap());
    for s in cert.steps.iter_mut() {
        let n = dy.len();
        let bx: Vec<inari::Interval> = s.apriori.lo.iter().zip(&s.apriori.hi).map(|(&a, &b)| inari::Interval::try_from((a, b)).unwrap()).collect();
        let over = flow::apriori_holds(&dy, s.t0, s.t1, 3u32.min(s.order), &set.hull_with_center(), &bx).unwrap();
        let rem = flow::remainder(&dy, s.t0, s.t1, s.order, &bx, &over).unwrap();
        let img = flow::image(&dy, (s.t0, s.t1), (s.order, s.variational_order), &set, &bx, &rem).unwrap();
        let hull = img.hull();
        s.end = BoxSet::plain((0..n).map(|i| hull[i].inf()).collect(), (0..n).map(|i| hull[i].sup()).collect());
        set = Set::from_box(hull);
    }
}

fn check_true(name: &str, cert: &Certificate, k: usize, tol: f64) {
    eprintln!("{name}: {} steps", cert.steps.len());
    let ok = verify(cert).unwrap_or_else(|r| panic!("{name}: rejected: {r}"));
    let sys = load(&cert.system.text);
    let (e, b) = audit(cert, &starts(&sys, cert.radius, k));
    eprintln!("{name}: verdict {}, {} steps, T = {}, worst end excursion {e:e}, box {b:e}", ok.verdict, ok.steps, ok.end_time);
    assert!(e <= tol && b <= tol, "{name}: FALSE ACCEPT: a float solution leaves an accepted end set by {e:e} / box by {b:e}");
}

fn text(name: &str) -> String {
    std::fs::read_to_string(common::repo(name)).unwrap()
}

#[test]
fn paper_systems_tightened_contain_float_solutions() {
    for (file, th) in [("theorems/examples/sec7_1.toml", "3.2"), ("theorems/examples/sec7_3.toml", "6.1"), ("theorems/examples/sec7_2.toml", "4.1")] {
        for (order, q) in [(5, 1), (12, 3), (20, 12)] {
            let mut c = make(&text(file), th, 0.05, order, q, 0.0, Sets::Box);
            tighten(&mut c);
            check_true(&format!("{file} p={order} q={q}"), &c, 0, 1e-11);
        }
    }
}

/// The red-team system with every corner of the model (tests/systems/weird.toml).
fn weird() -> String {
    std::fs::read_to_string(common::repo("tests/systems/weird.toml")).unwrap()
}

#[test]
fn weird_system_tightened_contains_float_solutions() {
    for (order, q, radius) in [(6, 2, 0.0), (12, 4, 1e-3)] {
        for sets in [Sets::Box, Sets::Qr] {
            let c = make(&weird(), "4.1", 0.04, order, q, radius, sets);
            check_true(&format!("weird p={order} q={q} r={radius} {sets:?} (producer's sets)"), &c, 6, 1e-11);
            let mut c = c;
            tighten(&mut c);
            check_true(&format!("weird p={order} q={q} r={radius} tightened"), &c, 6, 1e-11);
        }
    }
}

#[test]
fn layered_system_tightened_contains_float_solutions() {
    let t = text("fuzz/seeds/parse_system_toml/random_layers.toml");
    for radius in [0.0, 1e-4] {
        let mut c = make(&t, "4.1", 0.6, 8, 3, radius, Sets::Qr);
        check_true(&format!("layers r={radius} (producer's sets)"), &c, 6, 1e-11);
        tighten(&mut c);
        check_true(&format!("layers r={radius} tightened"), &c, 6, 1e-11);
    }
}

/// The claims at their tightest (bound = what the checker proves) against float solutions.
#[test]
fn tightest_claims_hold_along_float_solutions() {
    for (file, th) in [("theorems/examples/sec7_3.toml", "6.1"), ("theorems/examples/sec7_1.toml", "3.2")] {
        let mut c = make(&text(file), th, 0.3, 12, 5, 0.0, Sets::Qr);
        let ok = verify(&c).unwrap();
        for (claim, proved) in c.claims.iter_mut().zip(&ok.claims) {
            claim.bound = proved.proved;
        }
        let ok = verify(&c).unwrap();
        let sys = load(&c.system.text);
        let y = integrate(&sys, 0.0, ok.end_time, &initial(&sys), 3000);
        let d = sys.dim;
        let u: Vec<Vec<f64>> = y.chunks(d).map(|t| { let n = t.iter().map(|x| x * x).sum::<f64>().sqrt(); t.iter().map(|x| x / n).collect() }).collect();
        let e = 1.0 - u.iter().map(|ui| ui.iter().zip(&u[0]).map(|(a, b)| a * b).sum::<f64>()).sum::<f64>() / u.len() as f64;
        for p in &ok.claims {
            eprintln!("{file}: {} {:?} proved {:e}; float E(T) = {e:e}", p.claim.kind, p.claim.function, p.proved);
            if p.claim.kind == "misalignment-at-end" {
                assert!(e <= p.proved + 1e-12, "FALSE ACCEPT: E(T) = {e:e} > proved {:e}", p.proved);
            }
        }
    }
}

/// `midrad::cauchy` / `Sum` at the edges of the double range (subnormal factors, products
/// that underflow, sums that nearly overflow, huge cancellations): every exact sum of
/// endpoint products must lie inside (checked in exact rationals).
#[test]
fn midrad_sums_contain_exact_sums_at_extreme_magnitudes() {
    use attncert::numeric::midrad::{cauchy, Coeffs};
    use inari::Interval;
    use rug::Rational;
    let mut seed = 0x9E3779B97F4A7C15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mags = [0.0, 5e-324, 1e-320, 2.2250738585072014e-308, 1e-300, 1e-160, 1e-20, 1.0, 3.0, 1e20, 1e150, 1e300, 1.7e308];
    let mut bad = 0;
    for _ in 0..20_000 {
        let n = 1 + (next() % 6) as usize;
        let pick = |next: &mut dyn FnMut() -> u64| -> (f64, f64) {
            let m = mags[(next() % mags.len() as u64) as usize] * if next().is_multiple_of(2) { 1.0 } else { -1.0 };
            let x = m * (1.0 + (next() % 1000) as f64 / 997.0);
            let x = if x.is_finite() { x } else { f64::MAX.copysign(m) };
            let w = match next() % 4 {
                0 => 0.0,
                1 => x.abs() * 1e-16,
                2 => mags[(next() % mags.len() as u64) as usize],
                _ => f64::from_bits(1),
            };
            let hi = x + w;
            if hi.is_finite() && hi >= x { (x, hi) } else { (x, x) }
        };
        let (mut a, mut b) = (Coeffs::zeros(n), Coeffs::zeros(n));
        let mut av = vec![];
        let mut bv = vec![];
        for j in 0..n {
            let x = pick(&mut next);
            let y = pick(&mut next);
            a.set(j, Interval::try_from(x).unwrap());
            b.set(j, Interval::try_from(y).unwrap());
            av.push(x);
            bv.push(y);
        }
        let k = n - 1;
        let got = cauchy(a.row(0..n), b.row(0..n), k, 0..n);
        if got.is_empty() {
            bad += 1;
            eprintln!("EMPTY result for {av:?} {bv:?}");
            continue;
        }
        // Every choice of endpoints.
        for mask in 0..(1u32 << (2 * n)).min(64) {
            let mut s = Rational::new();
            for j in 0..n {
                let x = if mask >> (2 * j) & 1 == 1 { av[j].1 } else { av[j].0 };
                let y = if mask >> (2 * j + 1) & 1 == 1 { bv[k - j].1 } else { bv[k - j].0 };
                s += Rational::from_f64(x).unwrap() * Rational::from_f64(y).unwrap();
            }
            let lo_ok = !got.inf().is_finite() || Rational::from_f64(got.inf()).unwrap() <= s;
            let hi_ok = !got.sup().is_finite() || Rational::from_f64(got.sup()).unwrap() >= s;
            if !(lo_ok && hi_ok) {
                bad += 1;
                eprintln!("NOT ENCLOSED: {av:?} x {bv:?}: exact {} not in {got:?}", s.to_f64());
                break;
            }
        }
    }
    assert_eq!(bad, 0, "midrad sums that miss the exact value");
}

/// The audit itself detects an end box that misses the solution (so a 0 excursion means something).
#[test]
fn audit_detects_a_wrong_end_box() {
    let mut c = make(&text("theorems/examples/sec7_1.toml"), "3.2", 0.05, 8, 3, 0.0, Sets::Box);
    tighten(&mut c);
    let k = c.steps.len() / 2;
    let e = &mut c.steps[k].end;
    let w = e.hi[0] - e.lo[0];
    e.lo[0] += 2.0 * w;
    e.hi[0] += 2.0 * w;
    let sys = load(&c.system.text);
    let (ex, _) = audit(&c, &starts(&sys, 0.0, 0));
    assert!(ex > w, "audit missed a shifted end box: {ex:e} vs width {w:e}");
}

/// An auditor's hang: a 190 KB certificate (40 tokens in R^50, one step of order 23 with
/// variational order 23) kept `verify` busy for minutes computing 23 Taylor coefficients of a
/// dense 2000×2000 variational matrix, twice. The checker now refuses a step beyond its work
/// budget before computing any of it.
#[test]
fn verify_of_a_small_certificate_finishes_within_60_s() {
    let (l, d) = (40usize, 50usize);
    let mut seed = 1u64;
    let mut rnd = || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 1000.0
    };
    let toks: Vec<Vec<i64>> = (0..l).map(|_| (0..d).map(|k| { let x = rnd().round() as i64; if k == 0 { x.abs() + 1000 } else { x } }).collect()).collect();
    let rows: Vec<String> = toks.iter().map(|t| format!("[{}]", t.iter().map(|x| format!("{}", *x as f64 / 1000.0)).collect::<Vec<_>>().join(", "))).collect();
    let text = format!("name = \"dos\"\ntokens = {l}\ndim = {d}\nattention = \"full\"\nnormalization = \"paper\"\nmetric = \"identity\"\n\n[[heads]]\nP = \"identity\"\nU = \"identity\"\n\n[initial]\ntokens = [\n{}\n]\n", rows.join(",\n"));
    let mut y0 = vec![];
    for t in &toks {
        let n = t.iter().map(|&x| (x as f64 / 1000.0).powi(2)).sum::<f64>().sqrt();
        y0.extend(t.iter().map(|&x| x as f64 / 1000.0 / n));
    }
    let lo: Vec<f64> = y0.iter().map(|x| x - 0.05).collect();
    let hi: Vec<f64> = y0.iter().map(|x| x + 0.05).collect();
    let json = serde_json::json!({
        "format": "attncert-certificate", "version": 4, "theorem": "4.1",
        "system": {"file": "dos.toml", "format": "toml", "text": text},
        "verdict": "holds", "radius": 0.0, "lyapunov": ["V_hemisphere"],
        "producer": {"program": "x", "method": "x", "stop": "x", "seconds": 0.0},
        "steps": [{"t0": 0.0, "t1": 1e-3, "order": 23, "variational_order": 23,
                   "box": {"lo": lo, "hi": hi}, "end": {"lo": lo, "hi": hi},
                   "values": [[-10.0, 10.0]], "derivative_upper": [10.0], "misalignment": [0.0, 2.0]}],
        "claims": [],
    });
    let cert = Certificate::parse(Path::new("dos.json"), &json.to_string()).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(verify(&cert).err().map(|r| r.to_string()).unwrap_or_else(|| "accepted".into()));
    });
    match rx.recv_timeout(std::time::Duration::from_secs(60)) {
        Ok(why) => assert!(why.contains("too costly"), "{why}"),
        Err(_) => panic!("verify ran > 60 s on a 190 KB certificate (hang / denial of service)"),
    }
}

/// A 256-bit RK4 solution of the Section 7.3 system (formulas written out: P(t) = D(t)·P',
/// causal, one head, W = I, z = sqrt(3)), to decide excursions below f64 resolution.
fn sec7_3_rug(t0: f64, t1: f64, y: &[rug::Float], n: usize) -> Vec<rug::Float> {
    use rug::Float;
    const PREC: u32 = 256;
    let f = |x: f64| Float::with_val(PREC, x);
    let lit = |s: &str| Float::with_val(PREC, Float::parse(s).unwrap());
    let pp = [["0.3598", "0.415", "0.1319"], ["0.0971", "-0.0668", "-0.2046"], ["0.1548", "-0.2102", "0.122"]];
    let uu = [["-0.259", "0.4965", "0.5609"], ["0.4965", "-0.7174", "-0.5003"], ["0.5609", "-0.5003", "-0.0247"]];
    let p0: Vec<Vec<Float>> = pp.iter().map(|r| r.iter().map(|s| lit(s)).collect()).collect();
    let u: Vec<Vec<Float>> = uu.iter().map(|r| r.iter().map(|s| lit(s)).collect()).collect();
    let pi = Float::with_val(PREC, rug::float::Constant::Pi);
    let z = Float::with_val(PREC, 3).sqrt();
    let rhs = |t: &Float, y: &[Float]| -> Vec<Float> {
        let two = f(2.0);
        let dgn = [
            Float::with_val(PREC, &two * Float::with_val(PREC, f(10.0) * &pi * t).cos()),
            Float::with_val(PREC, &two * Float::with_val(PREC, f(10.0) * &pi * t).sin()),
            Float::with_val(PREC, &two * Float::with_val(PREC, f(6.0) * &pi * t).cos()),
        ];
        let p: Vec<Vec<Float>> = (0..3).map(|i| (0..3).map(|j| Float::with_val(PREC, &dgn[i] * &p0[i][j])).collect()).collect();
        let toks: Vec<&[Float]> = y.chunks(3).collect();
        let l = toks.len();
        let mv = |m: &Vec<Vec<Float>>, v: &[Float]| -> Vec<Float> { (0..3).map(|i| (0..3).fold(f(0.0), |s, j| s + Float::with_val(PREC, &m[i][j] * &v[j]))).collect() };
        let dot = |a: &[Float], b: &[Float]| a.iter().zip(b).fold(f(0.0), |s, (x, y)| s + Float::with_val(PREC, x * y));
        let py: Vec<Vec<Float>> = toks.iter().map(|yj| mv(&p, yj)).collect();
        let uy: Vec<Vec<Float>> = toks.iter().map(|yj| mv(&u, yj)).collect();
        let mut out = vec![];
        for i in 0..l {
            let e: Vec<Float> = (0..=i).map(|j| dot(toks[i], &py[j]).exp()).collect();
            let zi = Float::with_val(PREC, e.iter().fold(f(0.0), |s, x| s + x) * &z);
            let mut v = vec![f(0.0), f(0.0), f(0.0)];
            for j in 0..=i {
                let a = Float::with_val(PREC, &e[j] / &zi);
                for k in 0..3 {
                    v[k] += Float::with_val(PREC, &a * &uy[j][k]);
                }
            }
            let c = dot(toks[i], &v);
            for k in 0..3 {
                out.push(Float::with_val(PREC, &v[k] - Float::with_val(PREC, &c * &toks[i][k])));
            }
        }
        out
    };
    let h = Float::with_val(PREC, f(t1) - f(t0)) / n as u32;
    let mut y = y.to_vec();
    for s in 0..n {
        let t = Float::with_val(PREC, f(t0) + Float::with_val(PREC, &h * s as u32));
        let th = Float::with_val(PREC, &t + Float::with_val(PREC, &h / 2u32));
        let t1v = Float::with_val(PREC, &t + &h);
        let add = |y: &[Float], k: &[Float], c: &Float| -> Vec<Float> { y.iter().zip(k).map(|(a, b)| Float::with_val(PREC, a + Float::with_val(PREC, b * c))).collect() };
        let half = Float::with_val(PREC, &h / 2u32);
        let k1 = rhs(&t, &y);
        let k2 = rhs(&th, &add(&y, &k1, &half));
        let k3 = rhs(&th, &add(&y, &k2, &half));
        let k4 = rhs(&t1v, &add(&y, &k3, &h));
        let h6 = Float::with_val(PREC, &h / 6u32);
        for i in 0..y.len() {
            let s = Float::with_val(PREC, &k1[i] + Float::with_val(PREC, &k2[i] * 2u32)) + Float::with_val(PREC, &k3[i] * 2u32) + &k4[i];
            y[i] += Float::with_val(PREC, s * &h6);
        }
    }
    y
}

/// The tightened Section 7.3 certificate at order 20 (f64 audit: excursion ~4e-16, below f64
/// resolution), decided with a 256-bit solution: every end box must contain it exactly.
#[test]
fn sec7_3_order_20_tightened_against_a_256_bit_solution() {
    use rug::Float;
    let t = text("theorems/examples/sec7_3.toml");
    let mut c = make(&t, "6.1", 0.05, 20, 12, 0.0, Sets::Box);
    tighten(&mut c);
    verify(&c).unwrap();
    let sys = load(&t);
    // Exact initial tokens, normalised in 256 bits.
    let raw = [[0.18, 0.01, 0.15], [0.89, -0.54, 0.5], [0.58, -0.84, 0.02], [-0.52, -0.16, 0.6], [0.6, 0.35, 0.18], [0.43, 0.03, -0.26], [0.86, -0.38, 0.01], [-0.34, 0.56, 0.92], [0.72, -0.33, 0.48], [-0.01, -0.63, 0.03]];
    assert_eq!(sys.tokens, raw.len());
    let mut y: Vec<Float> = vec![];
    for r in raw {
        let v: Vec<Float> = r.iter().map(|x| Float::with_val(256, Float::parse(format!("{x}")).unwrap())).collect();
        let n = v.iter().fold(Float::with_val(256, 0), |s, x| s + Float::with_val(256, x * x)).sqrt();
        y.extend(v.into_iter().map(|x| x / &n));
    }
    let mut worst: f64 = f64::NEG_INFINITY;
    for (k, s) in c.steps.iter().enumerate() {
        y = sec7_3_rug(s.t0, s.t1, &y, 400);
        for i in 0..y.len() {
            let (lo, hi) = (s.end.lo[i], s.end.hi[i]);
            let out = (Float::with_val(256, lo) - &y[i]).max(&(Float::with_val(256, &y[i] - hi))).to_f64();
            let margin = out; // > 0: outside
            if margin > worst {
                worst = margin;
            }
            assert!(margin <= 0.0, "FALSE ACCEPT: step {} coordinate {i}: 256-bit y = {} outside accepted end [{lo:e}, {hi:e}] by {margin:e} (width {:e})", k + 1, y[i].to_f64(), hi - lo);
        }
    }
    eprintln!("sec7_3 order 20 tightened: worst signed distance to the end boxes {worst:e} (negative = inside)");
}

/// Duplicate keys: a JSON `Value` keeps the last, so `"verdict": "fails", "verdict": "holds"`
/// read as `holds`. The certificate reader refuses duplicate fields.
#[test]
fn duplicate_keys_are_refused() {
    let text = std::fs::read_to_string(common::repo("certificates/sec7_1.json")).unwrap();
    let twice = text.replacen("\"verdict\":\"holds\"", "\"verdict\":\"fails\",\"verdict\":\"holds\"", 1);
    assert_ne!(twice, text);
    let e = Certificate::parse(Path::new("c.json"), &twice).unwrap_err().to_string();
    assert!(e.contains("duplicate field `verdict`"), "{e}");
}

/// A number a double cannot hold is refused with its field, not read as 0 or ∞: `1e-400`
/// would have made a radius that was never checked look stated.
#[test]
fn unrepresentable_numbers_are_refused() {
    let text = std::fs::read_to_string(common::repo("certificates/sec7_1.json")).unwrap();
    for (from, to, field) in [("\"radius\":0.0", "\"radius\":1e-400", "radius"), ("\"radius\":0.0", "\"radius\":-1e400", "radius")] {
        let bad = text.replacen(from, to, 1);
        assert_ne!(bad, text, "{from}");
        let e = Certificate::parse(Path::new("c.json"), &bad).unwrap_err().to_string();
        assert!(e.contains(&format!("c.json: {field}: the number")) && e.contains("is not representable as a double"), "{e}");
    }
    let bad = text.replacen("\"t1\":", "\"t1\":1e999,\"x\":", 1);
    let e = Certificate::parse(Path::new("c.json"), &bad).unwrap_err().to_string();
    assert!(e.contains("steps[0].t1: the number 1e") && e.contains("would read as inf"), "{e}");
}
