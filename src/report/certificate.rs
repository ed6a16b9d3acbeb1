//! The report of a *verified* certificate, as Markdown or as one self-contained HTML page with
//! inline SVG plots (no scripts, no external resources, so the page can be archived or mailed).
//!
//! Only call these with the [`Accepted`] that `verify` returned for the same certificate: the
//! page says "VERIFIED". Every printed bound is rounded outward with [`show_lower`] /
//! [`show_upper`], so the report never states more than the checker proved. The plots
//! ([`plots`]) are illustrations, not proofs, but each contains every enclosure it depicts.
//!
//! The HTML page is also well-formed XML (every element closed, all text escaped): a stray
//! quote or bracket cannot turn markup into visible text unnoticed, since the tests parse it.

mod plots;
mod svg;

use std::path::Path;

use crate::certificate::check::{Accepted, ProvedClaim};
use crate::certificate::{Certificate, ClaimKind};
use crate::numeric::show::{show_lower, show_upper};
use crate::system::{doc, System};

/// Rows of the enclosure table: the first step, the last, and evenly spaced ones between.
const SAMPLED_ROWS: usize = 10;

/// The certificate as Markdown.
pub fn markdown(cert: &Certificate, ok: &Accepted) -> String {
    let s = Summary::new(cert, ok);
    let mut out = format!("# {}\n\n**VERIFIED** by attncert verify: {}\n\n", md_esc(&s.title), s.verified);
    for (key, value) in &s.facts {
        out += &format!("- {}: {}\n", md_esc(key), md_esc(value));
    }
    out += &format!("\n## Claims\n\n{}\n## Enclosures at sampled steps\n\n{}\n\n", md_table(&s.claims), SAMPLES_NOTE);
    out += &md_table(&s.samples);
    out
}

/// The certificate as a self-contained HTML page.
pub fn html(cert: &Certificate, ok: &Accepted) -> String {
    let s = Summary::new(cert, ok);
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        esc(&s.title)
    );
    // Green only when the theorem applies: a certificate of a theorem whose hypotheses fail
    // proves enclosures, not the theorem's conclusion.
    let class = if ok.verdict == "holds" { "verified" } else { "verified caveat" };
    out += &format!("<h1>{}</h1>\n<p class=\"{class}\">VERIFIED by attncert verify: {}</p>\n<ul>\n", esc(&s.title), esc(&s.verified));
    for (key, value) in &s.facts {
        out += &format!("<li>{}: {}</li>\n", esc(key), esc(value));
    }
    out += &format!("</ul>\n<h2>Claims</h2>\n{}", html_table(&s.claims, "claims"));
    out += &format!("<h2>Enclosures at sampled steps</h2>\n<p>{}</p>\n{}", esc(SAMPLES_NOTE), html_table(&s.samples, "samples"));
    out += "<h2>Plots</h2>\n";
    for (svg, caption) in plots::all(cert, ok, s.system.as_ref()) {
        out += &format!("<figure>\n{svg}<figcaption>{}</figcaption>\n</figure>\n", esc(&caption));
    }
    out += "</body>\n</html>\n";
    out
}

const SAMPLES_NOTE: &str = "Each row encloses the values over the whole step, for every t in [t0, t1] \
(the printed window lies inside the step's); lower ends are rounded down, upper ends up.";

/// A wide table scrolls inside its own box (`.scroll`) instead of widening the page; a figure
/// wider than the page does the same.
const CSS: &str = "body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#222}\
.verified{font-weight:bold;color:#1a7f37}.caveat{color:#9a6700}.scroll{overflow-x:auto;max-width:100%;margin:1em 0}\
table{border-collapse:collapse}\
td,th{border:1px solid #bbb;padding:.2em .5em;text-align:right}th{background:#eee}\
table.samples td,table.samples th{white-space:nowrap}\
td:first-child{text-align:left}figure{margin:1.5em 0;overflow-x:auto}figcaption{font-size:.9em;color:#444;max-width:50em}\
svg{display:block}svg text{font-size:11px;fill:#222}";

