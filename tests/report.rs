//! The report of a verified certificate: the Markdown is snapshotted, the HTML page and its SVG
//! plots are parsed as XML, their coordinates checked to be finite and their text to lie inside
//! the picture. Two kinds of certificate: a synthetic one (made here with exact float
//! operations only, so the snapshot is the same on every platform; the report renders whatever
//! the checker accepted, it does not check anything itself), and short real ones of the paper's
//! systems, certified and verified here, for what the plots must show of a proof.

mod common;

use std::path::Path;
use std::sync::OnceLock;

use attncert::certificate::check::{verify, Accepted, ProvedClaim};
use attncert::certificate::{BoxSet, Certificate, Claim, Producer, Step, SystemSource, FORMAT, VERSION};
use attncert::certify::{certify, Options, Sets};
use attncert::numeric::show::show_upper;
use attncert::report::certificate::{html, markdown};
use attncert::system::{doc, System};

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

/// The one plot whose `class` starts with `class`.
fn plot<'a>(page: &'a str, class: &str) -> &'a str {
    let found: Vec<&str> = svgs(page).into_iter().filter(|s| s.starts_with(&format!("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"{class}"))).collect();
    assert_eq!(found.len(), 1, "one {class} plot");
    found[0]
}

const COORDINATES: [&str; 15] = ["points", "d", "x", "y", "cx", "cy", "r", "x1", "y1", "x2", "y2", "width", "height", "viewBox", "transform"];

/// Parses an SVG fragment; returns its number of drawn shapes, checking that every coordinate
/// attribute holds finite numbers only.
fn check_svg(svg: &str) -> usize {
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("SVG does not parse: {e}\n{svg}"));
    let mut shapes = 0;
    for node in doc.descendants().filter(|n| n.is_element()) {
        if ["path", "polyline", "polygon", "line"].contains(&node.tag_name().name()) {
            shapes += 1;
        }
        for attr in node.attributes() {
            if !COORDINATES.contains(&attr.name()) {
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

/// Pixel points of a `points` attribute.
fn xy(points: &str) -> Vec<(f64, f64)> {
    points
        .split_whitespace()
        .map(|p| {
            let (x, y) = p.split_once(',').expect("x,y");
            (x.parse().unwrap(), y.parse().unwrap())
        })
        .collect()
}

/// The `points` of every element with this class, in order.
fn shapes_of<'a>(doc: &'a roxmltree::Document, class: &str) -> Vec<roxmltree::Node<'a, 'a>> {
    doc.descendants().filter(|n| n.attribute("class") == Some(class)).collect()
}

fn attr(n: &roxmltree::Node, name: &str) -> f64 {
    n.attribute(name).unwrap_or_else(|| panic!("no {name}")).parse().unwrap()
}

/// The number of points of every `<polyline>` and `<polygon>` of a class.
fn point_counts(svg: &str, class: &str) -> Vec<usize> {
    let doc = roxmltree::Document::parse(svg).unwrap();
    shapes_of(&doc, class).iter().filter_map(|n| n.attribute("points")).map(|p| p.split_whitespace().count()).collect()
}

/// The whole page as XML (its `<!DOCTYPE html>` is a DTD to roxmltree).
fn parse_page(page: &str) -> Result<roxmltree::Document<'_>, roxmltree::Error> {
    roxmltree::Document::parse_with_options(page, roxmltree::ParsingOptions { allow_dtd: true, ..Default::default() })
}

/// A short real certificate of a paper system, certified and verified here (once per process).
fn real(file: &str, theorem: &str, until: f64) -> (Certificate, Accepted) {
    let text = std::fs::read_to_string(common::repo(&format!("theorems/examples/{file}.toml"))).unwrap();
    let path = format!("{file}.toml");
    let sys = System::from_value(Path::new(&path), &doc::parse_toml(Path::new(&path), &text).unwrap()).unwrap();
    // The goldens' regime (boxes, a fixed tolerance): the point-set default takes rounding-level
    // widths in ~5× more steps, past the plots' segment and point caps, which these tests keep
    // below (a merged segment's band is its segments' hull, above the claim at T).
    let opts = Options { theorem: theorem.into(), until, sets: Sets::Box, tolerance: Some(1e-8), variational_order: 5, ..Options::default() };
    let cert = certify(&sys, SystemSource { file: path, format: "toml".into(), text }, &opts, |_| {}).expect("certify");
    let ok = verify(&cert).unwrap_or_else(|r| panic!("{file}: {r}"));
    (cert, ok)
}

/// Section 7.3 (Theorem 6.1, ten Lyapunov functions, a predicted limit v) to t = 3.
fn sec7_3() -> &'static (Certificate, Accepted, String) {
    static PAGE: OnceLock<(Certificate, Accepted, String)> = OnceLock::new();
    PAGE.get_or_init(|| {
        let (cert, ok) = real("sec7_3", "6.1", 3.0);
        let page = html(&cert, &ok);
        (cert, ok, page)
    })
}

/// Section 7.1 (Theorem 3.2: V_P < 0 on a linear axis, tokens on the ellipsoid E_P) to t = 1.
fn sec7_1() -> &'static (Certificate, Accepted, String) {
    static PAGE: OnceLock<(Certificate, Accepted, String)> = OnceLock::new();
    PAGE.get_or_init(|| {
        let (cert, ok) = real("sec7_1", "3.2", 1.0);
        let page = html(&cert, &ok);
        (cert, ok, page)
    })
}

fn proved(ok: &Accepted, kind: &str, function: Option<&str>) -> f64 {
    ok.claims.iter().find(|p| p.claim.kind == kind && p.claim.function.as_deref() == function).expect("claim").proved
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
    assert!(page.contains("VERIFIED by attncert verify: theorem 3.2 applies (its hypotheses hold, re-checked from the exact system); every solution from the initial set is enclosed on [0, 3.125] (25 steps)"), "{page}");
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
    // Two panels (x–y, x–z) of one polyline per token, through t = 0 and every step's end.
    assert_eq!(point_counts(plots[2], "path"), vec![26; 4]);
}

#[test]
fn html_page_is_well_formed_with_no_stray_markup() {
    let (cert, ok) = synthetic(25, 0.125);
    for page in [html(&cert, &ok), sec7_3().2.clone(), sec7_1().2.clone()] {
        // The page is XML as well as HTML: a broken tag or quote cannot hide in it.
        let doc = parse_page(&page).unwrap_or_else(|e| panic!("the page is not well-formed: {e}"));
        for t in doc.descendants().filter(|n| n.is_text()) {
            let text = t.text().unwrap_or_default();
            assert!(!text.contains("\">") && !text.contains("=\"") && !text.contains("/>"), "markup shown as text: {text:?}");
        }
        // The wide enclosure table scrolls in its own box instead of widening the page.
        assert!(page.contains("<div class=\"scroll\">\n<table class=\"samples\">"));
        assert!(page.contains(".scroll{overflow-x:auto"));
    }
}

#[test]
fn misalignment_plot_draws_the_certified_sets_at_step_ends() {
    let (_, ok, page) = sec7_3();
    let svg = plot(page, "plot-misalignment");
    let doc = roxmltree::Document::parse(svg).unwrap();
    let claim = proved(ok, "misalignment-at-end", None);
    let line = shapes_of(&doc, "claim");
    assert_eq!(line.len(), 1, "the proved E(T) is marked");
    let claim_y = attr(&line[0], "y1");
    // The band of the end sets reaches T at the proved bound, not above it (a larger y is a
    // smaller value): the a-priori whole-step band alone made the proof look weaker.
    let ends = xy(shapes_of(&doc, "step-end")[0].attribute("points").unwrap());
    let t_end = ends.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
    let top_at_end = ends.iter().filter(|p| p.0 == t_end).map(|p| p.1).fold(f64::INFINITY, f64::min);
    assert!(top_at_end >= claim_y - 0.05, "E at T drawn at y = {top_at_end}, above the claim at {claim_y}");
    // The whole-step band is there, lighter, and the legend says which is which.
    assert_eq!(shapes_of(&doc, "whole-step").len(), 1);
    assert!(svg.contains("E over each whole step") && svg.contains("E over the certified set at t = 0 and at each step end"));
    assert!(svg.contains(&format!("E(T) ≤ {}", show_upper(claim))));
}

#[test]
fn lyapunov_functions_share_one_log_plot() {
    let (cert, ok, page) = sec7_3();
    let svg = plot(page, "plot-lyapunov");
    assert!(svg.contains("class=\"plot-lyapunov log\""));
    assert_eq!(svgs(page).len(), 3, "E, the Lyapunov functions, the token paths");
    let doc = roxmltree::Document::parse(svg).unwrap();
    assert_eq!(shapes_of(&doc, "lyapunov").len(), cert.lyapunov.len());
    // Each proved end bound is marked, and printed rounded up.
    assert_eq!(shapes_of(&doc, "claim").len(), cert.lyapunov.len());
    for name in &cert.lyapunov {
        assert!(svg.contains(&format!("{name}(T) ≤ {}", show_upper(proved(ok, "lyapunov-at-end", Some(name))))), "{name}");
    }
    // Decades on the axis.
    let ticks: Vec<&str> = doc.descendants().filter(|n| n.attribute("text-anchor") == Some("end")).filter_map(|n| n.text()).collect();
    assert!(ticks.len() >= 2 && ticks.iter().all(|t| t.starts_with("1e")), "{ticks:?}");
    // Theorem 3.2's V_P is negative: a linear axis.
    assert!(plot(&sec7_1().2, "plot-lyapunov").contains("class=\"plot-lyapunov linear\""));
}

#[test]
fn token_plot_shows_the_surface_the_start_and_the_predicted_limit() {
    let (cert, _, page) = sec7_3();
    let doc = roxmltree::Document::parse(plot(page, "plot-tokens")).unwrap();
    // Per panel: the unit sphere's outline and the cross at v (Theorem 6.1 holds).
    assert_eq!(shapes_of(&doc, "outline").len(), 2);
    assert_eq!(shapes_of(&doc, "limit").len(), 2);
    // Every path starts at t = 0 (the initial set), where its circle is; one point per step end.
    let paths = shapes_of(&doc, "path");
    let starts = shapes_of(&doc, "start");
    assert_eq!((paths.len(), starts.len()), (20, 20));
    for (p, c) in paths.iter().zip(&starts) {
        let pts = xy(p.attribute("points").unwrap());
        assert_eq!(pts.len(), cert.steps.len() + 1);
        assert_eq!((attr(c, "cx"), attr(c, "cy")), pts[0]);
    }
    // The ellipsoid E_P for Section 7.1, whose theorem names no limit point.
    let doc = roxmltree::Document::parse(plot(&sec7_1().2, "plot-tokens")).unwrap();
    assert_eq!((shapes_of(&doc, "outline").len(), shapes_of(&doc, "limit").len()), (2, 0));
    assert!(sec7_1().2.contains("ellipsoid E_W"));
}

/// A generous width for `n` characters of the plots' 11 px sans-serif text.
fn text_width(n: usize) -> f64 {
    6.2 * n as f64
}

#[test]
fn every_label_and_legend_entry_lies_inside_its_picture() {
    let (cert, ok) = synthetic(25, 0.125);
    for page in [html(&cert, &ok), sec7_3().2.clone(), sec7_1().2.clone()] {
        for svg in svgs(&page) {
            let doc = roxmltree::Document::parse(svg).unwrap();
            let view: Vec<f64> = doc.root_element().attribute("viewBox").unwrap().split(' ').map(|v| v.parse().unwrap()).collect();
            let (w, h) = (view[2], view[3]);
            for t in doc.descendants().filter(|n| n.has_tag_name("text")) {
                let label = t.text().unwrap_or_default();
                let (x, y, len) = (attr(&t, "x"), attr(&t, "y"), text_width(label.chars().count()));
                let (a, b) = match t.attribute("text-anchor") {
                    Some("end") => (x - len, x),
                    Some("middle") => (x - len / 2.0, x + len / 2.0),
                    _ => (x, x + len),
                };
                // A rotated axis name runs vertically through (x, y).
                let (span, across, lo, hi) = if t.attribute("transform").is_some() { ((a - x + y, b - x + y), x, 0.0, h) } else { ((a, b), y, 0.0, w) };
                assert!(span.0 >= lo && span.1 <= hi, "{label:?} runs over the edge of a {w}×{h} picture: {span:?}");
                assert!(across >= 10.0 && across <= if t.attribute("transform").is_some() { w } else { h }, "{label:?} at {across}");
            }
        }
    }
}

#[test]
fn log_plots_survive_values_without_a_logarithm() {
    let (mut cert, mut ok) = synthetic(40, 0.125);
    // Lyapunov functions on a log axis, from the recorded values (U = I has no simple top
    // eigenvalue, so the report cannot set up Theorem 6.1's functions itself).
    cert.theorem = "6.1".into();
    let bad = [0.0, -1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, f64::MIN_POSITIVE, 1e300];
    for (i, s) in cert.steps.iter_mut().enumerate() {
        let (a, b) = (bad[i % bad.len()], bad[(i / bad.len()) % bad.len()]);
        s.misalignment = [a, b];
        s.values = vec![[b, a]];
        if i % 3 == 0 {
            // An end box through the origin: E's enclosure over it is unbounded.
            s.end = BoxSet::plain(vec![-1.0; 6], vec![1.0; 6]);
        }
    }
    ok.claims.iter_mut().for_each(|p| p.proved = f64::NAN);
    let page = html(&cert, &ok);
    for svg in svgs(&page) {
        check_svg(svg);
    }
    // Nothing usable at all: still finite, still well-formed.
    cert.steps.iter_mut().for_each(|s| {
        s.misalignment = [f64::NAN; 2];
        s.values = vec![[f64::NAN; 2]];
        s.end = BoxSet::plain(vec![-1.0; 6], vec![1.0; 6]);
    });
    cert.system.text = "not = [valid".into();
    let page = html(&cert, &ok);
    parse_page(&page).unwrap();
    svgs(&page).into_iter().for_each(|svg| {
        check_svg(svg);
    });
}

#[test]
fn html_report_downsamples_long_certificates() {
    let (cert, ok) = synthetic(5000, 1e-3);
    let page = html(&cert, &ok);
    let plots = svgs(&page);
    assert_eq!(plots.len(), 3);
    for svg in &plots {
        assert!(check_svg(svg) > 0);
        let doc = roxmltree::Document::parse(svg).unwrap();
        let counts: Vec<usize> = doc.descendants().filter_map(|n| n.attribute("points")).map(|p| p.split_whitespace().count()).collect();
        assert!(counts.iter().all(|&n| n <= 1201), "{counts:?}");
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
    // Only the recorded whole-step enclosures are there to draw, and the caption says so.
    assert!(page.contains("the embedded system does not decode"));
}

/// A certificate of a theorem whose hypotheses fail is still verified, but its report must not
/// read like a proof of the theorem (green "VERIFIED" alone did).
#[test]
fn reports_say_when_the_theorem_does_not_apply() {
    let (cert, mut ok) = synthetic(5, 0.125);
    ok.verdict = "fails".into();
    let page = html(&cert, &ok);
    assert!(page.contains("<p class=\"verified caveat\">VERIFIED by attncert verify: theorem 3.2 does NOT apply"), "{page}");
    assert!(markdown(&cert, &ok).contains("not the theorem's conclusion"));
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
