//! The report of a verified certificate: the Markdown is snapshotted, the HTML's SVG plots are
//! parsed as XML and their coordinates checked to be finite. The certificate is synthetic (made
//! here with exact float operations only, so the snapshot is the same on every platform): the
//! report renders whatever the checker accepted, it does not check anything itself.

use attncert::certificate::check::{Accepted, ProvedClaim};
use attncert::certificate::{BoxSet, Certificate, Claim, Producer, Step, SystemSource, FORMAT, VERSION};
use attncert::report::certificate::{html, markdown};

const SYSTEM: &str = r#"name = "Two tokens <a & b>"
tokens = 2
dim = 3
attention = "full"
normalization = "paper"
metric = "P"

[[heads]]
P = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
U = "identity"

[initial]
tokens = [[1.0, 0.5, 0.1], [1.0, -0.5, -0.2]]
"#;

/// Token midpoints after step `n`: two tokens drawing together geometrically.
fn tokens_at(q: f64) -> [f64; 6] {
    [1.0, 0.5 * q, 0.1 * q, 1.0, -0.5 * q, -0.2 * q]
}

fn step(n: usize, h: f64, q: f64) -> Step {
    let mid = tokens_at(q);
    let (t0, t1) = (n as f64 * h, (n + 1) as f64 * h);
    let widen = |w: f64| BoxSet::plain(mid.iter().map(|m| m - w).collect(), mid.iter().map(|m| m + w).collect());
    // The last step's lower misalignment bound is 0, which the log plot must clamp.
    let e_lo = if q < 1e-3 { 0.0 } else { 0.25 * q * q * 0.99 };
    Step {
        t0,
        t1,
        order: 4,
        variational_order: 4,
        apriori: widen(1e-3),
        end: widen(1e-6),
        values: vec![[-1.0 - 0.5 * (1.0 - q) - 1e-4, -1.0 - 0.5 * (1.0 - q) + 1e-4]],
        derivative_upper: vec![-0.05 - 0.01 * q],
        misalignment: [e_lo, 0.25 * q * q * 1.01],
    }
}

/// A certificate of `n` steps of width `h`, with its acceptance.
fn synthetic(n: usize, h: f64) -> (Certificate, Accepted) {
    let mut q = 1.0;
    let steps: Vec<Step> = (0..n)
        .map(|i| {
            q *= 0.75;
            step(i, h, q)
        })
        .collect();
    let last = steps[n - 1].clone();
    let claims = vec![
        (Claim { kind: "lyapunov-nonincreasing".into(), bound: -0.04, function: Some("V_P".into()) }, -0.05),
        (Claim { kind: "misalignment-at-end".into(), bound: 1e-3, function: None }, last.misalignment[1]),
        (Claim { kind: "max-angle-at-end".into(), bound: 0.125, function: None }, 0.1234567891),
        (Claim { kind: "lyapunov-at-end".into(), bound: -1.4, function: Some("V_P".into()) }, last.values[0][1]),
    ];
    let cert = Certificate {
        format: FORMAT.into(),
        version: VERSION,
        theorem: "3.2".into(),
        system: SystemSource { file: "two_tokens.toml".into(), format: "toml".into(), text: SYSTEM.into() },
        verdict: "holds".into(),
        radius: 1e-6,
        lyapunov: vec!["V_P".into()],
        producer: Producer {
            program: "attncert 0.1.0".into(),
            method: "taylor-4".into(),
            stop: "target reached (t >= T)".into(),
            seconds: 1.234,
        },
        steps,
        claims: claims.iter().map(|(c, _)| c.clone()).collect(),
    };
    let ok = Accepted {
        verdict: "holds".into(),
        steps: n,
        end_time: last.t1,
        claims: claims.into_iter().map(|(claim, proved)| ProvedClaim { claim, proved }).collect(),
    };
    (cert, ok)
}

/// Every `<svg>…</svg>` fragment of a page.
fn svgs(page: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = page;
    while let Some(start) = rest.find("<svg") {
        let end = rest[start..].find("</svg>").expect("every <svg> is closed") + start + "</svg>".len();
        out.push(&rest[start..end]);
        rest = &rest[end..];
    }
    out
}

/// Parses an SVG fragment; returns its number of drawn shapes, checking that every coordinate
/// attribute holds finite numbers only.
fn check_svg(svg: &str) -> usize {
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("SVG does not parse: {e}\n{svg}"));
    let mut shapes = 0;
    for node in doc.descendants().filter(|n| n.is_element()) {
        if ["path", "polyline", "polygon"].contains(&node.tag_name().name()) {
            shapes += 1;
        }
        for attr in node.attributes() {
            if !["points", "d", "x", "y", "cx", "cy", "r", "width", "height", "viewBox", "transform"].contains(&attr.name()) {
                continue;
            }
            let v = attr.value();
            assert!(!v.contains("NaN") && !v.to_ascii_lowercase().contains("inf"), "{}={v}", attr.name());
            let numbers = v.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == 'e')).filter(|s| s.bytes().any(|b| b.is_ascii_digit()));
            for n in numbers {
                assert!(n.parse::<f64>().is_ok_and(f64::is_finite), "{}: {n} in {v}", attr.name());
            }
        }
    }
    shapes
}

