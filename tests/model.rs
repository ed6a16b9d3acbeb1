//! The fast batched kernel against the plain per-token definition, and structural facts of (7).

mod common;

use attncert::model::{self, reference, Kernel};
use attncert::system::{Attention, Normalization, System};
use nalgebra::DMatrix;
use proptest::prelude::*;

/// The plain reference right-hand side for a system at `(t, y)`.
fn reference_rhs(sys: &System, t: f64, y: &DMatrix<f64>) -> DMatrix<f64> {
    let d = sys.dim;
    let rows = |m: DMatrix<f64>| -> Vec<Vec<f64>> { m.row_iter().map(|r| r.iter().copied().collect()).collect() };
    let m = reference::ModelAt {
        heads: sys.heads.iter().map(|h| (rows(h.p.eval(t, d)), rows(h.u.eval(t, d)))).collect(),
        w: rows(sys.metric_f64()),
        causal: sys.attention == Attention::Causal,
        z_factor: if sys.normalization == Normalization::Paper { (d as f64).sqrt() } else { 1.0 },
    };
    let toks: Vec<Vec<f64>> = y.column_iter().map(|c| c.iter().copied().collect()).collect();
    let dy = reference::rhs(&m, &toks);
    DMatrix::from_fn(d, sys.tokens, |i, j| dy[j][i])
}

fn kernel_rhs(sys: &System, t: f64, y: &DMatrix<f64>) -> DMatrix<f64> {
    let mut k = Kernel::new(sys);
    let mut dy = DMatrix::zeros(sys.dim, sys.tokens);
    k.rhs(t, y, &mut dy);
    dy
}

