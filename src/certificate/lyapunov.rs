//! The theorems' Lyapunov functions, the misalignment `E` and the largest angle, enclosed over
//! boxes of states (trusted, used by the checker). Each derivative bound states the identity it
//! rests on; where an identity needs the tokens on `E_W` (true along every solution that starts
//! there), it is used only when the initial set is exactly on `E_W` (radius 0) and the
//! theorem's hypotheses hold; otherwise the plain chain rule `∇V·F(box)` is used, valid
//! everywhere but loose near consensus.

use inari::Interval;

use crate::certificate::flow::{dot, Dynamics};
use crate::hypothesis::value::top_eigen;
use crate::model::reference;
use crate::numeric::enclose::{self, literal, point, IMat};
use crate::system::Attention;

/// Which functions are recorded, with the certified data they need.
#[derive(Debug, Clone)]
pub enum Family {
    /// Thm 3.2: `V_P = −½ Σ_ij exp(y_iᵀ P y_j)` with the constant `P` enclosed.
    Potential { p: IMat },
    /// Thm 4.1: `V = max_i (1 − vᵀ y_i)` with the unit `v` enclosed.
    Hemisphere { v: Vec<Interval> },
    /// Thm 5.1: `V_i = V(a_i) = (1 − a_i)²(2 + a_i)/3`, `a_i = y_1ᵀ y_i`, per token.
    Cascade,
    /// Thm 6.1: `V_i = 1 − vᵀ y_i`, `v` the unit top eigenvector of `U` (enclosed, its sign
    /// fixed by the initial tokens), `λ` its eigenvalue, per token.
    Eigen { v: Vec<Interval>, lambda: Interval, u: IMat },
}

/// The recorded functions of a certificate.
#[derive(Debug, Clone)]
pub struct Functions {
    pub family: Family,
    pub names: Vec<String>,
    /// The function the theorem proves non-increasing (the one `lyapunov-nonincreasing` is about).
    pub leading: Option<usize>,
    /// Whether the identities that hold on `E_W` under the theorem's hypotheses may be used.
    on_manifold: bool,
}

/// The functions of `theorem` for `sys`. `hypotheses_hold`: the theorem's verdict, re-checked.
pub fn setup(sys: &crate::system::System, theorem: &str, hypotheses_hold: bool, radius: f64) -> Result<Functions, String> {
    let l = sys.tokens;
    let per_token = |p: &str| (1..=l).map(|i| format!("{p}_{i}")).collect::<Vec<_>>();
    let on_manifold = hypotheses_hold && radius == 0.0;
    let (family, names, leading) = match theorem {
        "3.2" => {
            let p = enclose::matrix(&sys.heads[0].p, enclose::all_times(), sys.dim);
            if !p.defined || !sys.heads[0].p.is_constant() {
                return Err("Theorem 3.2's V_P needs a constant P".into());
            }
            (Family::Potential { p: p.m }, vec!["V_P".to_string()], Some(0))
        }
        "4.1" => (Family::Hemisphere { v: hemisphere_direction(sys)? }, vec!["V_hemisphere".to_string()], Some(0)),
        "5.1" => (Family::Cascade, per_token("V_cascade"), (l >= 2).then_some(1)),
        "6.1" | "c6.1" => {
            let (v, lambda) = eigen_direction(sys)?;
            let u = enclose::matrix(&sys.heads[0].u, point(0.0), sys.dim).m;
            (Family::Eigen { v, lambda, u }, per_token("V_eigen"), Some(0))
        }
        other => return Err(format!("theorem '{other}' has no certifiable Lyapunov function (certify supports 3.2, 4.1, 5.1, 6.1, c6.1)")),
    };
    Ok(Functions { family, names, leading, on_manifold })
}

fn mat_vec(m: &IMat, v: &[Interval]) -> Vec<Interval> {
    m.iter().map(|r| dot(r, v)).collect()
}

/// `v/|v|` enclosed. Only the direction matters, so `v` is first divided by its largest
/// magnitude `m` (a double, `v/m` enclosed, `unit(v/m) = unit(v)` exactly): `|v|²` of a tiny
/// `v` such as `[1e-300, 0, 0]` would underflow to 0 and a huge one overflow.
fn unit(v: Vec<Interval>) -> Result<Vec<Interval>, String> {
    let m = v.iter().map(|x| x.mag()).fold(0.0, f64::max);
    if !(m > 0.0 && m.is_finite()) {
        return Err(format!("the hemisphere direction v cannot be normalised (largest magnitude {m:e})"));
    }
    let v: Vec<Interval> = v.into_iter().map(|x| x / point(m)).collect();
    let n = dot(&v, &v).sqrt();
    if !(n.inf() > 0.0) {
        return Err("the hemisphere direction v is zero".into());
    }
    Ok(v.into_iter().map(|x| x / n).collect())
}

