//! The `attncert` command line: the only place that prints and picks exit codes.
//!
//! Exit codes: 0 success; 1 a computation failed (or, for `check`, a theorem fails);
//! 2 bad input or usage.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use attncert::error::{Error, Result};
use attncert::report::output::{Format, Sink};
use attncert::report::samples;
use attncert::simulate::{self, runs, Method};
use attncert::system::System;

#[derive(Parser)]
#[command(name = "attncert", version, about = "Theorem checker with certified numerics for attention dynamics")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Simulate a system in floating point and report E and the Lyapunov functions over time.
    Simulate(SimulateArgs),
    /// Check which of the paper's theorems provably apply to a system: every hypothesis is
    /// proved, refuted or left undecided, in exact or outward-rounded interval arithmetic.
    /// Exit 0: every requested theorem holds; 1: one fails; 3: none fails, one is undecided.
    Check(CheckArgs),
    /// Integrate a system in interval arithmetic and write a certificate that the theorem's
    /// Lyapunov functions behave as claimed along every solution from the initial set.
    /// The first line says CERTIFIED (exit 0), NOT APPLICABLE (exit 3: the theorem's
    /// hypotheses fail or are undecided, so only the enclosures and bounds are proved) or
    /// PARTIAL (exit 1: the target was not reached; the partial certificate is still written).
    Certify(CertifyArgs),
    /// Re-verify a certificate from its data alone. Exit 0: accepted (the first line says
    /// whether the theorem applies and what is proved); 1: rejected (the step or claim and the
    /// reason are printed); 2: not a readable certificate.
    Verify {
        /// The certificate (JSON).
        file: PathBuf,
    },
    /// Verify a certificate and render it as a report (.md or .html with SVG plots).
    Report {
        /// The certificate (JSON).
        file: PathBuf,
        /// The report file: .html for HTML with plots, anything else for Markdown.
        #[arg(short, long)]
        out: PathBuf,
    },
    /// Write a system with every random draw and default made explicit, as a JSON system file
    /// (used by the NumPy baseline in bench/).
    Export {
        /// The system file (TOML or JSON).
        file: PathBuf,
        /// Write here instead of standard output.
        #[arg(short, long)]
        out: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Text,
    Csv,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum SetsArg {
    Qr,
    Parallelepiped,
    Box,
}

#[derive(Clone, Copy, ValueEnum)]
enum KernelArg {
    Auto,
    Batched,
    Reduced,
}

#[derive(Clone, Copy, ValueEnum)]
enum MethodArg {
    /// Dormand–Prince 5(4), adaptive, with dense output.
    Dopri5,
    /// Dormand–Prince 8(5,3), adaptive, for tight tolerances.
    Dop853,
    /// Classic fourth-order Runge–Kutta with the fixed step --step.
    Rk4,
}

#[derive(Args)]
struct SimulateArgs {
    /// The system file (TOML, or JSON by extension).
    file: PathBuf,
    /// Final time (default: the last --at time, else 10).
    #[arg(long)]
    until: Option<f64>,
    /// Exact times to report, comma-separated (e.g. 0,1,5,10).
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    at: Option<Vec<f64>>,
    /// Number of evenly spaced report times on [0, until], both ends included.
    #[arg(long, default_value_t = 11)]
    samples: usize,
    /// Integrator of the continuous model.
    #[arg(long, value_enum, default_value_t = MethodArg::Dopri5)]
    method: MethodArg,
    /// Relative tolerance (dopri5, dop853).
    #[arg(long, default_value_t = 1e-10)]
    rtol: f64,
    /// Absolute tolerance (dopri5, dop853).
    #[arg(long, default_value_t = 1e-12)]
    atol: f64,
    /// Float kernel: reduced (Y = Y₀·Φ, ℓ×ℓ state; needs U = I and P = s(t)·diag(…)·C) where it
    /// applies and ℓ ≤ d, else batched (d×ℓ tokens, any system).
    #[arg(long, value_enum, default_value_t = KernelArg::Auto)]
    kernel: KernelArg,
    /// Fixed step (rk4).
    #[arg(long, default_value_t = 1e-3)]
    step: f64,
    /// Run the discrete layer map instead of the flow (one layer per --tau).
    #[arg(long, requires = "tau")]
    discrete: bool,
    /// Layer step of the discrete model.
    #[arg(long)]
    tau: Option<f64>,
    /// Output format on standard output (with --out, the file's extension decides).
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    format: FormatArg,
    /// Write to this file (.csv, .json, or text), atomically.
    #[arg(short, long)]
    out: Option<PathBuf>,
    /// Simulate N independent redraws of every random field, in parallel; one row per run and time.
    #[arg(long)]
    runs: Option<u64>,
    /// Master seed of the redraws of --runs.
    #[arg(long, default_value_t = 0, requires = "runs")]
    seed: u64,
}

#[derive(Args)]
struct CheckArgs {
    /// The system file (TOML, or JSON by extension).
    file: PathBuf,
    /// Theorems to check (3.2, 4.1, 5.1, r5.1, 6.1, or a conjecture such as c6.1), repeatable or
    /// comma-separated. Default: the paper's theorems and Remark 5.1.
    #[arg(long = "theorem", value_delimiter = ',')]
    theorems: Vec<String>,
    /// Output format on standard output (with --out, the file's extension decides).
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    format: FormatArg,
    /// Write the report to this file (.json, or text), atomically.
    #[arg(short, long)]
    out: Option<PathBuf>,
}

#[derive(Args)]
struct CertifyArgs {
    /// The system file (TOML, or JSON by extension).
    file: PathBuf,
    /// The theorem whose Lyapunov functions to certify: 3.2, 4.1, 5.1, 6.1 or c6.1.
    #[arg(long)]
    theorem: String,
    /// Final time.
    #[arg(long, default_value_t = 10.0)]
    until: f64,
    /// Stop as soon as E ≤ this is proved (before --until).
    #[arg(long)]
    until_misalignment: Option<f64>,
    /// Certify every initial state in a box of this half-width around the exact tokens.
    #[arg(long, default_value_t = 0.0)]
    radius: f64,
    /// Taylor order of the steps.
    #[arg(long, default_value_t = 12)]
    order: u32,
    /// Taylor order of the variational matrix in Lohner's mean-value form (at most --order):
    /// higher keeps enclosures tighter over long steps, at a cost growing like its square.
    #[arg(long, default_value_t = 5)]
    variational_order: u32,
    /// Allowed growth of the enclosure width per unit time.
    #[arg(long, default_value_t = 1e-8)]
    tolerance: f64,
    /// Give up after this many steps (a layer schedule needing more is refused up front).
    #[arg(long, default_value_t = 200_000)]
    max_steps: usize,
    /// Set representation of step ends (wrapping-effect control): Lohner's QR parallelepipeds,
    /// plain parallelepipeds, or boxes.
    #[arg(long, value_enum, default_value_t = SetsArg::Box)]
    sets: SetsArg,
    /// Also claim the lower bounds the enclosure proves at T (E ≥ b > 0, each function ≥ b, and
    /// increases F(T) − F(0) ≥ b > 0): for counterexamples.
    #[arg(long)]
    lower_bounds: bool,
    /// The certificate file (JSON), written atomically.
    #[arg(short, long)]
    out: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Simulate(a) => cmd_simulate(a),
        Command::Check(a) => cmd_check(a),
        Command::Certify(a) => cmd_certify(a),
        Command::Verify { file } => cmd_verify(file),
        Command::Report { file, out } => cmd_report(file, out),
        Command::Export { file, out } => cmd_export(file, out),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(match e {
                Error::Input(_) | Error::Usage(_) => 2,
                Error::Numerical(_) | Error::Io { .. } => 1,
            })
        }
    }
}

