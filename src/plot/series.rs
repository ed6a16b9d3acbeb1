//! The numbers behind the pictures, apart from the drawing: log-axis ranges with a floor for
//! values a log axis cannot show, quantile bands over runs, and the sphere's projection.
//! Plain functions on slices, so they are tested against their definitions.

use crate::report::runfile::Run;

/// The largest and smallest value a log axis draws: plotters' log scale loops for ever on
/// ranges reaching the subnormals or the overflow threshold, and no monitor needs them.
pub const DRAWN_MIN: f64 = 1e-300;
pub const DRAWN_MAX: f64 = 1e300;

/// A log axis: every drawn value is in `[floor, hi]`; values `≤ 0` are drawn at `floor`, and
/// values beyond `[DRAWN_MIN, DRAWN_MAX]` (or more than 300 decades below the largest) at the
/// nearer end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogAxis {
    pub floor: f64,
    pub hi: f64,
}

impl LogAxis {
    /// Whole decades around the positive values: from one decade below the smallest (so a
    /// clipped point sits visibly below the data) to the decade at or above the largest. With
    /// no positive value at all, `[1e-17, 1]` (`E` and the `1 − vᵀy` functions live in `[0, 2]`,
    /// and rounding leaves them near `1e-16` at consensus).
    pub fn fit(values: impl IntoIterator<Item = f64>) -> LogAxis {
        let (mut lo, mut hi) = (f64::INFINITY, 0.0_f64);
        for v in values {
            if v > 0.0 && !v.is_nan() {
                let v = v.clamp(DRAWN_MIN, DRAWN_MAX);
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
        if !lo.is_finite() {
            return LogAxis { floor: 1e-17, hi: 1.0 };
        }
        // `powi` may land an ulp above 1e300: clamp, so the axis stays drawable.
        let top = decade_above(hi).min(DRAWN_MAX);
        // Plotters also loops on a log range whose ratio overflows: at most 300 decades, the
        // top ones (values below are drawn at the floor, and the figure says so).
        let floor = (decade_below(lo) / 10.0).max(top * 1e-300);
        LogAxis { floor, hi: if top > floor * 10.0 { top } else { floor * 100.0 } }
    }

    /// The value as drawn: itself, or the nearer end of the axis where it cannot be shown.
    pub fn clip(&self, v: f64) -> f64 {
        if v > self.hi {
            self.hi
        } else if v > self.floor {
            v
        } else {
            self.floor
        }
    }
}

/// The largest power of ten `≤ x` (for `x > 0`), within rounding of `powi`.
fn decade_below(x: f64) -> f64 {
    let p = 10f64.powi(x.log10().floor() as i32);
    if p > x {
        p / 10.0
    } else {
        p
    }
}

/// The smallest power of ten `≥ x` (for `x > 0`).
fn decade_above(x: f64) -> f64 {
    let p = 10f64.powi(x.log10().ceil() as i32);
    if p < x {
        p * 10.0
    } else {
        p
    }
}

/// The `q`-quantile of sorted values, linearly interpolated between order statistics (R's
/// type 7, NumPy's default): `x[(n−1)q]`. `NaN` for no values.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let h = (n - 1) as f64 * q.clamp(0.0, 1.0);
            let (i, frac) = (h.floor() as usize, h - h.floor());
            if i + 1 >= n {
                sorted[n - 1]
            } else {
                sorted[i] + frac * (sorted[i + 1] - sorted[i])
            }
        }
    }
}

/// Per sample time, a quantile band and the median of one monitor over runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    pub t: Vec<f64>,
    pub lo: Vec<f64>,
    pub median: Vec<f64>,
    pub hi: Vec<f64>,
}

/// The `[q, 1 − q]` band and median of monitor `k` over `runs`, per sample time; `None` when
/// the runs do not share their sample times (no common time to take a quantile at).
pub fn band(runs: &[Run], k: usize, q: f64) -> Option<Band> {
    let t = &runs.first()?.t;
    if runs.iter().any(|r| &r.t != t || r.values.get(k).is_none_or(|v| v.len() != t.len())) {
        return None;
    }
    let mut b = Band { t: t.clone(), lo: vec![], median: vec![], hi: vec![] };
    let mut col = Vec::with_capacity(runs.len());
    for i in 0..t.len() {
        col.clear();
        col.extend(runs.iter().map(|r| r.values[k][i]));
        col.sort_by(f64::total_cmp);
        b.lo.push(quantile(&col, q));
        b.median.push(quantile(&col, 0.5));
        b.hi.push(quantile(&col, 1.0 - q));
    }
    Some(b)
}