/// Everything both formats print, already rendered as plain text.
struct Summary {
    title: String,
    verified: String,
    facts: Vec<(String, String)>,
    claims: Table,
    samples: Table,
    system: Option<System>,
}

struct Table {
    head: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Summary {
    fn new(cert: &Certificate, ok: &Accepted) -> Summary {
        let system = parse_system(cert);
        let name = system.as_ref().map_or_else(|| cert.system.file.clone(), |s| s.name.clone());
        // Whether the theorem applies, and the window (its end rounded down: a shorter window
        // claims less, never more), as `verify`'s first line says it.
        let verified = crate::report::verdict::accepted(&cert.theorem, ok);
        let shape = system.as_ref().map_or(String::new(), |s| format!("; ℓ = {} tokens, d = {}", s.tokens, s.dim));
        let facts = vec![
            // The file name is only a label the producer recorded; the name is the verified text's.
            ("System".to_string(), format!("{name}{shape} (recorded as file '{}')", cert.system.file)),
            (format!("Theorem {}", cert.theorem), format!("verdict {} (re-checked from the exact system)", ok.verdict)),
            ("Initial set".to_string(), initial_set(cert.radius)),
            ("Producer (informational, untrusted)".to_string(), producer(cert)),
        ];
        Summary {
            // System names often already say which theorem they illustrate.
            title: if name.contains(&format!("Theorem {}", cert.theorem)) {
                format!("attncert certificate: {name}")
            } else {
                format!("attncert certificate: {name}, Theorem {}", cert.theorem)
            },
            verified,
            facts,
            claims: claims_table(&ok.claims),
            samples: samples_table(cert),
            system,
        }
    }
}

/// The system, decoded from the certificate's own copy of the file; `None` if it does not
/// decode (the report then just omits the name and the token plot: it proves nothing itself).
fn parse_system(cert: &Certificate) -> Option<System> {
    let path = Path::new(&cert.system.file);
    let parsed = if cert.system.format == "json" {
        doc::parse_json(path, &cert.system.text)
    } else {
        doc::parse_toml(path, &cert.system.text)
    };
    System::from_value(path, &parsed.ok()?).ok()
}

/// The radius is printed rounded down: a smaller initial box is a weaker statement.
fn initial_set(radius: f64) -> String {
    if radius == 0.0 {
        "the exact initial tokens".into()
    } else {
        format!("a box of radius {} around the exact initial tokens (in every coordinate)", show_lower(radius))
    }
}

fn producer(cert: &Certificate) -> String {
    let p = &cert.producer;
    format!("{}, method {}, stopped: {}, {:.2} s", p.program, p.method, p.stop, p.seconds)
}

/// What a claim kind states, with `b` its bound (see [`ClaimKind`]).
fn statement(kind: &str, function: &str) -> String {
    match ClaimKind::parse(kind) {
        Some(ClaimKind::LyapunovNonincreasing) => format!("d{function}/dt ≤ b ≤ 0 on [0, T]"),
        Some(ClaimKind::MisalignmentAtEnd) => "E(y(T)) ≤ b".into(),
        Some(ClaimKind::MaxAngleAtEnd) => "largest angle between tokens at T ≤ b (rad)".into(),
        Some(ClaimKind::LyapunovAtEnd) => format!("{function}(y(T)) ≤ b"),
        Some(ClaimKind::MisalignmentAboveAtEnd) => "E(y(T)) ≥ b > 0".into(),
        Some(ClaimKind::LyapunovAboveAtEnd) => format!("{function}(y(T)) ≥ b"),
        Some(ClaimKind::LyapunovIncrease) => format!("{function}(y(T)) − {function}(y(0)) ≥ b > 0"),
        None => "?".into(),
    }
}

/// Both bounds of a `≤ b` claim are upper bounds, printed rounded up; both of a `≥ b` claim
/// are lower bounds, printed rounded down: either way the table never claims more than proved.
fn claims_table(claims: &[ProvedClaim]) -> Table {
    let head = ["claim", "function", "states", "claimed bound b", "proved bound"];
    let rows = claims
        .iter()
        .map(|p| {
            let function = p.claim.function.clone().unwrap_or_default();
            let states = statement(&p.claim.kind, if function.is_empty() { "V" } else { &function });
            let show = if ClaimKind::parse(&p.claim.kind).is_some_and(ClaimKind::is_lower) { show_lower } else { show_upper };
            vec![p.claim.kind.clone(), function, states, show(p.claim.bound), show(p.proved)]
        })
        .collect();
    Table { head: head.iter().map(|h| h.to_string()).collect(), rows }
}

fn samples_table(cert: &Certificate) -> Table {
    let mut head: Vec<String> = ["step", "t0", "t1", "E lo", "E hi"].iter().map(|h| h.to_string()).collect();
    for name in &cert.lyapunov {
        head.push(format!("{name} [lo, hi]"));
        head.push(format!("d{name}/dt ≤"));
    }
    let rows = sample_indices(cert.steps.len(), SAMPLED_ROWS).into_iter().map(|i| sample_row(cert, i)).collect();
    Table { head, rows }
}

fn sample_row(cert: &Certificate, i: usize) -> Vec<String> {
    let s = &cert.steps[i];
    // The time window is rounded *inward*: the row then claims its enclosures on a sub-window.
    let mut row = vec![(i + 1).to_string(), show_upper(s.t0), show_lower(s.t1)];
    row.push(show_lower(s.misalignment[0]));
    row.push(show_upper(s.misalignment[1]));
    for j in 0..cert.lyapunov.len() {
        row.push(s.values.get(j).map_or("?".into(), |v| format!("[{}, {}]", show_lower(v[0]), show_upper(v[1]))));
        row.push(s.derivative_upper.get(j).map_or("?".into(), |&d| show_upper(d)));
    }
    row
}

/// At most `k` indices out of `0..n`: the first, the last and evenly spaced ones between.
fn sample_indices(n: usize, k: usize) -> Vec<usize> {
    if n <= k || k < 2 {
        return (0..n.min(k)).collect();
    }
    let mut out: Vec<usize> = (0..k).map(|i| i * (n - 1) / (k - 1)).collect();
    out.dedup();
    out
}

fn md_table(t: &Table) -> String {
    // A line break inside a cell would end the table row.
    let cell = |s: &String| md_esc(&s.replace('\n', " "));
    let line = |cells: &[String]| format!("| {} |\n", cells.iter().map(cell).collect::<Vec<_>>().join(" | "));
    let mut out = line(&t.head);
    out += &format!("|{}\n", "---|".repeat(t.head.len()));
    for r in &t.rows {
        out += &line(r);
    }
    out
}

fn html_table(t: &Table, class: &str) -> String {
    let row = |cells: &[String], tag: &str| {
        let inner: String = cells.iter().map(|c| format!("<{tag}>{}</{tag}>", esc(c))).collect();
        format!("<tr>{inner}</tr>\n")
    };
    let body: String = t.rows.iter().map(|r| row(r, "td")).collect();
    format!("<div class=\"scroll\">\n<table class=\"{class}\">\n<thead>{}</thead>\n<tbody>\n{body}</tbody>\n</table>\n</div>\n", row(&t.head, "th"))
}

/// Backslash-escapes the characters that would turn user text (a system's name, the producer's
/// words) into inline HTML or a table column in CommonMark; it still reads as plain text.
fn md_esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '<' | '>' | '|') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Escapes text for HTML and XML, in element content and in double-quoted attributes.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out += "&amp;",
            '<' => out += "&lt;",
            '>' => out += "&gt;",
            '"' => out += "&quot;",
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_keep_first_and_last() {
        assert_eq!(sample_indices(3, 10), vec![0, 1, 2]);
        assert_eq!(sample_indices(0, 10), Vec::<usize>::new());
        let s = sample_indices(1000, 10);
        assert_eq!((s.len(), s[0], s[9]), (10, 0, 999));
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(esc("a<b & \"c\">"), "a&lt;b &amp; &quot;c&quot;&gt;");
        assert_eq!(md_esc("a<b> | c\\"), "a\\<b\\> \\| c\\\\");
    }
}
