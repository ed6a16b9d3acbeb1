//! The `attncert` command line: the only place that prints and picks exit codes.
//!
//! Exit codes: 0 success; 1 a computation failed (or, for `check`, a theorem fails);
//! 2 bad input or usage. Standard output closed by its reader (`| head`) is no error: output
//! stops quietly and the exit code is the one the command would have had (`Sink`).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
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
    /// Fuzz campaigns: draw systems that satisfy a theorem's hypotheses (all but the --relax'ed
    /// ones, whose negation is sought), simulate them, and confirm, shrink and certify every
    /// case that breaks the conclusion. Exit 0: no finding; 1: findings; 2: bad input.
    /// `attncert fuzz merge DIR...` summarises the JSON lines of shards.
    Fuzz(FuzzArgs),
    /// Import one layer of a Hugging Face model directory (config.json, model.safetensors, and
    /// tokenizer.json or vocab.txt; BERT/MiniLM or GPT-2) as a system file: per head
    /// P = W_Qᵀ W_K / sqrt(d_h), U = W_O W_V (factors in a .safetensors side file beside -o),
    /// softmax normalisation, W = I, and the embedded tokens of --text or --tokens.
    Import(ImportArgs),
    /// Write a system with every random draw and default made explicit, as a JSON system file
    /// (used by the NumPy baseline in bench/); with --run R, run R of `simulate --runs`
    /// (the same redraws), so that one run can be checked, certified or simulated alone.
    Export {
        /// The system file (TOML or JSON).
        file: PathBuf,
        /// Write here instead of standard output.
        #[arg(short, long)]
        out: Option<PathBuf>,
        /// Write run R of a `simulate --runs` batch (its random fields redrawn as there).
        #[arg(long)]
        run: Option<u64>,
        /// The master seed of that batch (its --seed) [default: 0] (only with --run).
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Draw a run as SVG or PNG: E(t) and the Lyapunov functions on log axes from the CSV/JSON
    /// of `simulate --out`; every run with the median and the 10–90% band from `--runs`; the
    /// token paths on the sphere (d = 3) or circle (d = 2) from `--tokens`.
    Plot(PlotArgs),
}

#[derive(Args)]
struct PlotArgs {
    /// What `attncert simulate` wrote: RUN.csv, RUN.json or RUN.jsonl (monitors, a --runs
    /// batch, or --tokens).
    file: PathBuf,
    /// The picture: .svg or .png, written atomically.
    #[arg(short, long)]
    out: PathBuf,
    /// svg or png; the extension of --out decides, and --format, if given, must agree.
    #[arg(long, value_enum)]
    format: Option<ImageArg>,
    /// The title [default: the system's name where the file has it (JSON), else the file name].
    #[arg(long)]
    title: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ImageArg {
    Svg,
    Png,
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Text,
    Csv,
    Json,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Text => Format::Text,
            FormatArg::Csv => Format::Csv,
            FormatArg::Json => Format::Json,
        }
    }
}

/// The formats of `check`: it has no table to put in CSV.
#[derive(Clone, Copy, ValueEnum)]
enum CheckFormatArg {
    Text,
    Json,
}