/// Thm 4.1's `v`: the file's `[lyapunov] v`, else the sum of the normalised initial tokens;
/// normalised in intervals (an enclosure of the exact unit vector).
fn hemisphere_direction(sys: &crate::system::System) -> Result<Vec<Interval>, String> {
    if let Some(v) = &sys.hemisphere {
        return unit(v.iter().map(literal).collect());
    }
    let dy = Dynamics::new(sys)?;
    let y0 = dy.initial(0.0)?;
    let mut sum = vec![point(0.0); sys.dim];
    for tok in y0.chunks(sys.dim) {
        for (s, &x) in sum.iter_mut().zip(tok) {
            *s += x;
        }
    }
    unit(sum)
}

/// Thm 6.1's `(v, λ)`: the certified top eigenpair of `U` (`hypothesis::value`), `v` enclosed
/// coordinatewise by its certified 2-norm error `ε`, signed so that `vᵀ s > 0` for the sum
/// `s = Σ_i y_i(0)` of the *normalised* initial tokens (the rule `simulate` uses, so a
/// function named `V_eigen_i` means the same everywhere). The sign is certified: with
/// `|v − v̂| ≤ ε`, `|vᵀs − v̂ᵀs| ≤ ε|s|`, so `|v̂ᵀs| > ε|s|` (in intervals) fixes it; otherwise
/// no `V_eigen_i` is defined (tokens spread evenly around `v` leave its side open).
fn eigen_direction(sys: &crate::system::System) -> Result<(Vec<Interval>, Interval), String> {
    let e = top_eigen(&sys.heads[0].u, sys.dim);
    let lambda = match &e {
        crate::hypothesis::value::TopEigen::Simple { lambda1, .. } => *lambda1,
        _ => return Err("U has no certified simple top eigenvalue".into()),
    };
    let (v, eps) = e.direction().ok_or("no certified top eigenvector of U")?;
    let dy = Dynamics::new(sys)?;
    let y0 = dy.initial(0.0)?;
    let mut sum = vec![point(0.0); sys.dim];
    for tok in y0.chunks(sys.dim) {
        for (s, &x) in sum.iter_mut().zip(tok) {
            *s += x;
        }
    }
    let vhat: Vec<Interval> = v.iter().map(|&x| point(x)).collect();
    let side = dot(&vhat, &sum);
    let slack = point(eps) * dot(&sum, &sum).sqrt();
    let sign = if (side - slack).inf() > 0.0 {
        1.0
    } else if (side + slack).sup() < 0.0 {
        -1.0
    } else {
        return Err(format!("the side of U's top eigenvector is not determined by the initial tokens (Σ_i v̂ᵀy_i(0) ∈ [{:e}, {:e}], eigenvector error {eps:e})", side.inf(), side.sup()));
    };
    let r = Interval::try_from((-eps, eps)).map_err(|_| "eigenvector error bound is not finite")?;
    Ok((v.iter().map(|&x| point(sign * x) + r).collect(), lambda))
}

impl Functions {
    /// Enclosures of every function over the box `y` (tokens as rows).
    pub fn values(&self, y: &[Vec<Interval>]) -> Vec<Interval> {
        let refs: Vec<&[Interval]> = y.iter().map(Vec::as_slice).collect();
        match &self.family {
            Family::Potential { p } => vec![reference_potential(p, &refs)],
            Family::Hemisphere { v } => vec![y.iter().map(|yi| point(1.0) - dot(v, yi)).reduce(Interval::max).unwrap_or(point(0.0))],
            // V(a) = 2/3 − a + a³/3 = (1 − a)²(2 + a)/3: the factored form is ≥ 0 in intervals too.
            Family::Cascade => y.iter().map(|yi| cascade(dot(&y[0], yi))).collect(),
            Family::Eigen { v, .. } => y.iter().map(|yi| point(1.0) - dot(v, yi)).collect(),
        }
    }

    /// Upper bounds of each function's upper Dini derivative along every solution in the box
    /// `y` for `t ∈ tt`; `f` encloses the right-hand side over the same box.
    pub fn derivative_upper(&self, dy: &Dynamics, tt: Interval, y: &[Vec<Interval>], f: &[Vec<Interval>]) -> Result<Vec<f64>, String> {
        let alpha = self.attention(dy, tt, y)?;
        Ok(match &self.family {
            Family::Potential { p } => vec![self.potential_rate(dy, p, y, f)],
            Family::Hemisphere { v } => vec![self.hemisphere_rate(dy, v, y, f, &alpha)],
            Family::Cascade => (0..y.len()).map(|i| self.cascade_rate(i, y, f, &alpha)).collect(),
            Family::Eigen { v, lambda, u } => (0..y.len()).map(|i| self.eigen_rate(i, v, *lambda, u, y, f, &alpha)).collect(),
        })
    }