/// An orthographic view of the unit sphere from direction `v`: a point `x` is drawn at
/// `(x·e1, x·e2)` and is on the near side when `x·v > 0`.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    pub v: [f64; 3],
    pub e1: [f64; 3],
    pub e2: [f64; 3],
}

fn dot(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn unit(a: [f64; 3]) -> Option<[f64; 3]> {
    let n = dot(&a, &a).sqrt();
    (n > 1e-12 && n.is_finite()).then(|| [a[0] / n, a[1] / n, a[2] / n])
}

impl View {
    /// Looking from `toward` (normalised; `(1, 1, 1)/√3` if it is zero), with `e1, e2, v` a
    /// right-handed orthonormal frame: `e1` from the coordinate axis least aligned with `v`.
    pub fn from(toward: [f64; 3]) -> View {
        let v = unit(toward).unwrap_or([1.0 / 3f64.sqrt(); 3]);
        let k = (0..3).min_by(|&i, &j| v[i].abs().total_cmp(&v[j].abs())).unwrap_or(0);
        let mut a = [0.0; 3];
        a[k] = 1.0;
        let c = dot(&a, &v);
        let e1 = unit([a[0] - c * v[0], a[1] - c * v[1], a[2] - c * v[2]]).unwrap_or([1.0, 0.0, 0.0]);
        let e2 = [v[1] * e1[2] - v[2] * e1[1], v[2] * e1[0] - v[0] * e1[2], v[0] * e1[1] - v[1] * e1[0]];
        View { v, e1, e2 }
    }

    /// Screen coordinates and depth (`> 0`: the near side) of a point.
    pub fn project(&self, x: &[f64; 3]) -> (f64, f64, f64) {
        (dot(x, &self.e1), dot(x, &self.e2), dot(x, &self.v))
    }
}

/// `x/‖x‖` (scaled by the largest entry first, so no square overflows or underflows), or `x`
/// itself when it is zero.
pub fn direction(x: &[f64]) -> Vec<f64> {
    let m = x.iter().fold(0.0_f64, |m, a| m.max(a.abs()));
    if !(m > 0.0 && m.is_finite()) {
        return x.to_vec();
    }
    let n = x.iter().map(|a| (a / m) * (a / m)).sum::<f64>().sqrt();
    x.iter().map(|a| (a / m) / n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn log_axis_spans_whole_decades_below_and_above() {
        let a = LogAxis::fit([0.5, 3e-7, 0.0, -1.0]);
        assert_eq!(a.floor, 1e-8);
        assert_eq!(a.hi, 1.0);
        assert_eq!(a.clip(0.0), 1e-8);
        assert_eq!(a.clip(-2.0), 1e-8);
        assert_eq!(a.clip(0.25), 0.25);
        assert_eq!(LogAxis::fit([0.0, -3.0]), LogAxis { floor: 1e-17, hi: 1.0 });
        assert_eq!(LogAxis::fit([f64::NAN]).floor, 1e-17);
        let one = LogAxis::fit([1e-3]);
        assert!(one.floor <= 1e-4 && one.hi >= 1e-3 && one.hi > one.floor);
    }

    #[test]
    fn quantiles_interpolate_order_statistics() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile(&x, 0.5), 3.0);
        assert_eq!(quantile(&x, 0.0), 1.0);
        assert_eq!(quantile(&x, 1.0), 5.0);
        assert!((quantile(&x, 0.1) - 1.4).abs() < 1e-12);
        assert!(quantile(&[], 0.5).is_nan());
        assert_eq!(quantile(&[7.0], 0.9), 7.0);
    }

    #[test]
    fn band_needs_shared_times() {
        let run = |id, t: Vec<f64>, e: Vec<f64>| Run { id: Some(id), t, values: vec![e] };
        let runs = vec![run(0, vec![0.0, 1.0], vec![1.0, 0.1]), run(1, vec![0.0, 1.0], vec![0.5, 0.3]), run(2, vec![0.0, 1.0], vec![0.7, 0.2])];
        let b = band(&runs, 0, 0.1).unwrap();
        assert_eq!(b.median, [0.7, 0.2]);
        assert!(b.lo[0] < b.median[0] && b.median[0] < b.hi[0]);
        let odd = vec![run(0, vec![0.0, 1.0], vec![1.0, 0.1]), run(1, vec![0.0, 2.0], vec![0.5, 0.3])];
        assert_eq!(band(&odd, 0, 0.1), None);
    }

    proptest! {
        /// The band is ordered (lo ≤ median ≤ hi) and inside the runs' range at every time.
        #[test]
        fn band_is_ordered_and_inside(vals in proptest::collection::vec(proptest::collection::vec(-1e3f64..1e3, 3), 1..12), q in 0.0f64..0.5) {
            let runs: Vec<Run> = vals.iter().enumerate().map(|(i, v)| Run { id: Some(i as u64), t: vec![0.0, 1.0, 2.0], values: vec![v.clone()] }).collect();
            let b = band(&runs, 0, q).unwrap();
            for i in 0..3 {
                let col: Vec<f64> = vals.iter().map(|v| v[i]).collect();
                let (mn, mx) = col.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
                prop_assert!(mn <= b.lo[i] && b.lo[i] <= b.median[i] && b.median[i] <= b.hi[i] && b.hi[i] <= mx);
            }
        }

        /// The view's frame is orthonormal and right-handed, and a point's screen position and
        /// depth recover it: x = a·e1 + b·e2 + c·v.
        #[test]
        fn view_frame_is_orthonormal(x in -1.0f64..1.0, y in -1.0f64..1.0, z in -1.0f64..1.0, p in proptest::array::uniform3(-1.0f64..1.0)) {
            let w = View::from([x, y, z]);
            for (a, b, want) in [(&w.v, &w.v, 1.0), (&w.e1, &w.e1, 1.0), (&w.e2, &w.e2, 1.0), (&w.v, &w.e1, 0.0), (&w.v, &w.e2, 0.0), (&w.e1, &w.e2, 0.0)] {
                prop_assert!((dot(a, b) - want).abs() < 1e-12);
            }
            let cross = [w.e1[1] * w.e2[2] - w.e1[2] * w.e2[1], w.e1[2] * w.e2[0] - w.e1[0] * w.e2[2], w.e1[0] * w.e2[1] - w.e1[1] * w.e2[0]];
            prop_assert!((dot(&cross, &w.v) - 1.0).abs() < 1e-12);
            let (a, b, c) = w.project(&p);
            for (k, pk) in p.iter().enumerate() {
                prop_assert!((a * w.e1[k] + b * w.e2[k] + c * w.v[k] - pk).abs() < 1e-12);
            }
        }

        /// Every clipped value is inside the axis, which stays within the drawable range and
        /// 301 decades; positive values within 280 decades of each other are never moved.
        #[test]
        fn log_axis_holds_every_value(vals in proptest::collection::vec(prop_oneof![Just(0.0), -1.0f64..1.0, 1e-140f64..1e140], 1..20)) {
            let a = LogAxis::fit(vals.iter().copied());
            prop_assert!(a.floor > 0.0 && a.hi > a.floor);
            for &v in &vals {
                let c = a.clip(v);
                prop_assert!(c >= a.floor && c <= a.hi);
                if v > 0.0 { prop_assert_eq!(c, v); }
            }
        }

        #[test]
        fn log_axis_stays_drawable(vals in proptest::collection::vec(prop_oneof![Just(0.0), Just(5e-324), Just(f64::MAX), -1.0f64..1.0, 1e-300f64..1e300], 1..20)) {
            let a = LogAxis::fit(vals.iter().copied());
            // `powi` may put the decade below a hair low: two decades of slack.
            prop_assert!(a.floor >= DRAWN_MIN / 100.0 && a.hi <= DRAWN_MAX && a.hi > a.floor && a.hi / a.floor <= 1.01e301);
            for &v in &vals {
                let c = a.clip(v);
                prop_assert!(c >= a.floor && c <= a.hi);
            }
        }

        /// Directions are unit vectors, whatever the scale of the input.
        #[test]
        fn directions_are_unit(x in proptest::collection::vec(prop_oneof![Just(0.0), Just(5e-324), Just(1e308), -1e3f64..1e3], 2..5)) {
            let d = direction(&x);
            let n: f64 = d.iter().map(|a| a * a).sum::<f64>();
            prop_assert!(x.iter().all(|&a| a == 0.0) || (n - 1.0).abs() < 1e-12, "{:?} -> {:?}", x, d);
        }
    }
}
