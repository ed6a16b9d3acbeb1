//! The "true width" of the tightness table (README, Tightness): a first-order estimate of the
//! smallest box holding the exact image at `T` of the initial box (the normalised tokens plus
//! `±r` in every coordinate), `w_i = Σ_j |∂y_i(T)/∂y_j(0)|·2r`, maximised over `i` — what
//! `certify` prints as `final enclosure width` for a perfect enclosure. Float only (not a
//! bound): the Jacobian by central differences of RK4 flows (step `1e-3`, global error
//! ~1e-12; difference step `1e-5`, truncation ~1e-10 relative), so three significant digits.
//!
//! `cargo bench --bench true_width -- FILE T R` (also run by `bench/tightness.sh`).

use std::path::PathBuf;

use attncert::model::{self, Kernel};
use attncert::system::System;
use nalgebra::DMatrix;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let [file, until, radius] = args.as_slice() else {
        eprintln!("usage: cargo bench --bench true_width -- FILE T R");
        std::process::exit(2);
    };
    let parse = |s: &str| s.parse::<f64>().unwrap_or_else(|_| {
        eprintln!("error: '{s}' is not a number");
        std::process::exit(2)
    });
    let (until, radius) = (parse(until), parse(radius));
    let sys = System::load(&PathBuf::from(file)).unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(2)
    });
    let y0 = model::initial_state(&sys);
    let n = y0.len();
    let mut kernel = Kernel::new(&sys);
    let delta = 1e-5;
    let mut jac = vec![vec![0.0; n]; n];
    for j in 0..n {
        let (mut up, mut down) = (y0.clone(), y0.clone());
        up.as_mut_slice()[j] += delta;
        down.as_mut_slice()[j] -= delta;
        let (fu, fd) = (flow(&mut kernel, up, until), flow(&mut kernel, down, until));
        for i in 0..n {
            jac[i][j] = (fu.as_slice()[i] - fd.as_slice()[i]) / (2.0 * delta);
        }
    }
    let width = jac.iter().map(|row| row.iter().map(|v| v.abs()).sum::<f64>() * 2.0 * radius).fold(0.0, f64::max);
    println!("{}: T = {until}, r = {radius:e}: true width {width:.4e}", sys.name);
}

/// `y(T)` by classical RK4 with steps of at most `1e-3`, without projection (the field is
/// tangent to `E_W`; the exact flow of (7) is what `certify` encloses).
fn flow(k: &mut Kernel, mut y: DMatrix<f64>, until: f64) -> DMatrix<f64> {
    let steps = (until / 1e-3).ceil().max(1.0) as usize;
    let h = until / steps as f64;
    let z = || DMatrix::zeros(y.nrows(), y.ncols());
    let (mut k1, mut k2, mut k3, mut k4) = (z(), z(), z(), z());
    for s in 0..steps {
        let t = s as f64 * h;
        k.rhs(t, &y, &mut k1);
        k.rhs(t + h / 2.0, &(&y + &k1 * (h / 2.0)), &mut k2);
        k.rhs(t + h / 2.0, &(&y + &k2 * (h / 2.0)), &mut k3);
        k.rhs(t + h, &(&y + &k3 * h), &mut k4);
        y += (&k1 + &k2 * 2.0 + &k3 * 2.0 + &k4) * (h / 6.0);
    }
    y
}