fn positive(name: &str, v: f64) -> Result<f64> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(Error::Usage(format!("{name} must be positive and finite, found {v}")))
    }
}

fn sample_times(a: &SimulateArgs) -> Result<Vec<f64>> {
    let times = match (&a.at, a.until) {
        (Some(at), until) => {
            let mut at = at.clone();
            simulate::check_times(&at)?;
            if let Some(u) = until {
                if let Some(&bad) = at.iter().find(|&&t| t > u) {
                    return Err(Error::Usage(format!("--at time {bad} is beyond --until {u}")));
                }
                if at.last() != Some(&u) {
                    at.push(u);
                }
            }
            at
        }
        (None, until) => {
            let u = until.unwrap_or(10.0);
            if !(u.is_finite() && u >= 0.0) {
                return Err(Error::Usage(format!("--until must be finite and ≥ 0, found {u}")));
            }
            if a.samples == 0 {
                return Err(Error::Usage("--samples must be at least 1".into()));
            }
            simulate::even_times(u, a.samples)
        }
    };
    simulate::check_times(&times)?;
    Ok(times)
}

fn cmd_simulate(a: SimulateArgs) -> Result<ExitCode> {
    let sys = System::load(&a.file)?;
    let times = sample_times(&a)?;
    let method = if a.discrete {
        Method::Discrete { tau: positive("--tau", a.tau.unwrap_or(f64::NAN))? }
    } else {
        match a.method {
            MethodArg::Dopri5 => Method::Dopri5 { rtol: positive("--rtol", a.rtol)?, atol: positive("--atol", a.atol)? },
            MethodArg::Dop853 => Method::Dop853 { rtol: positive("--rtol", a.rtol)?, atol: positive("--atol", a.atol)? },
            MethodArg::Rk4 => Method::Rk4 { h: positive("--step", a.step)? },
        }
    };
    let format = match (&a.out, a.format) {
        (Some(p), _) => Format::from_path(p),
        (None, FormatArg::Text) => Format::Text,
        (None, FormatArg::Csv) => Format::Csv,
        (None, FormatArg::Json) => Format::Json,
    };
    let mut sink = match &a.out {
        Some(p) => Sink::file(p)?,
        None => Sink::stdout(),
    };
    match a.runs {
        None => {
            let kernel = match a.kernel {
                KernelArg::Auto => simulate::KernelChoice::Auto,
                KernelArg::Batched => simulate::KernelChoice::Batched,
                KernelArg::Reduced => simulate::KernelChoice::Reduced,
            };
            let traj = simulate::simulate_with(&sys, method, kernel, &times)?;
            let text = match format {
                Format::Text => samples::text(&sys, method, &traj),
                Format::Csv => samples::csv_header(&traj.names, false) + &samples::csv_rows(&traj, None),
                Format::Json => samples::json(&sys, method, &traj),
            };
            sink.write_str(&text)?;
        }
        Some(n) => bulk(&sys, method, &times, n, a.seed, format, &mut sink)?,
    }
    sink.finish()?;
    Ok(ExitCode::SUCCESS)
}

