//! `attncert import` (issue 14) and the product matrix form it writes: the shipped tiny models of
//! both families (tests/models, made by scripts/make_tiny_models.py), cross-checked against the
//! NumPy reference arithmetic in their expected.json; check and simulate on the result; every
//! kind of bad model directory; the product form's exactness.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use attncert::hypothesis::{self, Context, Verdict};
use attncert::numeric::poly;
use attncert::system::{Initial, System};
use proptest::prelude::*;
use rug::Rational;
use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_attncert")).args(args).current_dir(dir).output().expect("run attncert");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Imports `tests/models/<model>` layer 1 with the fixture's text into a fresh temp dir.
fn import(model: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join(format!("{model}.toml"));
    let src = format!("tests/models/{model}");
    let (code, _, err) = run(&repo(), &["import", &src, "--layer", "1", "--text", "The cat sat on the mat.", "-o", out.to_str().unwrap()]);
    assert_eq!(code, 0, "import failed: {err}");
    (tmp, out)
}

fn expected(model: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(repo().join(format!("tests/models/{model}/expected.json"))).unwrap()).unwrap()
}

fn rows(v: &Value) -> Vec<Vec<f64>> {
    v.as_array().unwrap().iter().map(|r| r.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()).collect()
}

/// `|a − b| ≤ 1e-5·max(|b|, 1e-2·max|b|)` entrywise: 1e-5 relative, with a floor for entries far
/// below the array's scale.
fn close(what: &str, got: &[Vec<f64>], want: &[Vec<f64>]) {
    let scale = want.iter().flatten().fold(0.0f64, |m, x| m.max(x.abs()));
    assert_eq!(got.len(), want.len(), "{what}: row count");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g.len(), w.len(), "{what}: row {i} length");
        for (j, (a, b)) in g.iter().zip(w).enumerate() {
            let tol = 1e-5 * b.abs().max(1e-2 * scale);
            assert!((a - b).abs() <= tol, "{what}[{i}][{j}]: attncert {a} vs NumPy {b}");
        }
    }
}

/// The header of a system file (comment lines and top-level keys before the first head), with
/// the model path made machine-independent.
fn header(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let head: Vec<&str> = text.lines().take_while(|l| !l.starts_with("[[heads]]")).collect();
    head.join("\n").replace(&repo().display().to_string(), "<repo>")
}

#[test]
fn imports_both_families() {
    for model in ["tiny-bert", "tiny-gpt2"] {
        let (_tmp, out) = import(model);
        insta::assert_snapshot!(format!("import_header_{model}"), header(&out));
        let sys = System::load(&out).unwrap();
        let summary = format!(
            "tokens {} dim {} heads {} attention {:?} normalization {:?} side file {}",
            sys.tokens,
            sys.dim,
            sys.heads.len(),
            sys.attention,
            sys.normalization,
            out.with_extension("safetensors").exists()
        );
        insta::assert_snapshot!(format!("import_summary_{model}"), summary);
    }
}

/// The import against the model's own arithmetic (NumPy, expected.json): token ids, initial
/// tokens, every head's scores `q_i·k_j/sqrt(d_h)` and the layer's attention output, computed
/// here from the imported system's `P_η`, `U_η` and raw initial tokens.
#[test]
fn cross_check_with_numpy() {
    for (model, causal) in [("tiny-bert", false), ("tiny-gpt2", true)] {
        let (_tmp, out) = import(model);
        let exp = expected(model);
        let text = std::fs::read_to_string(&out).unwrap();
        let ids: Vec<String> = exp["ids"].as_array().unwrap().iter().map(|x| x.to_string()).collect();
        assert!(text.contains(&format!("# Token ids: {}", ids.join(", "))), "{model}: token ids differ from the Python tokenizer's");
        let sys = System::load(&out).unwrap();
        let Initial::Tokens(y0) = &sys.initial else { panic!("tokens") };
        let x: Vec<Vec<f64>> = y0.iter().map(|r| r.iter().map(|l| l.value).collect()).collect();
        close(&format!("{model} initial"), &x, &rows(&exp["initial"]));
        let (l, d) = (sys.tokens, sys.dim);
        let mut output = vec![vec![0.0; d]; l];
        for (h, head) in sys.heads.iter().enumerate() {
            let p = head.p.eval(0.0, d);
            let u = head.u.eval(0.0, d);
            let s: Vec<Vec<f64>> = (0..l).map(|i| (0..l).map(|j| (0..d).map(|a| (0..d).map(|b| x[i][a] * p[(a, b)] * x[j][b]).sum::<f64>()).sum()).collect()).collect();
            close(&format!("{model} scores head {h}"), &s, &rows(&exp["scores"][h]));
            for i in 0..l {
                let n = if causal { i + 1 } else { l };
                let m = s[i][..n].iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
                let z: f64 = s[i][..n].iter().map(|v| (v - m).exp()).sum();
                for j in 0..n {
                    let a = (s[i][j] - m).exp() / z;
                    for r in 0..d {
                        output[i][r] += a * (0..d).map(|c| u[(r, c)] * x[j][c]).sum::<f64>();
                    }
                }
            }
        }
        close(&format!("{model} attention output"), &output, &rows(&exp["attention_output"]));
    }
}