impl From<CheckFormatArg> for Format {
    fn from(f: CheckFormatArg) -> Format {
        match f {
            CheckFormatArg::Text => Format::Text,
            CheckFormatArg::Json => Format::Json,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum SetsArg {
    Auto,
    Doubleton,
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

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum MethodArg {
    /// Dormand–Prince 5(4), adaptive, with dense output.
    Dopri5,
    /// Bogacki–Shampine 3(2), adaptive, 4 evaluations a step.
    Bs3,
    /// Dormand–Prince 8(5,3), adaptive, for tight tolerances.
    Dop853,
    /// Classic fourth-order Runge–Kutta with the fixed step --step.
    Rk4,
}

impl MethodArg {
    fn name(self) -> &'static str {
        match self {
            MethodArg::Dopri5 => "dopri5",
            MethodArg::Bs3 => "bs3",
            MethodArg::Dop853 => "dop853",
            MethodArg::Rk4 => "rk4",
        }
    }
}

// Flags that only apply with others are `Option`s, so that one given where it has no effect is
// refused (`check_simulate_flags`) instead of silently ignored; the defaults are in the help.
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
    /// Number of evenly spaced report times on [0, until], both ends included [default: 11]
    /// (not with --at).
    #[arg(long)]
    samples: Option<usize>,
    /// Integrator of the continuous model [default: dopri5] (not with --discrete).
    #[arg(long, value_enum)]
    method: Option<MethodArg>,
    /// Relative tolerance of the adaptive methods [default: 1e-10].
    #[arg(long)]
    rtol: Option<f64>,
    /// Absolute tolerance of the adaptive methods [default: 1e-12].
    #[arg(long)]
    atol: Option<f64>,
    /// Float kernel: reduced (Y = Y₀·Φ, ℓ×ℓ state; needs U = I and P = s(t)·diag(…)·C) where it
    /// applies and ℓ ≤ d, else batched (d×ℓ tokens, any system).
    #[arg(long, value_enum, default_value_t = KernelArg::Auto)]
    kernel: KernelArg,
    /// Step averaging of the time coefficients (the Legendre-moment method): auto (2 moments
    /// on the reduced kernel when a coefficient has kinks, e.g. |sin|), off, or 1, 2, 3 moments.
    #[arg(long, default_value = "auto")]
    moments: String,
    /// Fixed step of --method rk4 [default: 1e-3].
    #[arg(long)]
    step: Option<f64>,
    /// Run the discrete layer map instead of the flow (one layer per --tau).
    #[arg(long)]
    discrete: bool,
    /// Layer step of the discrete model (only with --discrete, which needs it).
    #[arg(long)]
    tau: Option<f64>,
    /// Output format on standard output [default: text]; with --out the file's extension decides
    /// (.csv, .json/.jsonl, else text) and --format, if given, must agree.
    #[arg(long, value_enum)]
    format: Option<FormatArg>,
    /// Write to this file (.csv, .json, or text), atomically.
    #[arg(short, long)]
    out: Option<PathBuf>,
    /// Simulate N independent redraws of every random field, in parallel; one row per run and time.
    #[arg(long)]
    runs: Option<u64>,
    /// Master seed of the redraws of --runs [default: 0] (only with --runs).
    #[arg(long)]
    seed: Option<u64>,
    /// Also write the token positions at the report times to this file: .csv (one row per time
    /// and token: t,token,x1,…,xd) or .json (samples with "t" and "y", one array per token).
    /// Not with --runs (export one run with `export --run R`).
    #[arg(long, value_name = "FILE")]
    tokens: Option<PathBuf>,
}

#[derive(Args)]
struct CheckArgs {
    /// The system file (TOML, or JSON by extension).
    file: PathBuf,
    /// Theorems to check (3.2, 4.1, 5.1, r5.1, 6.1, or a conjecture such as c6.1), repeatable or
    /// comma-separated. Default: the paper's theorems and Remark 5.1.
    #[arg(long = "theorem", value_delimiter = ',')]
    theorems: Vec<String>,
    /// Output format on standard output [default: text]; with --out the file's extension decides
    /// (.json/.jsonl, else text) and --format, if given, must agree.
    #[arg(long, value_enum)]
    format: Option<CheckFormatArg>,
    /// Write the report to this file (.json, or text), atomically.
    #[arg(short, long)]
    out: Option<PathBuf>,
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
struct FuzzArgs {
    #[command(subcommand)]
    merge: Option<FuzzCommand>,
    /// The theorem to attack: 3.2, 4.1, 5.1, 6.1 or the conjecture c6.1.
    #[arg(long)]
    theorem: Option<String>,
    /// A hypothesis of the theorem no longer enforced (its negation is sought); repeatable or
    /// comma-separated.
    #[arg(long, value_delimiter = ',')]
    relax: Vec<String>,
    /// Number of cases of the whole campaign (a shard runs its share). Default 1000, or
    /// unlimited with --time.
    #[arg(long)]
    cases: Option<u64>,
    /// Stop after this many seconds.
    #[arg(long)]
    time: Option<f64>,
    /// Master seed: case i draws from the stream mix(seed, i) on every platform.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Tokens per case, a range like 2..6 (default per theorem).
    #[arg(long)]
    tokens: Option<String>,
    /// Dimension d per case, a range like 2..4.
    #[arg(long)]
    dim: Option<String>,
    /// Heads per case, a range like 1..3.
    #[arg(long)]
    heads: Option<String>,
    /// Run the discrete layer map instead of the flow (needs --tau or --tau-scan).
    #[arg(long)]
    discrete: bool,
    /// Layer step of the discrete model.
    #[arg(long, requires = "discrete", conflicts_with = "tau_scan")]
    tau: Option<f64>,
    /// Draw τ per case, log-uniform on a range like 0.05..5.
    #[arg(long, requires = "discrete")]
    tau_scan: Option<String>,
    /// Directory for the JSON lines, the findings' system files and their certificates.
    #[arg(short, long)]
    out: Option<std::path::PathBuf>,
    /// Standard output: text (findings and a summary) or jsonl (one JSON object per case).
    #[arg(long, value_enum, default_value_t = CampaignFormat::Text)]
    format: CampaignFormat,
    /// Run shard k of N: the cases i ≡ k (mod N).
    #[arg(long, default_value = "0/1")]
    shard: String,
    /// Only observe: no confirmation, shrinking or certificates of findings.
    #[arg(long)]
    observe_only: bool,
}

#[derive(Subcommand)]
enum FuzzCommand {
    /// Summarise the JSON lines (*.jsonl) of campaigns or shards: files or directories.
    Merge {
        #[arg(required = true)]
        paths: Vec<std::path::PathBuf>,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CampaignFormat {
    Text,
    Jsonl,
}

#[derive(Args)]
struct ImportArgs {
    /// The model directory.
    model_dir: PathBuf,
    /// The layer (0-based).
    #[arg(long)]
    layer: usize,
    /// The text to tokenize with the model's tokenizer (special tokens added as the model does).
    #[arg(long, conflicts_with = "tokens", required_unless_present = "tokens")]
    text: Option<String>,
    /// Token ids instead of text, comma-separated (`101,1996,4937,102`).
    #[arg(long, value_delimiter = ',')]
    tokens: Option<Vec<u32>>,
    /// The system file to write (TOML); the factors go to the same name with .safetensors.
    #[arg(short, long)]
    out: PathBuf,
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
    #[arg(long, default_value_t = 8)]
    variational_order: u32,
    /// Allowed growth of the enclosure width per unit time [default: 1e-3 × the set's own
    /// width, at least 1e-3 × 1e-13 for point sets, and at least 0.1 × the
    /// --until-misalignment target].
    #[arg(long)]
    tolerance: Option<f64>,
    /// Give up after this many steps (a layer schedule needing more is refused up front).
    #[arg(long, default_value_t = 200_000)]
    max_steps: usize,
    /// Set representation of step ends (wrapping-effect control): auto (boxes for a point set
    /// run to --until-misalignment, doubletons otherwise), Lohner's doubletons (the initial
    /// box's image kept apart from the accumulated errors), QR parallelepipeds, plain
    /// parallelepipeds, or boxes.
    #[arg(long, value_enum, default_value_t = SetsArg::Auto)]
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
        Command::Export { file, out, run, seed } => cmd_export(file, out, run, seed),
        Command::Plot(a) => cmd_plot(a),
        Command::Import(a) => cmd_import(a),
        Command::Fuzz(a) => cmd_fuzz(a),
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

/// The format of an output: the extension of `--out` decides, and an explicit `--format` must
/// agree with it (a disagreement is refused, not settled silently); without `--out`, `--format`.
fn output_format(flag: Option<Format>, out: Option<&Path>) -> Result<Format> {
    match (out, flag) {
        (Some(p), Some(f)) if Format::from_path(p) != f => Err(Error::Usage(format!(
            "--format {} conflicts with --out {}, whose extension makes the output {}: drop --format, or name the file .{}",
            f.name(),
            p.display(),
            Format::from_path(p).name(),
            match f {
                Format::Text => "txt",
                Format::Csv => "csv",
                Format::Json => "json",
            }
        ))),
        (Some(p), _) => Ok(Format::from_path(p)),
        (None, f) => Ok(f.unwrap_or(Format::Text)),
    }
}

/// Refuses flags that would have no effect with the others given (exit 2), rather than
/// ignoring them silently.
fn check_simulate_flags(a: &SimulateArgs) -> Result<()> {
    let refuse = |m: String| Err(Error::Usage(m));
    if a.tau.is_some() && !a.discrete {
        return refuse("--tau is the layer step of --discrete and has no effect without it: add --discrete or drop --tau".into());
    }
    if a.discrete && a.tau.is_none() {
        return refuse("--discrete needs --tau, the time step of one layer".into());
    }
    let given = [("--rtol", a.rtol.is_some()), ("--atol", a.atol.is_some()), ("--step", a.step.is_some())];
    if a.discrete {
        if let Some(m) = a.method {
            return refuse(format!("--method {} has no effect with --discrete (the layer map is not integrated): drop one of them", m.name()));
        }
        if let Some((flag, _)) = given.iter().find(|(_, g)| *g) {
            return refuse(format!("{flag} is a setting of the integrators and has no effect with --discrete: drop it"));
        }
    } else {
        let m = a.method.unwrap_or(MethodArg::Dopri5);
        if m == MethodArg::Rk4 {
            if let Some((flag, _)) = given[..2].iter().find(|(_, g)| *g) {
                return refuse(format!(
                    "{flag} is a tolerance of the adaptive methods (dopri5, bs3, dop853) and has no effect with --method rk4 (fixed --step)"
                ));
            }
        } else if a.step.is_some() {
            return refuse(format!(
                "--step is the fixed step of --method rk4 and has no effect with --method {}, which chooses its own steps (--rtol, --atol)",
                m.name()
            ));
        }
    }
    if a.samples.is_some() && a.at.is_some() {
        return refuse("--samples and --at both choose the report times: give one of them".into());
    }
    if a.seed.is_some() && a.runs.is_none() {
        return refuse("--seed is the master seed of --runs and has no effect without it: add --runs N or drop --seed".into());
    }
    if let Some(p) = &a.tokens {
        if a.runs.is_some() {
            return refuse("--tokens writes the tokens of one run, not of a --runs batch: write the run you want with `attncert export FILE --run R --seed S -o RUN.json` and simulate that".into());
        }
        if !matches!(Format::from_path(p), Format::Csv | Format::Json) {
            return refuse(format!("--tokens {} must name a .csv or .json file (its extension decides the format)", p.display()));
        }
        if a.out.as_deref() == Some(p.as_path()) {
            return refuse(format!("--tokens and --out both name {}: give them different files", p.display()));
        }
    }
    Ok(())
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
            let k = a.samples.unwrap_or(11);
            if k == 0 {
                return Err(Error::Usage("--samples must be at least 1".into()));
            }
            if k > simulate::MAX_SAMPLES {
                return Err(Error::Usage(format!(
                    "--samples {k} is more report times than this tool keeps ({}): ask for fewer",
                    simulate::MAX_SAMPLES
                )));
            }
            simulate::even_times(u, k)
        }
    };
    simulate::check_times(&times)?;
    Ok(times)
}

fn cmd_simulate(a: SimulateArgs) -> Result<ExitCode> {
    check_simulate_flags(&a)?;
    let format = output_format(a.format.map(Format::from), a.out.as_deref())?;
    let times = sample_times(&a)?;
    let method = if a.discrete {
        Method::Discrete { tau: positive("--tau", a.tau.unwrap_or(f64::NAN))? }
    } else {
        let rtol = || positive("--rtol", a.rtol.unwrap_or(simulate::DEFAULT_RTOL));
        let atol = || positive("--atol", a.atol.unwrap_or(simulate::DEFAULT_ATOL));
        match a.method.unwrap_or(MethodArg::Dopri5) {
            MethodArg::Dopri5 => Method::Dopri5 { rtol: rtol()?, atol: atol()? },
            MethodArg::Bs3 => Method::Bs3 { rtol: rtol()?, atol: atol()? },
            MethodArg::Dop853 => Method::Dop853 { rtol: rtol()?, atol: atol()? },
            MethodArg::Rk4 => Method::Rk4 { h: positive("--step", a.step.unwrap_or(1e-3))? },
        }
    };
    let kernel = match a.kernel {
        KernelArg::Auto => simulate::KernelChoice::Auto,
        KernelArg::Batched => simulate::KernelChoice::Batched,
        KernelArg::Reduced => simulate::KernelChoice::Reduced,
    };
    let averaging = match a.moments.as_str() {
        "auto" => simulate::Averaging::Auto,
        "off" => simulate::Averaging::Off,
        "1" | "2" | "3" if a.discrete => {
            return Err(Error::Usage("--moments averages over integrator steps and has no effect with --discrete: drop it".into()))
        }
        "1" => simulate::Averaging::Moments(1),
        "2" => simulate::Averaging::Moments(2),
        "3" => simulate::Averaging::Moments(3),
        other => return Err(Error::Usage(format!("--moments must be auto, off, 1, 2 or 3, found '{other}'"))),
    };
    if let Some(n) = a.runs {
        runs::check_runs(n, &times)?;
    }
    let sys = System::load(&a.file)?;
    simulate::check_work(&sys, method, &times)?;
    let mut sink = match &a.out {
        Some(p) => Sink::file(p)?,
        None => Sink::stdout(),
    };
    match a.runs {
        None => {
            let (traj, tokens) = match &a.tokens {
                Some(_) => simulate::simulate_tokens(&sys, method, kernel, averaging, &times)?,
                None => (simulate::simulate_full(&sys, method, kernel, averaging, &times)?, vec![]),
            };
            let text = match format {
                Format::Text => samples::text(&sys, method, &traj),
                Format::Csv => samples::csv_header(&traj, false) + &samples::csv_rows(&traj, None),
                Format::Json => samples::json(&sys, method, &traj),
            };
            // The tokens' file is complete before the main output is: a failure leaves neither.
            if let Some(p) = &a.tokens {
                let mut tsink = Sink::file(p)?;
                tsink.write_str(&match Format::from_path(p) {
                    Format::Json => samples::tokens_json(&sys, method, &traj, &tokens),
                    _ => samples::tokens_csv(&traj, &tokens),
                })?;
                tsink.finish()?;
            }
            sink.write_str(&text)?;
        }
        Some(n) => bulk(&sys, method, kernel, averaging, &times, n, a.seed.unwrap_or(0), format, &mut sink)?,
    }
    sink.finish()?;
    Ok(ExitCode::SUCCESS)
}

/// Bulk runs stream one row per run and time: text and CSV as CSV rows, JSON as JSON Lines.
/// On a terminal a progress bar (runs done, elapsed, ETA) shows on standard error, cleared
/// while rows are written; a one-line summary follows on standard error.
#[allow(clippy::too_many_arguments)]
fn bulk(
    sys: &System,
    method: Method,
    kernel: simulate::KernelChoice,
    averaging: simulate::Averaging,
    times: &[f64],
    n: u64,
    seed: u64,
    format: Format,
    sink: &mut Sink,
) -> Result<()> {
    use std::ops::ControlFlow;
    if !sys.has_random() {
        return Err(Error::Usage(format!(
            "--runs redraws random fields, but {} has none (every run would be the same)",
            sys.source.display()
        )));
    }
    let start = std::time::Instant::now();
    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(n);
        bar.set_style(
            indicatif::ProgressStyle::with_template("runs {bar:30} {pos}/{len}  elapsed {elapsed}, ETA {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(250));
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut header_done = false;
    let mut final_e: Vec<f64> = Vec::new();
    let result = runs::run_many(
        sys,
        method,
        kernel,
        averaging,
        times,
        n,
        seed,
        |run, traj| {
            let mut text = String::new();
            if format != Format::Json && !header_done {
                text += &samples::csv_header(traj, true);
                header_done = true;
            }
            text += &match format {
                Format::Json => samples::json_lines(traj, run),
                _ => samples::csv_rows(traj, Some(run)),
            };
            if let Some(last) = traj.samples.last() {
                final_e.push(samples::shown(traj, 0, last.values[0]));
            }
            // The bar is cleared while rows go out and redrawn after: no stale copies of it
            // between the rows on a terminal.
            bar.suspend(|| sink.write_str(&text))?;
            Ok(if sink.is_closed() { ControlFlow::Break(()) } else { ControlFlow::Continue(()) })
        },
        || bar.inc(1),
    );
    bar.finish_and_clear();
    result?;
    if !sink.is_closed() && !final_e.is_empty() {
        final_e.sort_by(f64::total_cmp);
        let m = final_e.len();
        let median = if m % 2 == 1 { final_e[m / 2] } else { 0.5 * (final_e[m / 2 - 1] + final_e[m / 2]) };
        eprintln!(
            "{m} runs; E at t = {}: median {median:.3e}, worst {:.3e}; wall time {:.2} s",
            times.last().copied().unwrap_or(0.0),
            final_e[m - 1],
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

fn cmd_check(a: CheckArgs) -> Result<ExitCode> {
    use attncert::hypothesis::{Context, Verdict};
    use attncert::theorem;
    let format = output_format(a.format.map(Format::from), a.out.as_deref())?;
    if format == Format::Csv {
        let p = a.out.as_deref().map(|p| p.display().to_string()).unwrap_or_default();
        return Err(Error::Usage(format!("check writes text or JSON, but --out {p} has the extension of CSV: name it .txt or .json")));
    }
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

fn cmd_import(a: ImportArgs) -> Result<ExitCode> {
    use attncert::import::{self, Input, Options};
    let input = match (a.text, a.tokens) {
        (Some(t), _) => Input::Text(t),
        (None, Some(ids)) => Input::Ids(ids),
        (None, None) => return Err(Error::Usage("give --text or --tokens".into())),
    };
    let s = import::import(&Options { model_dir: a.model_dir, layer: a.layer, input, out: a.out })?;
    println!(
        "imported layer {} of {} ({}, {} heads, d = {}, d_h = {}), {} tokens: {} (factors in {})",
        s.layer,
        s.layers,
        s.family,
        s.heads,
        s.dim,
        s.head_dim,
        s.tokens,
        s.system.display(),
        s.side.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn cmd_export(file: PathBuf, out: Option<PathBuf>, run: Option<u64>, seed: Option<u64>) -> Result<ExitCode> {
    if seed.is_some() && run.is_none() {
        return Err(Error::Usage("--seed is the master seed of the batch --run R belongs to and has no effect without --run: add --run R or drop --seed".into()));
    }
    let sys = System::load(&file)?;
    let sys = match run {
        None => sys,
        Some(r) => {
            if !sys.has_random() {
                return Err(Error::Usage(format!(
                    "--run picks one redraw of the random fields of a --runs batch, but {} has none (every run is the file itself)",
                    sys.source.display()
                )));
            }
            let seed = seed.unwrap_or(0);
            // Exactly the system run r of `simulate --runs N --seed S` simulates (r < N).
            let mut one = sys.redraw(runs::stream(seed, r));
            one.name = format!("{} (run {r} of --runs, --seed {seed})", sys.name);
            one
        }
    };
    let text = attncert::system::export::to_json(&sys);
    let mut sink = match &out {
        Some(p) => Sink::file(p)?,
        None => Sink::stdout(),
    };
    sink.write_str(&text)?;
    sink.finish()?;
    Ok(ExitCode::SUCCESS)
}

fn cmd_plot(a: PlotArgs) -> Result<ExitCode> {
    use attncert::plot::{self, Image};
    let flag = a.format.map(|f| match f {
        ImageArg::Svg => Image::Svg,
        ImageArg::Png => Image::Png,
    });
    let image = match (Image::from_path(&a.out), flag) {
        (Some(e), Some(f)) if e != f => {
            return Err(Error::Usage(format!(
                "--format {} conflicts with --out {}, whose extension makes the picture {}: drop --format, or name the file .{0}",
                f.name(),
                a.out.display(),
                e.name()
            )))
        }
        (Some(e), _) => e,
        (None, Some(f)) => f,
        (None, None) => {
            return Err(Error::Usage(format!("--out {}: name the picture .svg or .png, or give --format svg|png", a.out.display())));
        }
    };
    let data = attncert::report::runfile::read(&a.file)?;
    let bytes = plot::render(&data, &a.file, &plot::Options { image, title: a.title })?;
    let mut sink = Sink::file(&a.out)?;
    sink.write_bytes(&bytes)?;
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
        tolerance: a.tolerance.map(|t| positive("--tolerance", t)).transpose()?,
        max_steps: a.max_steps,
        sets: match a.sets {
            SetsArg::Auto => certify::Sets::Auto,
            SetsArg::Doubleton => certify::Sets::Doubleton,
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
        // E at T from the claim (over the final set), not the last step's whole-step box.
        let e_end = cert.claims.iter().find(|c| c.kind == "misalignment-at-end").map_or_else(|| "not bounded".to_string(), |c| format!("≤ {}", attncert::numeric::show::show_upper(c.bound)));
        eprintln!("final enclosure width {w:.3e}; E(T) {e_end}");
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
            // Through the sink: a closed stdout ends quietly, `println!` would panic.
            Sink::stdout().write_str(&format!("REJECTED {}: {r} (no report written)\n", file.display()))?;
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

fn campaign_options(a: &FuzzArgs) -> Result<attncert::campaign::Options> {
    use attncert::campaign::args::{parse_f64_range, parse_range, parse_shard};
    use attncert::campaign::{generate::Ranges, Layers, Options};
    let theorem = a.theorem.clone().ok_or_else(|| Error::Usage("fuzz needs --theorem (3.2, 4.1, 5.1, 6.1 or c6.1), or `fuzz merge DIR...`".into()))?;
    let d = Options::default_ranges(&theorem);
    let ranges = Ranges {
        tokens: parse_range("--tokens", a.tokens.as_deref(), d.tokens)?,
        dim: parse_range("--dim", a.dim.as_deref(), d.dim)?,
        heads: parse_range("--heads", a.heads.as_deref(), d.heads)?,
    };
    let layers = match (a.discrete, a.tau, &a.tau_scan) {
        (false, _, _) => None,
        (true, Some(t), None) => Some(Layers::Tau(t)),
        (true, None, Some(r)) => {
            let (lo, hi) = parse_f64_range("--tau-scan", r)?;
            Some(Layers::Scan(lo, hi))
        }
        (true, _, _) => return Err(Error::Usage("--discrete needs --tau τ or --tau-scan a..b".into())),
    };
    let cases = match (a.cases, a.time) {
        (Some(n), _) => n,
        (None, Some(_)) => u64::MAX,
        (None, None) => 1000,
    };
    Ok(Options { theorem, relax: a.relax.clone(), cases, time: a.time, seed: a.seed, ranges, layers, shard: parse_shard(&a.shard)?, follow_up: !a.observe_only })
}

fn cmd_fuzz(a: FuzzArgs) -> Result<ExitCode> {
    if let Some(FuzzCommand::Merge { paths }) = &a.merge {
        let (summary, _) = attncert::campaign::record::merge(paths)?;
        Sink::stdout().write_str(&summary.text())?;
        return Ok(ExitCode::from(u8::from(!summary.findings.is_empty())));
    }
    let opts = campaign_options(&a)?;
    opts.validate()?;
    let mut lines = match &a.out {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| Error::Io { path: dir.clone(), source: e })?;
            let (k, n) = opts.shard;
            let relaxed = if opts.relax.is_empty() { String::new() } else { format!("-relax-{}", opts.relax.join("+")) };
            Some(Sink::file(&dir.join(format!("campaign-{}{relaxed}-seed{}-shard{k}of{n}.jsonl", opts.theorem, opts.seed)))?)
        }
        None => None,
    };
    let bar = if std::io::stderr().is_terminal() {
        let total = if opts.cases == u64::MAX { 0 } else { attncert::campaign::shard_indices(opts.cases, opts.shard).count() as u64 };
        let b = indicatif::ProgressBar::new(total);
        b.set_style(
            indicatif::ProgressStyle::with_template("fuzz {msg} {bar:30} {pos}/{len} cases, {per_sec}, elapsed {elapsed}, ETA {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut stdout = Sink::stdout();
    let mut findings = 0;
    let summary = attncert::campaign::run(&opts, a.out.as_deref(), |o| {
        let line = serde_json::to_string(&o.record).unwrap_or_default() + "\n";
        if let Some(sink) = lines.as_mut() {
            sink.write_str(&line)?;
        }
        let is_finding = o.class.is_some_and(|c| c.is_finding());
        findings += usize::from(is_finding);
        bar.set_message(format!("theorem {}, {findings} findings", opts.theorem));
        bar.inc(1);
        match a.format {
            CampaignFormat::Jsonl => bar.suspend(|| stdout.write_str(&line)),
            CampaignFormat::Text if is_finding => {
                let r = &o.record;
                let text = format!(
                    "FINDING case {}: {} ({}){}{}\n",
                    o.index,
                    r["class"].as_str().unwrap_or("?"),
                    r["proof"].as_str().unwrap_or("observed"),
                    o.file.as_ref().map(|f| format!(", {f}")).unwrap_or_default(),
                    r["certificate"].as_str().map(|f| format!(", certificate {f}")).unwrap_or_default()
                );
                bar.suspend(|| stdout.write_str(&text))
            }
            CampaignFormat::Text => Ok(()),
        }
    })?;
    bar.finish_and_clear();
    if let Some(sink) = lines {
        sink.finish()?;
    }
    match a.format {
        CampaignFormat::Text => stdout.write_str(&summary.text())?,
        CampaignFormat::Jsonl => eprint!("{}", summary.text()),
    }
    Ok(ExitCode::from(u8::from(!summary.findings.is_empty())))
}
