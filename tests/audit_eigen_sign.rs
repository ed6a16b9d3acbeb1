//! Red-team attacks (round 3) on Theorem 6.1's eigenvector sign and the checker. Every test
//! asserts that something false is REJECTED, or that the checker's `V_eigen_i` is the same
//! function `attncert simulate` reports. A failing test is a finding.

use std::path::Path;

use attncert::certificate::lyapunov::{self, Family};
use attncert::model::{self, Monitor};
use attncert::system::{doc, System};

fn load(text: &str) -> System {
    let v = doc::parse_toml(Path::new("t.toml"), text).expect("toml");
    System::from_value(Path::new("t.toml"), &v).expect("system")
}

/// The checker's signed `v` (None when it refuses) and simulate's (None when no monitor).
fn both_v(text: &str, theorem: &str) -> (Option<Vec<f64>>, Option<Vec<f64>>) {
    let sys = load(text);
    let chk = lyapunov::setup(&sys, theorem, false, 0.0).ok().map(|f| match f.family {
        Family::Eigen { v, .. } => v.iter().map(|x| x.mid()).collect(),
        _ => unreachable!(),
    });
    let sim = model::monitors(&sys).into_iter().find_map(|m| match m {
        Monitor::EigenToken(v, 0) => Some(v),
        _ => None,
    });
    (chk, sim)
}

fn sys2(u: [[f64; 2]; 2], toks: &[[f64; 2]]) -> String {
    let t: Vec<String> = toks.iter().map(|r| format!("[{:e}, {:e}]", r[0], r[1])).collect();
    format!(
        "tokens = {}\ndim = 2\nattention = \"causal\"\n[[heads]]\nP = \"identity\"\nU = [[{:e}, {:e}], [{:e}, {:e}]]\n[initial]\ntokens = [{}]\n",
        toks.len(), u[0][0], u[0][1], u[1][0], u[1][1], t.join(", ")
    )
}

/// Search: small (but simulate-accepted) eigenvalue gaps, tokens balanced around `v` to the
/// eigenvector error. Whenever the checker fixes a side, simulate must pick the same one.
#[test]
fn eigen_sign_search_small_gap() {
    let mut found = Vec::new();
    let mut decided = 0;
    for k in 0..60 {
        let gapexp = 20 + (k % 10); // c = 1 - 2^-gapexp
        let bexp = gapexp - 3 + (k / 10) * 2;
        let (a, b, c) = (1.0f64, 2f64.powi(-bexp), 1.0 - 2f64.powi(-gapexp));
        let u = [[a, b], [b, c]];
        // simulate's v
        let m = nalgebra::DMatrix::from_row_slice(2, 2, &[a, b, b, c]);
        let e = nalgebra::SymmetricEigen::new(m);
        let i = if e.eigenvalues[0] > e.eigenvalues[1] { 0 } else { 1 };
        let phi = e.eigenvectors[(1, i)].atan2(e.eigenvectors[(0, i)]);
        for j in -200..=200 {
            let tau = j as f64 * 2f64.powi(gapexp - 52) * 0.3;
            let mid = phi + std::f64::consts::FRAC_PI_2 + tau;
            let (t1, t2) = (mid + 0.3, mid - 0.3);
            let toks = [[t1.cos(), t1.sin()], [t2.cos(), t2.sin()]];
            let text = sys2(u, &toks);
            let (chk, sim) = both_v(&text, "6.1");
            if let (Some(cv), Some(sv)) = (&chk, &sim) {
                decided += 1;
                let d = cv[0] * sv[0] + cv[1] * sv[1];
                if d < 0.0 {
                    found.push(text.clone());
                }
            }
        }
    }
    eprintln!("decided {decided}, disagreements {}", found.len());
    if let Some(t) = found.first() {
        std::fs::write("/tmp/rt3/sign.toml", t).unwrap();
    }
    assert!(found.is_empty(), "checker and simulate pick opposite v for:\n{}", found[0]);
}

/// 3-d search: random symmetric `U` with small gaps (dyadic entries), three tokens whose
/// normalised sum is nearly orthogonal to `v`, token literals with extra decimal digits (so the
/// checker's exact literal and simulate's double differ), metric `W = I` and `W = P = I`.
#[test]
fn eigen_sign_search_3d_literals() {
    let mut seed = 0x9e3779b97f4a7c15u64;
    let mut rnd = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let (mut decided, mut found) = (0, Vec::new());
    for k in 0..300 {
        let g = 2f64.powi(-(18 + (k % 14)));
        let q = |x: f64| (x * 1024.0).round() / 1024.0;
        let mut m = [[q(rnd()) * g, q(rnd()) * g, q(rnd()) * g], [0.0, 0.0, q(rnd()) * g], [0.0, 0.0, 0.0]];
        m[1][0] = m[0][1];
        m[2][0] = m[0][2];
        m[2][1] = m[1][2];
        m[0][0] += 1.0;
        m[1][1] += 1.0 - 4.0 * g;
        m[2][2] += 1.0 - 8.0 * g;
        let mm = nalgebra::DMatrix::from_fn(3, 3, |i, j| m[i][j]);
        let e = nalgebra::SymmetricEigen::new(mm);
        let top = (0..3).max_by(|&a, &b| e.eigenvalues[a].total_cmp(&e.eigenvalues[b])).unwrap();
        let v = e.eigenvectors.column(top).clone_owned();
        let w1 = nalgebra::DVector::from_vec(vec![rnd(), rnd(), rnd()]);
        let p = (&w1 - &v * v.dot(&w1)).normalize();
        let r = v.cross(&p);
        for j in -60..=60 {
            let tau = j as f64 * 2e-17 / g;
            // three unit tokens: ±0.5 r + p, sum ∝ p, tilted by tau towards v
            let t = [&p + &r * 0.5 + &v * tau, &p - &r * 0.5 + &v * tau, &p * 0.3 - &r * 0.1 + &v * tau * 0.2];
            let lit = |x: f64| format!("{:.17e}", x).replacen('e', "3e", 1);
            let toks: Vec<String> = t.iter().map(|y| format!("[{}, {}, {}]", lit(y[0]), lit(y[1]), lit(y[2]))).collect();
            let metric = if k % 2 == 0 { "" } else { "metric = \"P\"\n" };
            let text = format!(
                "tokens = 3\ndim = 3\nattention = \"causal\"\n{metric}[[heads]]\nP = \"identity\"\nU = [[{:e}, {:e}, {:e}], [{:e}, {:e}, {:e}], [{:e}, {:e}, {:e}]]\n[initial]\ntokens = [{}]\n",
                m[0][0], m[0][1], m[0][2], m[1][0], m[1][1], m[1][2], m[2][0], m[2][1], m[2][2], toks.join(", ")
            );
            let (chk, sim) = both_v(&text, "6.1");
            if let (Some(cv), Some(sv)) = (&chk, &sim) {
                decided += 1;
                if cv.iter().zip(sv).map(|(a, b)| a * b).sum::<f64>() < 0.0 {
                    found.push(text.clone());
                }
            }
        }
    }
    eprintln!("3d: decided {decided}, disagreements {}", found.len());
    assert!(decided > 0);
    assert!(found.is_empty(), "checker and simulate pick opposite v for:\n{}", found[0]);
}
