//! Simplifications of a finding's draft, most drastic first. Each keeps a well-formed system;
//! whether it still satisfies the hypotheses and still shows the finding is the caller's test
//! (the filter and the confirmation), so a simplification can only be kept, never trusted.

use super::generate::{lit, Draft, Mat, MetricDraft, Rows};

/// The candidate simplifications of `d`, with a word on each.
pub fn candidates(d: &Draft) -> Vec<(String, Draft)> {
    let mut out = Vec::new();
    // Fewer tokens. Under causal attention token i sees only tokens ≤ i, so the last tokens
    // can go without changing the others; under full attention any token may matter.
    if d.tokens > 2 {
        let order: Vec<usize> = if d.causal { vec![d.tokens - 1] } else { (0..d.tokens).rev().collect() };
        for j in order {
            out.push((format!("drop token {}", j + 1), drop_token(d, j)));
        }
    }
    if d.dim > 2 {
        for k in (0..d.dim).rev() {
            out.push((format!("drop coordinate {}", k + 1), drop_coordinate(d, k)));
        }
    }
    for (h, (p, _)) in d.heads.iter().enumerate() {
        if let Some(c) = constant_of(p) {
            let mut e = d.clone();
            e.heads[h].0 = c;
            out.push((format!("constant P in head {}", h + 1), e));
        }
    }
    for sig in [1, 2, 3] {
        let e = round_all(d, sig);
        if e != *d {
            out.push((format!("{sig} significant digit(s)"), e));
        }
    }
    out
}

fn drop_token(d: &Draft, j: usize) -> Draft {
    let mut e = d.clone();
    e.initial.remove(j);
    e.tokens -= 1;
    e.planted.push(format!("token {} dropped", j + 1));
    e
}

fn drop_rows(m: &Rows, k: usize) -> Rows {
    m.iter().enumerate().filter(|&(i, _)| i != k).map(|(_, r)| r.iter().enumerate().filter(|&(j, _)| j != k).map(|(_, x)| x.clone()).collect()).collect()
}

fn drop_in(m: &Mat, k: usize) -> Mat {
    match m {
        Mat::Identity => Mat::Identity,
        Mat::Const(r) => Mat::Const(drop_rows(r, k)),
        Mat::Diag(diag, r) => Mat::Diag(diag.iter().enumerate().filter(|&(i, _)| i != k).map(|(_, x)| x.clone()).collect(), drop_rows(r, k)),
        Mat::Scalar(e, r) => Mat::Scalar(e.clone(), drop_rows(r, k)),
        Mat::Layers(ls, tau) => Mat::Layers(ls.iter().map(|r| drop_rows(r, k)).collect(), tau.clone()),
    }
}

/// The system restricted to the other coordinates (every matrix loses row and column `k`,
/// every token coordinate `k`).
fn drop_coordinate(d: &Draft, k: usize) -> Draft {
    let mut e = d.clone();
    e.dim -= 1;
    e.heads = d.heads.iter().map(|(p, u)| (drop_in(p, k), drop_in(u, k))).collect();
    if let MetricDraft::Matrix(w) = &d.metric {
        e.metric = MetricDraft::Matrix(drop_rows(w, k));
    }
    e.initial = d.initial.iter().map(|r| r.iter().enumerate().filter(|&(i, _)| i != k).map(|(_, x)| x.clone()).collect()).collect();
    e.hemisphere = d.hemisphere.as_ref().map(|v| v.iter().enumerate().filter(|&(i, _)| i != k).map(|(_, x)| x.clone()).collect());
    e.planted.push(format!("coordinate {} dropped", k + 1));
    e
}

fn constant_of(m: &Mat) -> Option<Mat> {
    match m {
        Mat::Diag(_, r) | Mat::Scalar(_, r) => Some(Mat::Const(r.clone())),
        Mat::Layers(ls, _) => ls.first().map(|r| Mat::Const(r.clone())),
        _ => None,
    }
}

fn round_text(x: &str, sig: usize) -> String {
    x.parse::<f64>().map_or_else(|_| x.to_string(), |v| lit(v, sig))
}

fn round_rows(m: &Rows, sig: usize) -> Rows {
    m.iter().map(|r| r.iter().map(|x| round_text(x, sig)).collect()).collect()
}

fn round_mat(m: &Mat, sig: usize) -> Mat {
    match m {
        Mat::Identity => Mat::Identity,
        Mat::Const(r) => Mat::Const(round_rows(r, sig)),
        Mat::Diag(diag, r) => Mat::Diag(diag.clone(), round_rows(r, sig)),
        Mat::Scalar(e, r) => Mat::Scalar(e.clone(), round_rows(r, sig)),
        Mat::Layers(ls, tau) => Mat::Layers(ls.iter().map(|r| round_rows(r, sig)).collect(), tau.clone()),
    }
}

/// Every number of the matrices and tokens rounded to `sig` significant digits. Mirror
/// entries round alike, so a symmetric matrix stays symmetric; an exact antipode stays one
/// (rounding commutes with negation).
fn round_all(d: &Draft, sig: usize) -> Draft {
    let mut e = d.clone();
    e.heads = d.heads.iter().map(|(p, u)| (round_mat(p, sig), round_mat(u, sig))).collect();
    if let MetricDraft::Matrix(w) = &d.metric {
        e.metric = MetricDraft::Matrix(round_rows(w, sig));
    }
    e.initial = round_rows(&d.initial, sig);
    e.hemisphere = d.hemisphere.as_ref().map(|v| v.iter().map(|x| round_text(x, sig)).collect());
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> Draft {
        Draft {
            tokens: 3,
            dim: 3,
            causal: true,
            metric: MetricDraft::Identity,
            heads: vec![(Mat::Diag(vec!["cos(t)".into(), "1".into(), "2".into()], vec![vec!["0.123456".into(); 3]; 3]), Mat::Identity)],
            initial: vec![vec!["1.0".into(), "0.5".into(), "0.25".into()]; 3],
            hemisphere: None,
            planted: vec![],
        }
    }

    #[test]
    fn candidates_keep_shapes_consistent() {
        for (what, c) in candidates(&draft()) {
            assert_eq!(c.initial.len(), c.tokens, "{what}");
            assert!(c.initial.iter().all(|r| r.len() == c.dim), "{what}");
            for (p, _) in &c.heads {
                if let Mat::Const(r) | Mat::Diag(_, r) = p {
                    assert_eq!(r.len(), c.dim, "{what}");
                }
            }
        }
        // Causal: only the last token is dropped.
        assert_eq!(candidates(&draft()).iter().filter(|(w, _)| w.starts_with("drop token")).count(), 1);
    }
}