    /// Per head, the attention weights enclosed over the box.
    fn attention(&self, dy: &Dynamics, tt: Interval, y: &[Vec<Interval>]) -> Result<Vec<IMat>, String> {
        let causal = dy.sys.attention == Attention::Causal;
        Ok(dy.matrices_over(tt)?.iter().map(|(p, _)| reference::attention(p, y, causal, dy.z_factor())).collect())
    }

    /// `V_P`: on `E_P` with `W = P` symmetric, `U = I`, one full head, `ẏ_i = (I − y_i y_iᵀP) g_i / Z_i`
    /// with `g_i = Σ_j e_ij y_j`, and `V̇_P = −Σ_i g_iᵀ P ẏ_i = −Σ_i Z_i |ẏ_i|²_P ≤ 0`
    /// (`|(I − y yᵀP) g|²_P = gᵀPg − (yᵀPg)²` when `yᵀPy = 1`). Otherwise the chain rule.
    fn potential_rate(&self, dy: &Dynamics, p: &IMat, y: &[Vec<Interval>], f: &[Vec<Interval>]) -> f64 {
        let py: Vec<Vec<Interval>> = y.iter().map(|yj| mat_vec(p, yj)).collect();
        let pty: Vec<Vec<Interval>> = y.iter().map(|yj| (0..yj.len()).map(|r| (0..yj.len()).fold(point(0.0), |s, c| s + p[c][r] * yj[c])).collect()).collect();
        let e = |i: usize, j: usize| dot(&y[i], &py[j]).exp();
        if self.on_manifold {
            let z = dy.z_factor();
            let mut sum = point(0.0);
            for i in 0..y.len() {
                let zi = z * (0..y.len()).fold(point(0.0), |s, j| s + e(i, j));
                let q = dot(&f[i], &mat_vec(p, &f[i]));
                sum += point(zi.inf().max(0.0)) * point(q.inf().max(0.0));
            }
            return (-sum).sup();
        }
        // ∂/∂y_i of −½ Σ_ab exp(y_aᵀ P y_b) = −½ Σ_j (e_ij P y_j + e_ji Pᵀ y_j).
        let mut rate = point(0.0);
        for i in 0..y.len() {
            for j in 0..y.len() {
                let (eij, eji) = (e(i, j), e(j, i));
                let g: Vec<Interval> = (0..y[i].len()).map(|k| eij * py[j][k] + eji * pty[j][k]).collect();
                rate -= point(0.5) * dot(&g, &f[i]);
            }
        }
        rate.sup()
    }

    /// `max_i (1 − vᵀy_i)`: its upper Dini derivative is `max` over the maximising `i` of
    /// `−vᵀẏ_i` (a max of smooth functions), and every maximiser is among the candidates whose
    /// upper bound reaches the largest lower bound. On `E_W` with every `U = I`,
    /// `vᵀẏ_i = Σ_η Σ_j α_ij [vᵀ(y_j − y_i) + ½|y_i − y_j|²_W · vᵀy_i]`; for a maximiser the
    /// first term is ≥ 0, so `−vᵀẏ_i ≤ −Σ α_ij ½|y_i − y_j|²_W vᵀy_i`, which is ≤ 0 where
    /// `vᵀy_i > 0` (checked on the box).
    fn hemisphere_rate(&self, dy: &Dynamics, v: &[Interval], y: &[Vec<Interval>], f: &[Vec<Interval>], alpha: &[IMat]) -> f64 {
        let vals: Vec<Interval> = y.iter().map(|yi| point(1.0) - dot(v, yi)).collect();
        let top = vals.iter().map(|x| x.inf()).fold(f64::NEG_INFINITY, f64::max);
        let w = dy.metric();
        let mut best = f64::NEG_INFINITY;
        for i in (0..y.len()).filter(|&i| vals[i].sup() >= top) {
            let vy = dot(v, &y[i]);
            let plain = (-dot(v, &f[i])).sup();
            let bound = if self.on_manifold && vy.inf() > 0.0 {
                let mut s = point(0.0);
                for a in alpha {
                    for j in 0..y.len() {
                        let diff: Vec<Interval> = y[i].iter().zip(&y[j]).map(|(&p, &q)| p - q).collect();
                        let n2 = dot(&diff, &mat_vec(w, &diff));
                        s += point(a[i][j].inf().max(0.0)) * point(0.5) * point(n2.inf().max(0.0));
                    }
                }
                (-(s * point(vy.inf()))).sup().min(plain)
            } else {
                plain
            };
            best = best.max(bound);
        }
        best
    }