/// The vocab.txt WordPiece path gives the Python tokenizer's ids too, and --tokens bypasses
/// the tokenizer.
#[test]
fn vocab_txt_and_token_ids() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("bert-vocab");
    std::fs::create_dir(&dir).unwrap();
    for f in ["config.json", "model.safetensors", "vocab.txt"] {
        std::fs::copy(repo().join("tests/models/tiny-bert").join(f), dir.join(f)).unwrap();
    }
    let ids: Vec<String> = expected("tiny-bert")["ids"].as_array().unwrap().iter().map(|x| x.to_string()).collect();
    let (code, _, err) = run(tmp.path(), &["import", "bert-vocab", "--layer", "0", "--text", "The cat sat on the mat.", "-o", "a.toml"]);
    assert_eq!(code, 0, "{err}");
    let a = std::fs::read_to_string(tmp.path().join("a.toml")).unwrap();
    assert!(a.contains(&format!("# Token ids: {}", ids.join(", "))), "vocab.txt tokenization differs");
    let (code, _, err) = run(tmp.path(), &["import", "bert-vocab", "--layer", "0", "--tokens", &ids.join(","), "-o", "b.toml"]);
    assert_eq!(code, 0, "{err}");
    let b = std::fs::read_to_string(tmp.path().join("b.toml")).unwrap();
    let body = |s: &str, side: &str| {
        s.lines().filter(|l| !l.starts_with('#') && !l.starts_with("name")).collect::<Vec<_>>().join("\n").replace(side, "SIDE")
    };
    assert_eq!(body(&a, "a.safetensors"), body(&b, "b.safetensors"), "--tokens with the same ids writes the same system");
}

#[test]
fn check_and_simulate_on_imported_layers() {
    for model in ["tiny-bert", "tiny-gpt2"] {
        let (tmp, out) = import(model);
        let f = out.to_str().unwrap();
        let (code, text, err) = run(tmp.path(), &["check", f]);
        // Several heads and a non-symmetric U: no theorem applies (exit 1: one fails).
        assert_eq!(code, 1, "{text}{err}");
        assert!(text.contains("value-invertible     fails      head 1: U = A·B with inner dimension 4 < d = 8"), "{text}");
        let (code, json, err) = run(tmp.path(), &["simulate", f, "--until", "50", "--samples", "51", "--format", "json"]);
        assert_eq!(code, 0, "{err}");
        let v: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["samples"].as_array().unwrap().len(), 51);
        let (code, text, err) = run(tmp.path(), &["simulate", f, "--discrete", "--tau", "1", "--until", "24"]);
        assert_eq!(code, 0, "{err}");
        assert!(text.contains("steps 24"), "{text}");
        // certify refuses side files with a clear message rather than writing an unverifiable certificate.
        let (code, _, err) = run(tmp.path(), &["certify", f, "--theorem", "4.1", "--until", "1", "-o", "c.json"]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("tensor files"), "{err}");
        assert!(!tmp.path().join("c.json").exists());
    }
    let (_tmp, out) = import("tiny-bert");
    let (_, text, _) = run(&repo(), &["check", out.to_str().unwrap(), "--theorem", "4.1"]);
    insta::assert_snapshot!("import_check_tiny_bert_4_1", text.replace(out.to_str().unwrap(), "<file>"));
}

/// A model directory with `edit` applied to a copy of tiny-bert.
fn broken(edit: impl FnOnce(&Path)) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("m");
    std::fs::create_dir(&dir).unwrap();
    for f in ["config.json", "model.safetensors", "tokenizer.json", "vocab.txt"] {
        std::fs::copy(repo().join("tests/models/tiny-bert").join(f), dir.join(f)).unwrap();
    }
    edit(&dir);
    tmp
}