/// A random system as TOML: every structural option of the schema is exercised.
fn arb_system() -> impl Strategy<Value = String> {
    (2usize..5, 1usize..6, 1usize..4, any::<bool>(), any::<bool>(), 0u8..3, 0u8..3, any::<u32>()).prop_map(
        |(d, l, h, causal, paper, ukind, wkind, seed)| {
            let mut s = format!(
                "tokens = {l}\ndim = {d}\nattention = \"{}\"\nnormalization = \"{}\"\n",
                if causal { "causal" } else { "full" },
                if paper { "paper" } else { "softmax" }
            );
            match wkind {
                0 => {}
                1 => {
                    // W = A·Aᵀ + I with a seeded A: symmetric positive definite by construction.
                    let a = DMatrix::from_fn(d, d, |i, j| ((seed as usize + i * 7 + j * 3) % 5) as f64 * 0.1 - 0.2);
                    let w = &a * a.transpose() + DMatrix::identity(d, d);
                    let rows: Vec<Vec<f64>> = (0..d).map(|i| (0..d).map(|j| w[(i.max(j), i.min(j))]).collect()).collect();
                    s += &format!("metric = {}\n", common::matrix(&rows));
                }
                _ => {
                    let diag: Vec<Vec<f64>> =
                        (0..d).map(|i| (0..d).map(|j| if i == j { 1.0 + i as f64 * 0.5 } else { 0.0 }).collect()).collect();
                    s += &format!("metric = {}\n", common::matrix(&diag));
                }
            }
            for k in 0..h {
                let sk = seed as u64 * 7 + k as u64;
                s += &format!(
                    "[[heads]]\nP = {{ diag = [{}], times = {{ random = {{ seed = {sk}, half_width = 1.0 }} }} }}\n",
                    (0..d).map(|i| format!("\"2*cos({}*t) + 0.5\"", i + 1)).collect::<Vec<_>>().join(", ")
                );
                match ukind {
                    0 => s += "U = \"identity\"\n",
                    1 => s += &format!("U = {{ random = {{ seed = {}, half_width = 0.5 }}, make = \"symmetric\" }}\n", sk + 1000),
                    _ => s += &format!("U = {{ scalar = \"1 + t\", times = {{ random = {{ seed = {}, half_width = 0.5 }} }} }}\n", sk + 2000),
                }
            }
            s + &format!("[initial]\nrandom = {{ seed = {seed}, law = \"sphere\" }}\n")
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// The batched GEMM kernel computes the same vector field as the plain definition.
    #[test]
    fn kernel_matches_reference(toml in arb_system(), t in 0.0f64..3.0) {
        let sys = common::system(&toml);
        let y = model::initial_state(&sys);
        let fast = kernel_rhs(&sys, t, &y);
        let plain = reference_rhs(&sys, t, &y);
        let scale = 1.0 + plain.abs().max();
        prop_assert!((&fast - &plain).abs().max() <= 1e-12 * scale, "fast {fast} plain {plain}");
    }

    /// (7) is tangent to E_W: d/dt (y_iᵀ W y_i) = 2 y_iᵀ W ẏ_i = 0.
    #[test]
    fn rhs_is_tangent(toml in arb_system(), t in 0.0f64..3.0) {
        let sys = common::system(&toml);
        let y = model::initial_state(&sys);
        let dy = kernel_rhs(&sys, t, &y);
        let w = sys.metric_f64();
        for i in 0..sys.tokens {
            let wy = &w * y.column(i);
            let radial = wy.dot(&dy.column(i));
            prop_assert!(radial.abs() <= 1e-13 * (1.0 + dy.column(i).norm()), "token {i}: yᵀW ẏ = {radial}");
        }
    }
}

/// Causal attention with U = I: token 1 attends only to itself, and `y_1 − (y_1ᵀ W y_1) y_1 = 0`
/// on E_W, so it never moves.
#[test]
fn causal_first_token_is_fixed() {
    let sys = common::system(
        "tokens = 4\ndim = 3\nattention = \"causal\"\n[[heads]]\nP = [[\"sin(t)\", 1, 0], [0, 2, 0], [0, 0, -1]]\n\
         [[heads]]\nP = { random = { seed = 3, half_width = 2 } }\n[initial]\nrandom = { seed = 9, law = \"sphere\" }\n",
    );
    let y = model::initial_state(&sys);
    for t in [0.0, 0.7, 3.0] {
        let dy = kernel_rhs(&sys, t, &y);
        assert!(dy.column(0).norm() < 1e-15, "token 1 moves: {}", dy.column(0));
        assert!(dy.column(1).norm() > 1e-3);
    }
}

/// Attention rows sum to 1/sqrt(d) (paper) or 1 (softmax), and causal rows vanish above the diagonal.
#[test]
fn attention_rows_are_normalised() {
    for (norm, expect) in [("paper", 1.0 / 3f64.sqrt()), ("softmax", 1.0)] {
        let sys = common::system(&format!(
            "tokens = 5\ndim = 3\nattention = \"causal\"\nnormalization = \"{norm}\"\n[[heads]]\n\
             P = {{ random = {{ seed = 1, half_width = 3 }} }}\n[initial]\nrandom = {{ seed = 2, law = \"sphere\" }}\n"
        ));
        let y = model::initial_state(&sys);
        let a = Kernel::new(&sys).attention_matrices(0.0, &y).remove(0);
        for i in 0..5 {
            let s: f64 = a.row(i).sum();
            assert!((s - expect).abs() < 1e-14, "{norm}: row {i} sums to {s}");
            for j in i + 1..5 {
                assert_eq!(a[(i, j)], 0.0);
            }
        }
    }
}

/// A random system the reduced kernel applies to: `U = I`, `P = s(t)·diag(δ(t))·C`.
fn arb_reducible() -> impl Strategy<Value = String> {
    (2usize..6, 1usize..6, 1usize..3, any::<bool>(), any::<bool>(), any::<u32>()).prop_map(|(d, l, h, causal, metric, seed)| {
        let mut s = format!("tokens = {l}\ndim = {d}\nattention = \"{}\"\n", if causal { "causal" } else { "full" });
        if metric {
            let rows: Vec<Vec<f64>> = (0..d).map(|i| (0..d).map(|j| if i == j { 1.0 + 0.25 * i as f64 } else { 0.0 }).collect()).collect();
            s += &format!("metric = {}\n", common::matrix(&rows));
        }
        for k in 0..h {
            let diag: Vec<String> = (0..d).map(|i| format!("\"abs(2*sin({}*t + {k}))\"", i + 1)).collect();
            s += &format!(
                "[[heads]]\nP = {{ scalar = \"1 + 0.5*cos(t)\", times = {{ diag = [{}], times = {{ random = {{ seed = {}, half_width = 1 }} }} }} }}\n",
                diag.join(", "),
                seed as u64 + k as u64
            );
        }
        s + &format!("[initial]\nrandom = {{ seed = {seed}, law = \"sphere\" }}\n")
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    /// The reduced kernel (`Y = Y₀Φ`) computes the same vector field: `Y₀·Φ̇ = Ẏ` at `Y = Y₀Φ`,
    /// for a state Φ away from the identity.
    #[test]
    fn reduced_matches_batched(toml in arb_reducible(), t in 0.0f64..3.0, mix in 0.0f64..0.3) {
        let sys = common::system(&toml);
        let y0 = model::initial_state(&sys);
        let l = sys.tokens;
        let mut r = attncert::model::reduced::Reduced::new(&sys, &y0).expect("reducible");
        let mut phi = DMatrix::from_fn(l, l, |i, j| if i == j { 1.0 } else { mix * ((i * 3 + j) % 5) as f64 / 5.0 });
        r.project(&mut phi);
        let y = &y0 * &phi;
        let mut dphi = DMatrix::zeros(l, l);
        r.rhs(t, &phi, &mut dphi);
        let fast = &y0 * dphi;
        let plain = reference_rhs(&sys, t, &y);
        prop_assert!((&fast - &plain).abs().max() <= 1e-11 * (1.0 + plain.abs().max()), "reduced {fast} plain {plain}");
    }
}

/// Whole trajectories agree between the kernels (7.4's structure at a small size).
#[test]
fn reduced_and_batched_trajectories_agree() {
    use attncert::simulate::{simulate_full, Averaging, KernelChoice, Method};
    let simulate_with = |sys: &System, m: Method, k: KernelChoice, times: &[f64]| simulate_full(sys, m, k, Averaging::Off, times);
    let sys = common::system(
        "tokens = 6\ndim = 12\nattention = \"causal\"\n[[heads]]\n\
         P = { diag = [\"abs(2*sin(0.3*t+1))\", \"abs(2*sin(0.7*t+2))\", \"1\", \"2\", \"abs(sin(t))\", \"1\", \"1\", \"1\", \"1\", \"1\", \"1\", \"cos(t)\"], times = { random = { seed = 4, half_width = 0.5 } } }\n\
         [initial]\nrandom = { seed = 5, law = \"uniform-box\", half_width = 0.5 }\n",
    );
    let m = Method::Dopri5 { rtol: 1e-11, atol: 1e-13 };
    let a = simulate_with(&sys, m, KernelChoice::Batched, &[5.0]).unwrap();
    let b = simulate_with(&sys, m, KernelChoice::Reduced, &[5.0]).unwrap();
    assert!((a.final_state - b.final_state).abs().max() < 1e-8);
    let d = simulate_with(&sys, Method::Discrete { tau: 0.1 }, KernelChoice::Batched, &[5.0]).unwrap();
    let e = simulate_with(&sys, Method::Discrete { tau: 0.1 }, KernelChoice::Reduced, &[5.0]).unwrap();
    assert!((d.final_state - e.final_state).abs().max() < 1e-11);
}

/// A 7.4-like system at a small size: `|2 sin(ωt + φ)|` diagonal entries (kinks), causal.
fn kinked_system(kinked: bool) -> System {
    let diag: Vec<String> = (0..12)
        .map(|i| {
            let (w, p) = (0.4 + 0.13 * i as f64, 0.7 * i as f64);
            if kinked { format!("\"abs(2*sin({w}*t + {p}))\"") } else { format!("\"2*sin({w}*t + {p})\"") }
        })
        .collect();
    common::system(&format!(
        "tokens = 6\ndim = 12\nattention = \"causal\"\n[[heads]]\n\
         P = {{ diag = [{}], times = {{ random = {{ seed = 4, half_width = 1.5 }} }} }}\n\
         [initial]\nrandom = {{ seed = 5, law = \"uniform-box\", half_width = 0.5 }}\n",
        diag.join(", ")
    ))
}

fn final_error(sys: &System, m: attncert::simulate::Method, av: attncert::simulate::Averaging, reference: &DMatrix<f64>) -> (f64, u64) {
    use attncert::simulate::{simulate_full, KernelChoice};
    let t = simulate_full(sys, m, KernelChoice::Reduced, av, &[20.0]).unwrap();
    ((&t.final_state - reference).abs().max(), t.stats.rhs_evals)
}

/// The moment method against pointwise stages at equal evaluations, on kinked coefficients:
/// the same RK4 steps, several times more accurate; and the defaults (dopri5, 2 moments, the
/// step cap) stay within 1e-6 in every entry of `Φ` (1.5e-7 measured: the cap was chosen on the
/// paper's 7.4, whose kinks are weaker than this `P` with entries up to 1.5).
#[test]
fn moments_beat_pointwise_stages_on_kinks() {
    use attncert::simulate::{simulate_full, Averaging, KernelChoice, Method};
    let sys = kinked_system(true);
    let tight = Method::Dop853 { rtol: 1e-13, atol: 1e-15 };
    let reference = simulate_full(&sys, tight, KernelChoice::Reduced, Averaging::Off, &[20.0]).unwrap().final_state;
    for h in [0.2, 0.1] {
        let (pointwise, n1) = final_error(&sys, Method::Rk4 { h }, Averaging::Off, &reference);
        let (averaged, n2) = final_error(&sys, Method::Rk4 { h }, Averaging::Moments(2), &reference);
        assert_eq!(n1, n2);
        assert!(averaged * 3.0 < pointwise, "h = {h}: averaged {averaged:e}, pointwise {pointwise:e}");
    }
    let (dopri5, _) = final_error(&sys, Method::Dopri5 { rtol: 1e-10, atol: 1e-12 }, Averaging::Auto, &reference);
    assert!(dopri5 < 1e-6, "dopri5 + moments: {dopri5:e}");
    // bs3 (4 stages a step) under the same cap: within the same bound.
    let (bs3, _) = final_error(&sys, Method::Bs3 { rtol: 1e-7, atol: 1e-12 }, Averaging::Auto, &reference);
    assert!(bs3 < 1e-6, "bs3 + moments: {bs3:e} (dopri5 + moments {dopri5:e})");
}

/// The averaged solution converges to the pointwise one as the steps shrink: on kinks like
/// `h²` (the softmax's curvature), so halving the step divides the error by about 4.
#[test]
fn averaging_converges_to_the_pointwise_solution() {
    use attncert::simulate::{simulate_full, Averaging, KernelChoice, Method};
    let sys = kinked_system(true);
    let tight = Method::Dop853 { rtol: 1e-13, atol: 1e-15 };
    let reference = simulate_full(&sys, tight, KernelChoice::Reduced, Averaging::Off, &[20.0]).unwrap().final_state;
    let errs: Vec<f64> = [0.2, 0.1, 0.05].iter().map(|&h| final_error(&sys, Method::Rk4 { h }, Averaging::Moments(2), &reference).0).collect();
    println!("averaged rk4 errors at h = 0.2, 0.1, 0.05: {errs:?}");
    for w in errs.windows(2) {
        assert!(w[0] / w[1] > 3.0, "{errs:?}");
    }
}

/// On smooth coefficients the averaged problem keeps RK4's order 4 (the projection's local error
/// is `O(h^5)` for `q = 2`): halving the step divides the error by about 16.
#[test]
fn moments_keep_the_order_on_smooth_coefficients() {
    use attncert::simulate::{simulate_full, Averaging, KernelChoice, Method};
    let sys = kinked_system(false);
    let tight = Method::Dop853 { rtol: 1e-13, atol: 1e-15 };
    let reference = simulate_full(&sys, tight, KernelChoice::Reduced, Averaging::Off, &[20.0]).unwrap().final_state;
    let (e1, _) = final_error(&sys, Method::Rk4 { h: 0.2 }, Averaging::Moments(2), &reference);
    let (e2, _) = final_error(&sys, Method::Rk4 { h: 0.1 }, Averaging::Moments(2), &reference);
    assert!(e1 / e2 > 10.0, "ratio {} ({e1:e} / {e2:e})", e1 / e2);
}

/// A random system whose every head is in product form with constant factors (what
/// `attncert import` writes, inline): `P_η = s·A_η·B_η`, `U_η = r·C_η·D_η`, inner dimensions
/// 1 … d + 1 drawn per head and per matrix, so the stacked kernel's blocks have unequal widths.
fn arb_product_system() -> impl Strategy<Value = String> {
    (2usize..7, 1usize..7, 1usize..6, any::<bool>(), any::<bool>(), 0u8..3, any::<u64>()).prop_map(
        |(d, l, h, causal, paper, metric, seed)| {
            let mut st = seed | 1;
            let mut next = move || {
                st ^= st << 13;
                st ^= st >> 7;
                st ^= st << 17;
                st
            };
            let factor = |r: usize, c: usize, next: &mut dyn FnMut() -> u64| {
                let rows: Vec<Vec<f64>> = (0..r).map(|_| (0..c).map(|_| ((next() % 20001) as f64 - 10000.0) * 1e-4).collect()).collect();
                common::matrix(&rows)
            };
            let mut s = format!(
                "tokens = {l}\ndim = {d}\nattention = \"{}\"\nnormalization = \"{}\"\n",
                if causal { "causal" } else { "full" },
                if paper { "paper" } else { "softmax" }
            );
            match metric {
                0 => {}
                1 => {
                    let diag: Vec<Vec<f64>> = (0..d).map(|i| (0..d).map(|j| if i == j { 1.0 + i as f64 * 0.25 } else { 0.0 }).collect()).collect();
                    s += &format!("metric = {}\n", common::matrix(&diag));
                }
                _ => {
                    // A dense W = A·Aᵀ + I (symmetric positive definite), entries off the diagonal.
                    let a = DMatrix::from_fn(d, d, |i, j| ((seed as usize + i * 7 + j * 3) % 5) as f64 * 0.1 - 0.2);
                    let w = &a * a.transpose() + DMatrix::identity(d, d);
                    let rows: Vec<Vec<f64>> = (0..d).map(|i| (0..d).map(|j| w[(i.max(j), i.min(j))]).collect()).collect();
                    s += &format!("metric = {}\n", common::matrix(&rows));
                }
            }
            for _ in 0..h {
                let (kp, ku) = (1 + (next() as usize) % (d + 1), 1 + (next() as usize) % (d + 1));
                let (a, b) = (factor(d, kp, &mut next), factor(kp, d, &mut next));
                let (c, dd) = (factor(d, ku, &mut next), factor(ku, d, &mut next));
                let scale = if next() % 2 == 0 { format!(", scale = \"2/sqrt({kp})\"") } else { String::new() };
                s += &format!("[[heads]]\nP = {{ product = [{a}, {b}]{scale} }}\n");
                if next() % 2 == 0 {
                    s += &format!("U = {{ product = [{c}, {dd}] }}\n");
                } else {
                    s += &format!("U = {{ scalar = \"0.5\", times = {{ product = [{c}, {dd}] }} }}\n");
                }
            }
            s + &format!("[initial]\nrandom = {{ seed = {}, law = \"sphere\" }}\n", seed % 100_000)
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// The stacked kernel (every head a constant product: one GEMM for all heads' Q, K, V and
    /// one for Σ_η W_O,η Z_η) computes the per-head kernel's and the plain definition's vector
    /// field, and the same layer map, for full and causal masks, both normalisations and W ≠ I.
    #[test]
    fn stacked_kernel_matches_per_head_and_reference(toml in arb_product_system(), t in 0.0f64..3.0, tau in 0.05f64..1.0) {
        let sys = common::system(&toml);
        let y = model::initial_state(&sys);
        let mut fast = Kernel::new(&sys);
        prop_assert!(fast.is_stacked());
        let mut slow = Kernel::per_head(&sys);
        prop_assert!(!slow.is_stacked());
        // Split into two parts of heads under rayon::join wherever there are two heads.
        let mut split = Kernel::with_fork_min(&sys, 0);
        prop_assert_eq!(split.stacked_parts(), if sys.heads.len() >= 2 { 2 } else { 1 });
        let (mut a, mut b, mut c) = (DMatrix::zeros(sys.dim, sys.tokens), DMatrix::zeros(sys.dim, sys.tokens), DMatrix::zeros(sys.dim, sys.tokens));
        fast.rhs(t, &y, &mut a);
        slow.rhs(t, &y, &mut b);
        split.rhs(t, &y, &mut c);
        let plain = reference_rhs(&sys, t, &y);
        let scale = 1.0 + plain.abs().max();
        prop_assert!((&a - &plain).abs().max() <= 1e-12 * scale, "stacked {a} plain {plain}");
        prop_assert!((&a - &b).abs().max() <= 1e-12 * scale, "stacked {a} per head {b}");
        prop_assert!((&c - &plain).abs().max() <= 1e-12 * scale, "split {c} plain {plain}");
        // Two parts compute what one part does (only the order of the heads' sum differs).
        prop_assert!((&c - &a).abs().max() <= 1e-12 * (1.0 + a.abs().max()), "split {c} one part {a}");
        let mut yc = y.clone();
        split.layer(t, tau, &mut yc);
        // A second evaluation reuses the workspaces: same numbers.
        let mut again = DMatrix::zeros(sys.dim, sys.tokens);
        fast.rhs(t, &y, &mut again);
        prop_assert_eq!(&again, &a);
        let (mut ya, mut yb) = (y.clone(), y.clone());
        fast.layer(t, tau, &mut ya);
        slow.layer(t, tau, &mut yb);
        prop_assert!((&ya - &yb).abs().max() <= 1e-12, "layer: stacked {ya} per head {yb}");
        prop_assert!((&yc - &yb).abs().max() <= 1e-12, "layer: split {yc} per head {yb}");
        prop_assert!((&yc - &ya).abs().max() <= 1e-12, "layer: split {yc} one part {ya}");
        // The cut depends on the system, not on the threads: one worker or two, the same bits.
        let run = |threads: usize| {
            let mut k = Kernel::with_fork_min(&sys, 0);
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let mut dy = DMatrix::zeros(sys.dim, sys.tokens);
            let mut yl = y.clone();
            pool.install(|| {
                k.rhs(t, &y, &mut dy);
                k.layer(t, tau, &mut yl);
            });
            (dy, yl)
        };
        let (one, two) = (run(1), run(2));
        prop_assert!(one.0.iter().chain(one.1.iter()).zip(two.0.iter().chain(two.1.iter())).all(|(p, q)| p.to_bits() == q.to_bits()));
        prop_assert!(c.iter().zip(one.0.iter()).all(|(p, q)| p.to_bits() == q.to_bits()), "split off the pool {c} on it {}", one.0);
    }
}

/// The stacked kernel is taken only when every head is a constant product; any other head (an
/// identity `U`, a time-varying scale) sends the whole system through the per-head path.
#[test]
fn stacked_kernel_only_for_constant_products() {
    let prod = "{ product = [[[1, 0], [0, 1], [1, 1]], [[1, 2, 0], [0, 1, 1]]] }";
    let sys = |p: &str, u: &str| common::system(&format!("tokens = 2\ndim = 3\n[[heads]]\nP = {p}\nU = {u}\n[initial]\ntokens = [[1, 0, 0], [0, 1, 0]]\n"));
    assert!(Kernel::new(&sys(prod, prod)).is_stacked());
    assert!(Kernel::new(&sys(&format!("{{ scalar = \"1/sqrt(2)\", times = {prod} }}"), prod)).is_stacked());
    assert!(!Kernel::new(&sys(prod, "\"identity\"")).is_stacked());
    assert!(!Kernel::new(&sys(&format!("{{ scalar = \"cos(t)\", times = {prod} }}"), prod)).is_stacked());
    assert!(!Kernel::new(&sys("[[1, 0, 0], [0, 1, 0], [0, 0, 1]]", prod)).is_stacked());
}

/// A product-form system of `h` heads with inner dimension `k` (every factor seeded), `d`
/// dimensions, `l` tokens: the shape of an imported layer, small.
fn product_system(d: usize, l: usize, h: usize, k: usize, causal: bool) -> System {
    let mut st = 0x9E37_79B9_7F4A_7C15u64;
    let mut factor = |r: usize, c: usize| {
        let rows: Vec<Vec<f64>> = (0..r)
            .map(|_| {
                (0..c)
                    .map(|_| {
                        st ^= st << 13;
                        st ^= st >> 7;
                        st ^= st << 17;
                        ((st % 2001) as f64 - 1000.0) * 1e-4
                    })
                    .collect()
            })
            .collect();
        common::matrix(&rows)
    };
    let mut s = format!("tokens = {l}\ndim = {d}\nattention = \"{}\"\n", if causal { "causal" } else { "full" });
    let w: Vec<Vec<f64>> = (0..d).map(|i| (0..d).map(|j| if i == j { 1.5 } else if i.abs_diff(j) == 1 { 0.25 } else { 0.0 }).collect()).collect();
    s += &format!("metric = {}\n", common::matrix(&w));
    for _ in 0..h {
        s += &format!("[[heads]]\nP = {{ product = [{}, {}], scale = \"1/sqrt({k})\" }}\n", factor(d, k), factor(k, d));
        s += &format!("U = {{ product = [{}, {}] }}\n", factor(d, k), factor(k, d));
    }
    common::system(&(s + "[initial]\nrandom = { seed = 7, law = \"sphere\" }\n"))
}

/// `Kernel::new` splits a stacked layer from 2^20 multiply–adds per evaluation on (here 3 heads
/// of 32 on d = 64: (3·96 + 3·32)·64·ℓ, so ℓ = 43 splits, an odd number of heads and of
/// tokens, and ℓ = 16 does not), for full and causal masks and a W ≠ I, the split kernel computes the per-head kernel's field and layer map, and a simulation through it
/// (on rayon's pool, `simulate::sampled`) has the same bits on a pool of one thread or two,
/// off the pool, and as one of `run_many`'s bulk runs.
#[test]
fn large_stacked_layer_splits_and_agrees() {
    use attncert::simulate::{runs, simulate_full, Averaging, KernelChoice, Method};
    let rk4 = Method::Rk4 { h: 0.05 };
    assert_eq!(Kernel::new(&product_system(64, 16, 3, 32, false)).stacked_parts(), 1);
    for causal in [false, true] {
        let sys = product_system(64, 43, 3, 32, causal);
        let mut split = Kernel::new(&sys);
        assert_eq!(split.stacked_parts(), 2);
        let mut slow = Kernel::per_head(&sys);
        let y = model::initial_state(&sys);
        let (mut a, mut b) = (DMatrix::zeros(sys.dim, sys.tokens), DMatrix::zeros(sys.dim, sys.tokens));
        split.rhs(0.3, &y, &mut a);
        slow.rhs(0.3, &y, &mut b);
        assert!((&a - &b).abs().max() <= 1e-12 * (1.0 + b.abs().max()), "rhs: split vs per head");
        let (mut ya, mut yb) = (y.clone(), y.clone());
        split.layer(0.3, 0.5, &mut ya);
        slow.layer(0.3, 0.5, &mut yb);
        assert!((&ya - &yb).abs().max() <= 1e-12, "layer: split vs per head");
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| simulate_full(&sys, rk4, KernelChoice::Batched, Averaging::Off, &[0.5, 1.0]).unwrap())
        };
        let (one, two) = (run(1), run(2));
        assert!(one.final_state.iter().zip(two.final_state.iter()).all(|(p, q)| p.to_bits() == q.to_bits()), "1 vs 2 threads");
        let off_pool = simulate_full(&sys, rk4, KernelChoice::Batched, Averaging::Off, &[0.5, 1.0]).unwrap();
        assert!(one.final_state.iter().zip(off_pool.final_state.iter()).all(|(p, q)| p.to_bits() == q.to_bits()), "pool vs global");
        // Bulk runs: each trajectory's fork nests inside rayon's parallel loop (a waiting join
        // may steal another run); every run still has the bits of the same run made alone.
        let mut finals = Vec::new();
        runs::run_many(&sys, rk4, KernelChoice::Batched, Averaging::Off, &[0.5, 1.0], 4, 11, |r, t| {
            finals.push((r, t.final_state.clone()));
            Ok(std::ops::ControlFlow::Continue(()))
        }, || {})
        .unwrap();
        assert_eq!(finals.len(), 4);
        for (r, f) in finals {
            let alone = simulate_full(&sys.redraw(runs::stream(11, r)), rk4, KernelChoice::Batched, Averaging::Off, &[0.5, 1.0]).unwrap();
            assert!(f.iter().zip(alone.final_state.iter()).all(|(p, q)| p.to_bits() == q.to_bits()), "run {r} in bulk vs alone");
        }
    }
}