/// Bulk runs stream one row per run and time: text and CSV as CSV rows, JSON as JSON Lines.
fn bulk(sys: &System, method: Method, times: &[f64], n: u64, seed: u64, format: Format, sink: &mut Sink) -> Result<()> {
    if n == 0 {
        return Err(Error::Usage("--runs must be at least 1".into()));
    }
    if !sys.has_random() {
        return Err(Error::Usage(format!(
            "--runs redraws random fields, but {} has none (every run would be the same)",
            sys.source.display()
        )));
    }
    let bar = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new(n)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut header_done = false;
    let result = runs::run_many(
        sys,
        method,
        times,
        n,
        seed,
        |run, traj| {
            let mut text = String::new();
            if format != Format::Json && !header_done {
                text += &samples::csv_header(&traj.names, true);
                header_done = true;
            }
            text += &match format {
                Format::Json => samples::json_lines(traj, run),
                _ => samples::csv_rows(traj, Some(run)),
            };
            sink.write_str(&text)
        },
        || bar.inc(1),
    );
    bar.finish_and_clear();
    result
}

fn cmd_check(a: CheckArgs) -> Result<ExitCode> {
    use attncert::hypothesis::{Context, Verdict};
    use attncert::theorem;
    let specs = if a.theorems.is_empty() {
        theorem::defaults()?
    } else {
        let all = theorem::all()?;
        a.theorems
            .iter()
            .map(|id| {
                all.iter().find(|s| &s.id == id).cloned().ok_or_else(|| {
                    let known: Vec<&str> = all.iter().map(|s| s.id.as_str()).collect();
                    Error::Usage(format!("unknown theorem '{id}' (known: {})", known.join(", ")))
                })
            })
            .collect::<Result<Vec<_>>>()?
    };
    let sys = System::load(&a.file)?;
    let ctx = Context::new(&sys);
    let reports: Vec<_> = specs.iter().map(|s| theorem::run(&ctx, s)).collect();
    let format = match (&a.out, a.format) {
        (Some(p), _) => Format::from_path(p),
        (None, FormatArg::Json) => Format::Json,
        (None, _) => Format::Text,
    };
    let text = match format {
        Format::Json => serde_json::to_string_pretty(&theorem::to_json(&sys, &reports)).unwrap_or_default() + "\n",
        _ => format!("# {}\n\n", samples::describe(&sys)) + &attncert::report::check::text(&reports),
    };
    let mut sink = match &a.out {
        Some(p) => Sink::file(p)?,
        None => Sink::stdout(),
    };
    sink.write_str(&text)?;
    sink.finish()?;
    let verdicts: Vec<Verdict> = reports.iter().map(|r| r.verdict).collect();
    Ok(ExitCode::from(if verdicts.contains(&Verdict::Fails) {
        1
    } else if verdicts.contains(&Verdict::Undecided) {
        3
    } else {
        0
    }))
}