/// Rewrites model.safetensors with `f` applied to its (name, dtype, shape, bytes) list.
fn rewrite_weights(dir: &Path, f: impl FnOnce(&mut Vec<(String, safetensors::Dtype, Vec<usize>, Vec<u8>)>)) {
    let bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut list: Vec<_> = st.tensors().into_iter().map(|(n, v)| (n, v.dtype(), v.shape().to_vec(), v.data().to_vec())).collect();
    f(&mut list);
    let views: Vec<_> = list.iter().map(|(n, d, s, b)| (n.clone(), safetensors::tensor::TensorView::new(*d, s.clone(), b).unwrap())).collect();
    std::fs::write(dir.join("model.safetensors"), safetensors::serialize(views, None).unwrap()).unwrap();
}

#[test]
fn bad_model_directories_fail_clearly() {
    let q = "encoder.layer.1.attention.self.query.weight";
    let cases: Vec<(&str, tempfile::TempDir, &str)> = vec![
        ("unknown model_type", broken(|d| std::fs::write(d.join("config.json"), r#"{"model_type": "llama", "hidden_size": 8}"#).unwrap()), "unsupported model type \"llama\""),
        ("config not JSON", broken(|d| std::fs::write(d.join("config.json"), "{").unwrap()), "config.json: malformed JSON"),
        ("missing tensor", broken(|d| rewrite_weights(d, |l| l.retain(|t| t.0 != q))), "encoder.layer.1.attention.self.query.weight: missing tensor"),
        ("wrong dtype", broken(|d| rewrite_weights(d, |l| l.iter_mut().filter(|t| t.0 == q).for_each(|t| t.1 = safetensors::Dtype::I32))), "has dtype I32"),
        ("wrong shape", broken(|d| rewrite_weights(d, |l| l.iter_mut().filter(|t| t.0 == q).for_each(|t| { t.2 = vec![4, 16]; }))), "expected shape [8, 8], found [4, 16]"),
        ("truncated file", broken(|d| { let b = std::fs::read(d.join("model.safetensors")).unwrap(); std::fs::write(d.join("model.safetensors"), &b[..b.len() - 10]).unwrap(); }), "not a valid safetensors file"),
        ("bad header JSON", broken(|d| { let mut b = std::fs::read(d.join("model.safetensors")).unwrap(); b[8] = b'['; std::fs::write(d.join("model.safetensors"), &b).unwrap(); }), "not a valid safetensors file"),
        ("no model file", broken(|d| std::fs::remove_file(d.join("model.safetensors")).unwrap()), "cannot open the weights"),
        ("no tokenizer", broken(|d| { std::fs::remove_file(d.join("tokenizer.json")).unwrap(); std::fs::remove_file(d.join("vocab.txt")).unwrap(); }), "no tokenizer"),
    ];
    for (what, tmp, want) in cases {
        let (code, _, err) = run(tmp.path(), &["import", "m", "--layer", "1", "--text", "the cat", "-o", "out.toml"]);
        assert_eq!(code, 2, "{what}: {err}");
        assert!(err.contains(want), "{what}: expected '{want}' in: {err}");
        assert!(!err.contains("panicked"), "{what}: {err}");
        assert!(!tmp.path().join("out.toml").exists() && !tmp.path().join("out.safetensors").exists(), "{what}: an output file was left");
    }
    let tmp = broken(|_| ());
    let (code, _, err) = run(tmp.path(), &["import", "m", "--layer", "2", "--text", "the cat", "-o", "out.toml"]);
    assert_eq!(code, 2);
    assert!(err.contains("--layer 2 is out of range: the model has 2 layers"), "{err}");
    let (code, _, err) = run(tmp.path(), &["import", "m", "--layer", "0", "--tokens", "5,99", "-o", "out.toml"]);
    assert_eq!(code, 2);
    assert!(err.contains("token id 99 is outside the vocabulary (32 entries)"), "{err}");
}

const TAIL: &str = "[initial]\ntokens = [[1, 0, 0], [0, 1, 0]]\n";

#[test]
fn product_form_errors_name_the_field() {
    let e = common::system_error(&format!("tokens = 2\ndim = 3\n[[heads]]\nP = {{ product = [[[1, 2]], [[1, 0, 0], [0, 1, 0]]] }}\n{TAIL}"));
    assert!(e.contains("heads[0].P.product[0]: the first factor must have d = 3 rows, found 1×2"), "{e}");
    let e = common::system_error(&format!("tokens = 2\ndim = 3\n[[heads]]\nP = {{ product = [[[1], [2], [3]], [[1, 0, 0], [0, 1, 0]]] }}\n{TAIL}"));
    assert!(e.contains("heads[0].P.product: the factors do not chain: A is 3×1 but B is 2×3"), "{e}");
    let e = common::system_error(&format!("tokens = 2\ndim = 3\n[[heads]]\nP = {{ product = [{{ tensor = \"nope.safetensors\", name = \"x\" }}, [[1, 0, 0]]] }}\n{TAIL}"));
    assert!(e.contains("heads[0].P.product[0].tensor: cannot read the tensor file"), "{e}");
    let e = common::system_error(&format!("tokens = 2\ndim = 3\n[[heads]]\nP = {{ product = [[[1], [2], [3]]] }}\n{TAIL}"));
    assert!(e.contains("exactly two factors"), "{e}");
}

/// The product form is decided exactly for small d: `A·B` with a rational scale equals the
/// explicit matrix entry for entry, and every hypothesis gets the same verdict as on the
/// explicit form (where rank does not decide it first).
#[test]
fn product_form_is_exact() {
    let a = "[[0.1, 2], [0.3, -1], [1, 1]]";
    let b = "[[1, 0.5, 0], [0, 1, 0.25]]";
    let explicit = "[[0.05, 1.025, 0.25], [0.15, -0.425, -0.125], [0.5, 0.75, 0.125]]";
    let prod = common::system(&format!("tokens = 2\ndim = 3\n[[heads]]\nP = {{ product = [{a}, {b}], scale = \"1/2\" }}\nU = {{ product = [{a}, {b}] }}\n{TAIL}"));
    let expl = common::system(&format!("tokens = 2\ndim = 3\n[[heads]]\nP = {explicit}\nU = {{ scalar = \"2\", times = {explicit} }}\n{TAIL}"));
    assert_eq!(poly::constant_matrix(&prod.heads[0].p, 3), poly::constant_matrix(&expl.heads[0].p, 3));
    assert_eq!(poly::constant_matrix(&prod.heads[0].u, 3), poly::constant_matrix(&expl.heads[0].u, 3));
    let (cp, ce) = (Context::new(&prod), Context::new(&expl));
    for id in hypothesis::KNOWN {
        let (x, y) = (hypothesis::check(&cp, id).unwrap(), hypothesis::check(&ce, id).unwrap());
        if matches!(*id, "value-invertible" | "key-query-positive-definite") {
            // rank ≤ 2 < 3: refuted by rank on the product, exactly on the explicit matrix.
            assert_eq!(x.verdict, Verdict::Fails, "{id}: {}", x.detail);
            assert!(y.verdict != Verdict::Holds, "{id}: the explicit form must not hold: {}", y.detail);
        } else {
            assert_eq!(x.verdict, y.verdict, "{id}: product {} vs explicit {}", x.detail, y.detail);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The interval enclosure of `A·B` contains the exact rational product (doubles as factors,
    /// d = 3..6, k = 1..4), and the float product lies in it.
    #[test]
    fn product_enclosure_contains_exact(d in 3usize..6, k in 1usize..4, seed in any::<u64>()) {
        let mut s = seed;
        let mut next = || { s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); ((s >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 2f64.powi((s % 40) as i32 - 20) };
        let fac = |r: usize, c: usize, next: &mut dyn FnMut() -> f64| format!("[{}]", (0..r).map(|_| format!("[{}]", (0..c).map(|_| format!("{:e}", next())).collect::<Vec<_>>().join(", "))).collect::<Vec<_>>().join(", "));
        let a = fac(d, k, &mut next);
        let b = fac(k, d, &mut next);
        let toks = format!("[{}]", (0..2).map(|t| format!("[{}]", (0..d).map(|i| if i == t { "1" } else { "0" }).collect::<Vec<_>>().join(", "))).collect::<Vec<_>>().join(", "));
        let sys = common::system(&format!("tokens = 2\ndim = {d}\n[[heads]]\nP = {{ product = [{a}, {b}] }}\n[initial]\ntokens = {toks}\n"));
        let attncert::system::MatrixFn::Product(p) = &sys.heads[0].p else { panic!("product") };
        let exact = p.exact().unwrap();
        let f = p.eval();
        for (n, iv) in p.enclosure().iter().enumerate() {
            let (i, j) = (n / d, n % d);
            let lo = Rational::from_f64(iv.inf()).unwrap();
            let hi = Rational::from_f64(iv.sup()).unwrap();
            prop_assert!(lo <= exact[i][j] && exact[i][j] <= hi, "entry [{i}][{j}] not enclosed");
            prop_assert!(iv.inf() <= f[(i, j)] && f[(i, j)] <= iv.sup() || (iv.sup() - iv.inf()) < 1e-300 + 1e-12 * iv.mag());
        }
    }
}

/// The optional end-to-end run on all-MiniLM-L6-v2 (`ATTNCERT_MINILM=$(scripts/fetch_minilm.sh)`).
#[test]
#[ignore]
fn minilm_end_to_end() {
    let Ok(dir) = std::env::var("ATTNCERT_MINILM") else { panic!("set ATTNCERT_MINILM to the model directory (scripts/fetch_minilm.sh)") };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("layer3.toml");
    let (code, _, err) = run(tmp.path(), &["import", &dir, "--layer", "3", "--text", "The cat sat on the mat.", "-o", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let (code, text, err) = run(tmp.path(), &["check", out.to_str().unwrap()]);
    assert_eq!(code, 1, "{text}{err}");
    assert!(text.contains("12 heads"), "{text}");
    let (code, _, err) = run(tmp.path(), &["simulate", out.to_str().unwrap(), "--until", "50", "--samples", "51", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(tmp.path(), &["simulate", out.to_str().unwrap(), "--discrete", "--tau", "1", "--until", "24"]);
    assert_eq!(code, 0, "{err}");
}

/// Red team (issue 14): a side file is a relative path below the system file's directory, so a
/// system file cannot make `check` read `/dev/zero`, a FIFO or a file elsewhere.
#[test]
fn side_files_stay_below_the_system_file() {
    for path in ["/dev/zero", "../outside.safetensors", "sub/../../x.safetensors", ""] {
        let e = common::system_error(&format!(
            "tokens = 2\ndim = 3\n[[heads]]\nP = {{ product = [{{ tensor = \"{path}\", name = \"x\" }}, [[1, 0, 0]]] }}\n{TAIL}"
        ));
        assert!(e.contains("must be a relative path below the system file's directory"), "{path}: {e}");
    }
}

/// Red team (issue 14): `verify` decides from the certificate alone. This certificate's
/// embedded system names a side file that exists beside it (the identity): it is still refused.
#[test]
fn verify_refuses_side_files() {
    let dir = common::repo("tests/systems/sidefile");
    let (code, out, err) = run(&dir, &["verify", "cert.json"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(format!("{out}{err}").contains("may not read side files"), "{out}{err}");
}

/// Red team (issue 14): a rank bound is no counter-witness for a matrix that is defined nowhere
/// (`sqrt(-1)·A·B`): positive definiteness is undecided, as for any undefined matrix.
#[test]
fn rank_needs_a_defined_scale() {
    let sys = common::system(&format!(
        "tokens = 2\ndim = 3\nmetric = \"identity\"\n[[heads]]\nP = {{ product = [[[1], [0], [0]], [[1, 0, 0]]], scale = \"sqrt(-1)\" }}\n{TAIL}"
    ));
    let ctx = attncert::hypothesis::Context::new(&sys);
    let out = attncert::hypothesis::check(&ctx, "key-query-positive-definite").expect("a known id");
    assert_eq!(out.verdict, Verdict::Undecided, "{out:?}");
}

/// Red team (issue 14): `export` of an imported layer is the same system (the factors' exact
/// doubles inline, not their rounded product), so `check` gives the same verdicts on it.
#[test]
fn export_of_an_imported_layer_is_the_same_system() {
    let (tmp, out) = import("tiny-bert");
    let f = out.to_str().unwrap();
    let (code, _, err) = run(tmp.path(), &["export", f, "-o", "e.json"]);
    assert_eq!(code, 0, "{err}");
    let verdicts = |file: &str| {
        let (_, text, _) = run(tmp.path(), &["check", file]);
        text.lines().filter(|l| l.starts_with("  ")).map(str::to_string).collect::<Vec<_>>()
    };
    let (a, b) = (verdicts(f), verdicts("e.json"));
    assert!(!a.is_empty());
    assert_eq!(a, b);
}

/// Issue 14, F5: the side file's content is bound to its system file. `import` records the
/// file's SHA-256 in every factor reference (the same hash `sha256sum` prints), and a side file
/// changed in one byte, of its data or its header, is refused naming the field and both hashes;
/// a reference without the hash is refused with the hash to add. Nothing is written on refusal.
#[test]
fn side_file_content_is_bound_by_its_hash() {
    let (tmp, out) = import("tiny-bert");
    let side = out.with_extension("safetensors");
    let bytes = std::fs::read(&side).unwrap();
    let hash = attncert::system::tensor::sha256_hex(&bytes);
    let text = std::fs::read_to_string(&out).unwrap();
    // 2 heads × 4 factors, each naming the file and its hash.
    assert_eq!(text.matches(&format!("sha256 = \"{hash}\"")).count(), 8, "{text}");
    // The round trip: the file as written is accepted, and reading it reads the side file once.
    let before = attncert::system::tensor::side_file_reads();
    System::load(&out).unwrap();
    assert_eq!(attncert::system::tensor::side_file_reads() - before, 1, "one read per side file, not per reference");
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    for (what, at) in [("a weight", bytes.len() - 3), ("the header", 8 + header_len / 2)] {
        let mut bad = bytes.clone();
        bad[at] ^= 0x01;
        std::fs::write(&side, &bad).unwrap();
        let bad_hash = attncert::system::tensor::sha256_hex(&bad);
        for cmd in [vec!["check", out.to_str().unwrap()], vec!["simulate", out.to_str().unwrap(), "--until", "1", "-o", "s.csv"]] {
            let (code, _, err) = run(tmp.path(), &cmd);
            assert_eq!(code, 2, "{what}: {err}");
            assert!(err.contains("heads[0].P.product[0].sha256"), "{what}: the field: {err}");
            assert!(err.contains(&hash) && err.contains(&bad_hash), "{what}: both hashes: {err}");
            assert!(err.contains("re-import"), "{what}: {err}");
            assert!(!tmp.path().join("s.csv").exists());
        }
    }
    std::fs::write(&side, &bytes).unwrap();
    // A file without the hash (an older import): refused, telling what to do and the hash now.
    let old = tmp.path().join("old.toml");
    std::fs::write(&old, text.replace(&format!("sha256 = \"{hash}\", "), "")).unwrap();
    let (code, _, err) = run(tmp.path(), &["check", old.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("heads[0].P.product[0]: this reference to the tensor file tiny-bert.safetensors records no sha256"), "{err}");
    assert!(err.contains(&format!("add sha256 = \"{hash}\"")) && err.contains("re-import"), "{err}");
    // A malformed hash names the field.
    let short = tmp.path().join("short.toml");
    std::fs::write(&short, text.replacen(&hash, "abc", 1)).unwrap();
    let (code, _, err) = run(tmp.path(), &["check", short.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("heads[0].P.product[0].sha256: expected the SHA-256 of tiny-bert.safetensors as 64 hexadecimal digits"), "{err}");
}

/// A side file must be a regular file below the system file's directory: a FIFO is refused
/// before it is opened (opening one would block `check` for ever), and a symbolic link that
/// resolves outside the directory is refused (found by the red team).
#[cfg(unix)]
#[test]
fn side_files_that_are_fifos_or_escaping_links_are_refused() {
    let (tmp, out) = import("tiny-bert");
    let text = std::fs::read_to_string(&out).unwrap();
    let side = "tiny-bert.safetensors";
    assert!(text.contains(side), "the import names its side file {side}");
    let fifo = tmp.path().join("fifo.safetensors");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    std::fs::write(tmp.path().join("fifo.toml"), text.replace(side, "fifo.safetensors")).unwrap();
    let (code, _, err) = run(tmp.path(), &["check", "fifo.toml"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is not a regular file"), "{err}");
    let outside = tempfile::tempdir().unwrap();
    std::fs::copy(tmp.path().join(side), outside.path().join(side)).unwrap();
    std::os::unix::fs::symlink(outside.path(), tmp.path().join("elsewhere")).unwrap();
    std::fs::write(tmp.path().join("link.toml"), text.replace(side, &format!("elsewhere/{side}"))).unwrap();
    let (code, _, err) = run(tmp.path(), &["check", "link.toml"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("resolves (through a symbolic link) outside the system file's directory"), "{err}");
}