    /// `V_i = V(a_i)`, `V'(a) = a² − 1`, `ȧ_i = ẏ_1ᵀy_i + y_1ᵀẏ_i`. For token 2 on the sphere
    /// with causal `U = I`, `W = I`: `y_1` is fixed and `ȧ_2 = ᾱ(1 − a_2²)`, `ᾱ = Σ_η α^η_21`, so
    /// `V̇_2 = −ᾱ (1 − a_2²)² ≤ 0`.
    fn cascade_rate(&self, i: usize, y: &[Vec<Interval>], f: &[Vec<Interval>], alpha: &[IMat]) -> f64 {
        let a = dot(&y[0], &y[i]);
        let plain = ((a * a - point(1.0)) * (dot(&f[0], &y[i]) + dot(&y[0], &f[i]))).sup();
        if self.on_manifold && i == 1 {
            let abar = alpha.iter().fold(point(0.0), |s, al| s + al[1][0]);
            let q = ((point(1.0) - a) * (point(1.0) + a)).sqr();
            return (-(point(abar.inf().max(0.0)) * point(q.inf().max(0.0)))).sup().min(plain);
        }
        plain
    }

    /// `V_i = 1 − vᵀy_i`. For token 1 on the sphere, causal, `W = I`, every head with the same
    /// symmetric `U`, `U v = λ v`: `vᵀẏ_1 = Σ_η α^η_11 (λ − y_1ᵀU y_1) vᵀy_1`, and
    /// `λ ≥ y_1ᵀU y_1` (Rayleigh), so `V̇_1 ≤ −ᾱ·max(0, λ − y_1ᵀUy_1)·vᵀy_1 ≤ 0` where `vᵀy_1 ≥ 0`.
    #[allow(clippy::too_many_arguments)]
    fn eigen_rate(&self, i: usize, v: &[Interval], lambda: Interval, u: &IMat, y: &[Vec<Interval>], f: &[Vec<Interval>], alpha: &[IMat]) -> f64 {
        let plain = (-dot(v, &f[i])).sup();
        let b = dot(v, &y[i]);
        if self.on_manifold && i == 0 && b.inf() >= 0.0 {
            let abar = alpha.iter().fold(point(0.0), |s, al| s + al[0][0]);
            let gap = lambda - dot(&y[0], &mat_vec(u, &y[0]));
            let prod = point(abar.inf().max(0.0)) * point(gap.inf().max(0.0)) * point(b.inf());
            return (-prod).sup().min(plain);
        }
        plain
    }
}

fn reference_potential(p: &IMat, y: &[&[Interval]]) -> Interval {
    crate::model::lyapunov::potential(p, y)
}

/// `(1 − a)²(2 + a)/3`.
fn cascade(a: Interval) -> Interval {
    (point(1.0) - a).sqr() * (point(2.0) + a) / point(3.0)
}

/// `u_i = y_i/|y_i|`: each token's direction, enclosed.
fn directions(y: &[Vec<Interval>]) -> Vec<Vec<Interval>> {
    y.iter().map(|yi| {
        let n = dot(yi, yi).sqrt();
        yi.iter().map(|&x| x / n).collect()
    }).collect()
}

/// `E = 1 − (1/ℓ) Σ_i u_1ᵀu_i = (1/ℓ) Σ_i ½|u_1 − u_i|²`: the sum-of-squares form is ≥ 0 and
/// its width shrinks with the distance between tokens, where the defining form's does not.
pub fn misalignment(y: &[Vec<Interval>]) -> Interval {
    let u = directions(y);
    let sum = u.iter().fold(point(0.0), |s, ui| {
        let d2 = u[0].iter().zip(ui).fold(point(0.0), |a, (&p, &q)| a + (p - q).sqr());
        s + d2
    });
    point(0.5) * sum / point(y.len() as f64)
}

/// The largest angle between two tokens: `∠(u_i, u_j) = 2·asin(|u_i − u_j|/2)`, increasing in
/// the chord, so the largest chord's upper bound gives an upper bound.
pub fn max_angle(y: &[Vec<Interval>]) -> Interval {
    let u = directions(y);
    let mut best = point(0.0);
    for i in 0..u.len() {
        for j in i + 1..u.len() {
            let chord = u[i].iter().zip(&u[j]).fold(point(0.0), |a, (&p, &q)| a + (p - q).sqr()).sqrt();
            let half = (chord / point(2.0)).min(point(1.0));
            best = best.max(point(2.0) * half.asin());
        }
    }
    best
}