fn cmd_export(file: PathBuf, out: Option<PathBuf>) -> Result<ExitCode> {
    let sys = System::load(&file)?;
    let text = attncert::system::export::to_json(&sys);
    let mut sink = match &out {
        Some(p) => Sink::file(p)?,
        None => Sink::stdout(),
    };
    sink.write_str(&text)?;
    sink.finish()?;
    Ok(ExitCode::SUCCESS)
}

fn cmd_certify(a: CertifyArgs) -> Result<ExitCode> {
    use attncert::certificate::SystemSource;
    use attncert::certify::{self, Options};
    let sys = System::load(&a.file)?;
    let text = std::fs::read_to_string(&a.file).map_err(|e| Error::Input(attncert::InputError::new(&a.file, "", format!("cannot read: {e}"))))?;
    let is_json = a.file.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let source = SystemSource {
        file: a.file.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        format: if is_json { "json" } else { "toml" }.into(),
        text,
    };
    let opts = Options {
        theorem: a.theorem,
        until: a.until,
        until_misalignment: a.until_misalignment,
        radius: a.radius,
        order: a.order,
        variational_order: a.variational_order,
        tolerance: positive("--tolerance", a.tolerance)?,
        max_steps: a.max_steps,
        sets: match a.sets {
            SetsArg::Qr => certify::Sets::Qr,
            SetsArg::Parallelepiped => certify::Sets::Parallelepiped,
            SetsArg::Box => certify::Sets::Box,
        },
        lower_bounds: a.lower_bounds,
    };
    let bar = progress_bar(a.until);
    let cert = certify::certify(&sys, source, &opts, |t| {
        bar.set_position((t * 1000.0) as u64);
        bar.set_message(format!("{t:.4}"));
    })?;
    bar.finish_and_clear();
    let mut sink = Sink::file(&a.out)?;
    sink.write_str(&cert.to_json())?;
    sink.finish()?;
    // The first line says what the certificate is, for people and for scripts: PARTIAL (exit 1)
    // when the target was not reached, NOT APPLICABLE (exit 3) when the theorem's hypotheses do
    // not hold (the enclosures and bounds are still proved, e.g. for a counterexample),
    // CERTIFIED (exit 0) otherwise. `verify` re-checks all of it.
    let reached = cert.end_time() >= opts.until || cert.producer.stop.starts_with("E ≤");
    let headline = attncert::report::verdict::headline(&cert.theorem, &cert.verdict, cert.end_time(), cert.steps.len());
    let (status, code) = match (reached, cert.verdict.as_str()) {
        (false, _) => (format!("PARTIAL (stopped before t = {}: {})", opts.until, cert.producer.stop), 1),
        (true, "holds") => ("CERTIFIED".to_string(), 0),
        (true, _) => ("NOT APPLICABLE".to_string(), 3),
    };
    let mut text = format!("{status} {}: {headline}\n", a.out.display());
    for c in &cert.claims {
        let f = c.function.as_deref().map(|f| format!(" {f}")).unwrap_or_default();
        let rel = attncert::certificate::ClaimKind::parse(&c.kind).map_or("<=", |k| k.relation());
        text += &format!("  {}{f} {rel} {:e}\n", c.kind, c.bound);
    }
    Sink::stdout().write_str(&text)?;
    eprintln!("{} steps to t = {}, {} claims, {:.2} s: {}", cert.steps.len(), cert.end_time(), cert.claims.len(), cert.producer.seconds, cert.producer.stop);
    if let Some(s) = cert.steps.last() {
        let (lo, hi) = s.end.approx_hull();
        let w = lo.iter().zip(&hi).map(|(l, h)| h - l).fold(0.0, f64::max);
        eprintln!("final enclosure width {w:.3e}; E at the end in [{:.3e}, {:.3e}] over the last step", s.misalignment[0], s.misalignment[1]);
    }
    Ok(ExitCode::from(code))
}