/// The number of points of every `<polyline>` and `<polygon>`.
fn point_counts(svg: &str) -> Vec<usize> {
    let doc = roxmltree::Document::parse(svg).unwrap();
    doc.descendants().filter_map(|n| n.attribute("points")).map(|p| p.split_whitespace().count()).collect()
}

#[test]
fn markdown_report() {
    let (cert, ok) = synthetic(25, 0.125);
    insta::assert_snapshot!(markdown(&cert, &ok));
}

#[test]
fn html_report_renders() {
    let (cert, ok) = synthetic(25, 0.125);
    let page = html(&cert, &ok);
    assert!(page.starts_with("<!DOCTYPE html>") && page.trim_end().ends_with("</html>"));
    assert!(page.contains("VERIFIED by attncert verify: 25 steps, t ∈ [0, 3.125]"));
    assert!(page.contains("<table class=\"claims\">") && page.contains("<td>misalignment-at-end</td>"));
    // User text is escaped, never markup.
    assert!(page.contains("Two tokens &lt;a &amp; b&gt;") && page.contains("(t &gt;= T)"));
    assert!(!page.contains("<a & b>"));
    // No scripts or external resources.
    assert!(!page.contains("<script") && !page.contains("src=") && !page.contains("href="));
    let plots = svgs(&page);
    // E, V_P, and the token paths (d = 3).
    assert_eq!(plots.len(), 3, "{page}");
    for svg in &plots {
        assert!(check_svg(svg) > 0, "{svg}");
    }
    // Two panels (x–y, x–z) of one polyline per token, each through every step's end.
    assert_eq!(point_counts(plots[2]), vec![25; 4]);
}

#[test]
fn html_report_downsamples_long_certificates() {
    let (cert, ok) = synthetic(5000, 1e-3);
    let page = html(&cert, &ok);
    let plots = svgs(&page);
    assert_eq!(plots.len(), 3);
    for svg in &plots {
        assert!(check_svg(svg) > 0);
        assert!(point_counts(svg).iter().all(|&n| n <= 1201), "{:?}", point_counts(svg));
    }
    assert!(page.len() < 200_000, "{} bytes", page.len());
}

#[test]
fn html_report_without_a_decodable_system_skips_the_token_plot() {
    let (mut cert, ok) = synthetic(10, 0.125);
    cert.system.text = "not = [valid".into();
    let page = html(&cert, &ok);
    assert!(page.contains("attncert certificate: two_tokens.toml, Theorem 3.2"));
    let plots = svgs(&page);
    assert_eq!(plots.len(), 2);
    plots.iter().for_each(|svg| assert!(check_svg(svg) > 0));
}

/// Lower-bound claims (`≥ b`) print both bounds rounded down, upper-bound ones rounded up:
/// the table never states more than was proved.
#[test]
fn lower_bound_claims_are_printed_rounded_down() {
    let (mut cert, mut ok) = synthetic(10, 0.125);
    let lower = [
        (Claim { kind: "misalignment-above-at-end".into(), bound: 0.1234567891, function: None }, 0.1234567891),
        (Claim { kind: "lyapunov-above-at-end".into(), bound: -1.2345678912, function: Some("V_P".into()) }, -1.2345678912),
        (Claim { kind: "lyapunov-increase".into(), bound: 1.99999999e-3, function: Some("V_P".into()) }, 1.99999999e-3),
    ];
    cert.claims.extend(lower.iter().map(|(c, _)| c.clone()));
    ok.claims.extend(lower.into_iter().map(|(claim, proved)| ProvedClaim { claim, proved }));
    let page = markdown(&cert, &ok);
    let row = |kind: &str| page.lines().find(|l| l.contains(&format!("| {kind} |"))).unwrap_or_else(|| panic!("no {kind} row in\n{page}")).to_string();
    // (Markdown escapes `>` as `\>`.)
    let e = row("misalignment-above-at-end");
    assert!(e.contains("E(y(T)) ≥ b \\> 0") && e.contains("| 0.123456 | 0.123456 |"), "{e}");
    let v = row("lyapunov-above-at-end");
    assert!(v.contains("V_P(y(T)) ≥ b") && v.contains("| -1.23457 | -1.23457 |"), "{v}");
    let rise = row("lyapunov-increase");
    assert!(rise.contains("V_P(y(T)) − V_P(y(0)) ≥ b \\> 0") && rise.contains("| 0.00199999 | 0.00199999 |"), "{rise}");
    // The upper bound 0.1234567891 of the angle is still rounded up.
    assert!(row("max-angle-at-end").contains("| 0.125 | 0.123457 |"), "{page}");
}