fn progress_bar(until: f64) -> indicatif::ProgressBar {
    let bar = if std::io::stderr().is_terminal() { indicatif::ProgressBar::new((until * 1000.0) as u64) } else { indicatif::ProgressBar::hidden() };
    bar.set_style(indicatif::ProgressStyle::with_template("certify {bar:40} t = {msg}").unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()));
    bar
}

fn load_and_verify(file: &std::path::Path) -> Result<(attncert::certificate::Certificate, std::result::Result<attncert::certificate::check::Accepted, attncert::certificate::check::Rejection>)> {
    let cert = attncert::certificate::Certificate::load(file)?;
    let outcome = attncert::certificate::check::verify(&cert);
    Ok((cert, outcome))
}

fn cmd_verify(file: PathBuf) -> Result<ExitCode> {
    use std::fmt::Write as _;
    let (cert, outcome) = load_and_verify(&file)?;
    let mut text = String::new();
    let code = match outcome {
        Ok(ok) => {
            let _ = writeln!(text, "ACCEPTED {}: {}", file.display(), attncert::report::verdict::accepted(&cert.theorem, &ok));
            for c in &ok.claims {
                let f = c.claim.function.as_deref().map(|f| format!(" {f}")).unwrap_or_default();
                let rel = attncert::certificate::ClaimKind::parse(&c.claim.kind).map_or("<=", |k| k.relation());
                let _ = writeln!(text, "  {}{f} {rel} {:e} (proved {rel} {:e})", c.claim.kind, c.claim.bound, c.proved);
            }
            ExitCode::SUCCESS
        }
        Err(r) => {
            let _ = writeln!(text, "REJECTED {}: {r}", file.display());
            ExitCode::from(1)
        }
    };
    Sink::stdout().write_str(&text)?;
    Ok(code)
}

fn cmd_report(file: PathBuf, out: PathBuf) -> Result<ExitCode> {
    let (cert, outcome) = load_and_verify(&file)?;
    let ok = match outcome {
        Ok(ok) => ok,
        Err(r) => {
            println!("REJECTED {}: {r} (no report written)", file.display());
            return Ok(ExitCode::from(1));
        }
    };
    let html = out.extension().is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm"));
    let text = if html { attncert::report::certificate::html(&cert, &ok) } else { attncert::report::certificate::markdown(&cert, &ok) };
    let mut sink = Sink::file(&out)?;
    sink.write_str(&text)?;
    sink.finish()?;
    Ok(ExitCode::SUCCESS)
}
