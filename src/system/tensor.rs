//! Low-rank matrices given as a product of two exact factors, `M = A·B` (`A` is `d×k`, `B` is
//! `k×d`), and the safetensors files their factors may live in (issue 14).
//!
//! Why a form of its own: an imported attention head has `P = W_Qᵀ W_K / sqrt(d_h)` and
//! `U = W_O W_V` with `d = 384`, `d_h = 32`. Written out, twelve heads are a 60 MB decimal file,
//! and the entries would have to be rounded or carry 100-digit expansions. As a product the file
//! keeps the model's own numbers (each an exact binary value: f32, f16 and bf16 widen to f64
//! exactly), and the entries of `A·B` are never rounded silently: `numeric::enclose` encloses
//! them in outward-rounded intervals, `numeric::poly` computes them exactly for small `d`, and
//! `hypothesis` uses the structure itself (`rank(A·B) ≤ k`). Only `model` forms `A·B` in floats.
//!
//! The system file:
//!
//! ```toml
//! P = { product = [{ tensor = "layer3.safetensors", sha256 = "a11b…710b", name = "h0.WQ", transpose = true },
//!                  { tensor = "layer3.safetensors", sha256 = "a11b…710b", name = "h0.WK" }], scale = "1/sqrt(32)" }
//! U = { product = [[[1, 0], [0, 1], [2, 2]], [[1, 2, 3], [0, 1, 0]]] }   # inline rows (d = 3, k = 2)
//! ```
//!
//! `sha256` (the whole side file's SHA-256, 64 hex digits, written by `import`) binds the file's
//! content: a reference whose file hashes differently, or that records no hash, is refused, so a
//! verdict is always about the bytes the system file names ([`side_file`], docs/IMPORT.md).
//!
//! `scale` becomes the existing `s·M` form (`MatrixFn::ScalarTimes`), so it may be any
//! expression; an irrational one such as `1/sqrt(32)` is enclosed like every other expression.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::{Arc, OnceLock};

use inari::Interval;
use nalgebra::DMatrix;
use rug::Rational;
use safetensors::{Dtype, SafeTensors};

use crate::error::InputError;
use crate::numeric::exact;
use crate::system::decode::Field;
use crate::system::doc::Value;
use crate::system::expr::Literal;

/// Largest number of entries a factor may have (a 10⁴×10³ matrix: 80 MB of doubles).
pub const MAX_FACTOR_ENTRIES: usize = 10_000_000;

/// The entries of a factor, row-major.
#[derive(Clone, PartialEq)]
pub enum FactorData {
    /// Decimal literals written inline (exact by their text).
    Literals(Vec<Literal>),
    /// Binary values read from a tensor file: every value is an exact double.
    Doubles(Vec<f64>),
}

/// One factor: `rows × cols` exact numbers and where they came from.
#[derive(Clone, PartialEq)]
pub struct Factor {
    pub rows: usize,
    pub cols: usize,
    pub data: FactorData,
    /// `inline`, or `file.safetensors:name` (`ᵀ` when transposed): for messages and exports.
    pub origin: String,
}

impl Factor {
    /// The entry's correctly rounded double (the exact value for tensor data).
    pub fn value(&self, i: usize, j: usize) -> f64 {
        match &self.data {
            FactorData::Literals(l) => l[i * self.cols + j].value,
            FactorData::Doubles(v) => v[i * self.cols + j],
        }
    }

    /// The tightest interval around the exact entry (a point for tensor data).
    pub fn interval(&self, i: usize, j: usize) -> Interval {
        match &self.data {
            FactorData::Literals(l) => crate::numeric::enclose::literal(&l[i * self.cols + j]),
            FactorData::Doubles(v) => crate::numeric::enclose::point(v[i * self.cols + j]),
        }
    }

    /// The exact entry (`None` only for a literal that is not a plain decimal, which the reader refuses).
    pub fn exact(&self, i: usize, j: usize) -> Option<Rational> {
        match &self.data {
            FactorData::Literals(l) => exact::rational(&l[i * self.cols + j].text),
            FactorData::Doubles(v) => Some(exact::from_f64(v[i * self.cols + j])),
        }
    }

    pub fn to_f64(&self) -> DMatrix<f64> {
        DMatrix::from_fn(self.rows, self.cols, |i, j| self.value(i, j))
    }
}

/// `A·B`, with a cache of its interval enclosure (computed once, used by several checks).
pub struct ProductData {
    pub a: Factor,
    pub b: Factor,
    enclosure: OnceLock<Vec<Interval>>,
}

/// A shared, cheaply cloned product (systems are cloned for bulk runs).
#[derive(Clone)]
pub struct Product(pub Arc<ProductData>);

impl std::fmt::Debug for Product {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Product({} [{}×{}] · {} [{}×{}])", self.0.a.origin, self.0.a.rows, self.0.a.cols, self.0.b.origin, self.0.b.rows, self.0.b.cols)
    }
}

impl Product {
    pub fn new(a: Factor, b: Factor) -> Product {
        Product(Arc::new(ProductData { a, b, enclosure: OnceLock::new() }))
    }

    pub fn a(&self) -> &Factor {
        &self.0.a
    }

    pub fn b(&self) -> &Factor {
        &self.0.b
    }

    /// The inner dimension `k`: `rank(A·B) ≤ k`.
    pub fn inner(&self) -> usize {
        self.0.a.cols
    }

    /// `A·B` in floats (rounded: the fast path only).
    pub fn eval(&self) -> DMatrix<f64> {
        self.0.a.to_f64() * self.0.b.to_f64()
    }

    /// The row-major interval enclosure of `A·B`.
    ///
    /// Derivation: each entry `Σ_k A_ik B_kj` is evaluated in inari's outward-rounded interval
    /// arithmetic from the factors' exact (point, or tightest-literal) enclosures, so it contains
    /// the exact sum. Tightness: for tensor data the products are exact in f64 whenever the
    /// factors have at most 26 significant bits (f32, f16, bf16), so the width is only the
    /// outward rounding of the `k − 1` additions, a few ulps of `Σ|A_ik B_kj|`.
    pub fn enclosure(&self) -> &[Interval] {
        self.0.enclosure.get_or_init(|| {
            let (a, b) = (&self.0.a, &self.0.b);
            let ia: Vec<Interval> = (0..a.rows * a.cols).map(|n| a.interval(n / a.cols, n % a.cols)).collect();
            // Bᵀ row-major, so the inner loop walks both factors contiguously.
            let ib: Vec<Interval> = (0..b.cols * b.rows).map(|n| b.interval(n % b.rows, n / b.rows)).collect();
            let k = a.cols;
            let mut out = Vec::with_capacity(a.rows * b.cols);
            for i in 0..a.rows {
                let ra = &ia[i * k..(i + 1) * k];
                for j in 0..b.cols {
                    let rb = &ib[j * k..(j + 1) * k];
                    let zero = crate::numeric::enclose::point(0.0);
                    out.push(ra.iter().zip(rb).fold(zero, |s, (x, y)| s + *x * *y));
                }
            }
            out
        })
    }

    /// The exact entries of `A·B` (rational sums of exact products).
    pub fn exact(&self) -> Option<Vec<Vec<Rational>>> {
        let (a, b) = (&self.0.a, &self.0.b);
        let ea: Vec<Vec<Rational>> = (0..a.rows).map(|i| (0..a.cols).map(|j| a.exact(i, j)).collect()).collect::<Option<_>>()?;
        let eb: Vec<Vec<Rational>> = (0..b.rows).map(|i| (0..b.cols).map(|j| b.exact(i, j)).collect()).collect::<Option<_>>()?;
        Some(
            (0..a.rows)
                .map(|i| (0..b.cols).map(|j| (0..a.cols).fold(Rational::new(), |s, k| s + Rational::from(&ea[i][k] * &eb[k][j]))).collect())
                .collect(),
        )
    }

    /// The same product, written as the `product` table it was read from.
    pub fn same(&self, other: &Product) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || (self.0.a == other.0.a && self.0.b == other.0.b)
    }
}

/// Reads `{ product = [A, B] }` (the optional `scale` is handled by the caller); `d` is the size.
pub fn decode_product(f: &Field, d: usize) -> Result<Product, InputError> {
    let items = f.array()?;
    if items.len() != 2 {
        return Err(f.err(format!("a product needs exactly two factors [A, B] (A is d×k, B is k×d), found {}", items.len())));
    }
    let a = decode_factor(&items[0])?;
    let b = decode_factor(&items[1])?;
    if a.rows != d {
        return Err(items[0].err(format!("the first factor must have d = {d} rows, found {}×{}", a.rows, a.cols)));
    }
    if b.cols != d {
        return Err(items[1].err(format!("the second factor must have d = {d} columns, found {}×{}", b.rows, b.cols)));
    }
    if a.cols != b.rows {
        return Err(f.err(format!("the factors do not chain: A is {}×{} but B is {}×{} (A's columns must equal B's rows)", a.rows, a.cols, b.rows, b.cols)));
    }
    Ok(Product::new(a, b))
}

/// A factor: inline rows of numbers, or `{ tensor = "file", name = "…", transpose = false }`.
fn decode_factor(f: &Field) -> Result<Factor, InputError> {
    match f.value {
        Value::Array(_) => inline_factor(f),
        Value::Table(_) => {
            let t = f.table(&["tensor", "sha256", "name", "transpose"])?;
            let file = t.require("tensor")?;
            let name = t.require("name")?.string()?;
            let transpose = match t.get("transpose") {
                Some(x) => x.boolean()?,
                None => false,
            };
            let rel = file.string()?;
            let path = relative_to(f.file, rel).map_err(|why| file.err(why))?;
            let side = side_file(&path).map_err(|why| file.err(why))?;
            match t.get("sha256") {
                None => {
                    return Err(f.err(format!(
                        "this reference to the tensor file {rel} records no sha256, so nothing binds the file's content to this \
                         system file: re-import the layer (`attncert import` records it), or, once you have checked that \
                         {rel} is the file meant, add sha256 = \"{}\" (its SHA-256 now) to the reference",
                        side.sha256
                    )))
                }
                Some(h) => {
                    let want = h.string()?;
                    if want.len() != 64 || !want.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Err(h.err(format!("expected the SHA-256 of {rel} as 64 hexadecimal digits, found \"{want}\"")));
                    }
                    if !want.eq_ignore_ascii_case(&side.sha256) {
                        return Err(h.err(format!(
                            "the tensor file {} has SHA-256 {}, but this system file records {}: the side file is not the \
                             one it was written with (changed, or from another import); re-import the layer",
                            path.display(),
                            side.sha256,
                            want.to_ascii_lowercase()
                        )));
                    }
                }
            }
            let st = parse(&side.bytes).map_err(|e| file.err(format!("{}: {e}", path.display())))?;
            let (shape, values) = tensor_f64(&st, name).map_err(|e| file.err(format!("{}: {e}", path.display())))?;
            let [r, c] = shape[..] else {
                return Err(file.err(format!("tensor '{name}' in {rel} has shape {shape:?}, not a matrix (two dimensions)")));
            };
            let mut origin = format!("{rel}:{name}");
            let (rows, cols, data) = if transpose {
                origin.push('ᵀ');
                (c, r, (0..c * r).map(|n| values[(n % r) * c + n / r]).collect())
            } else {
                (r, c, values)
            };
            Ok(Factor { rows, cols, data: FactorData::Doubles(data), origin })
        }
        other => Err(f.err(format!("expected a factor (rows of numbers or a {{ tensor, name }} table), found {}", other.kind()))),
    }
}

fn inline_factor(f: &Field) -> Result<Factor, InputError> {
    let rows = f.array()?;
    let mut out = Vec::new();
    let mut cols = None;
    for r in &rows {
        let row = r.array()?;
        if *cols.get_or_insert(row.len()) != row.len() || row.is_empty() {
            return Err(r.err(format!("every row of a factor needs the same, positive number of entries (found {})", row.len())));
        }
        if out.len() + row.len() > MAX_FACTOR_ENTRIES {
            return Err(f.err(format!("a factor may have at most {MAX_FACTOR_ENTRIES} entries")));
        }
        for x in &row {
            out.push(x.number()?);
        }
    }
    let Some(cols) = cols else { return Err(f.err("a factor needs at least one row")) };
    Ok(Factor { rows: rows.len(), cols, data: FactorData::Literals(out), origin: "inline".into() })
}

/// A side file named in a system file: a relative path below the system file's directory.
/// Absolute paths and `..` are refused, so a system file (or a certificate's embedded one)
/// cannot make `check` read `/dev/zero`, a FIFO or a file elsewhere on the machine.
pub fn relative_to(system_file: &Path, rel: &str) -> Result<PathBuf, String> {
    let p = Path::new(rel);
    let plain = p.components().all(|c| matches!(c, std::path::Component::Normal(_) | std::path::Component::CurDir));
    if rel.is_empty() || !plain {
        return Err(format!("the tensor file '{rel}' must be a relative path below the system file's directory (no '..', no absolute path)"));
    }
    let path = system_file.parent().map_or_else(|| p.to_path_buf(), |dir| dir.join(p));
    let dir = system_file.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    // A symbolic link inside the directory could still point anywhere: where the file exists,
    // its resolved path must lie below the resolved directory (a missing file fails on reading).
    if let (Ok(real), Ok(real_dir)) = (std::fs::canonicalize(&path), std::fs::canonicalize(dir)) {
        if !real.starts_with(&real_dir) {
            return Err(format!("the tensor file '{rel}' resolves (through a symbolic link) outside the system file's directory"));
        }
    }
    Ok(path)
}

/// The largest side file read: the largest factor (`4·MAX_FACTOR_ENTRIES` f64 values) and its header.
pub const MAX_TENSOR_FILE_BYTES: u64 = (MAX_FACTOR_ENTRIES as u64) * 4 * 8 + (1 << 20);

thread_local! {
    static SIDE_FILES_REFUSED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// The side files read so far by the system read in progress ([`with_side_file_cache`]).
    static SIDE_FILE_CACHE: RefCell<Option<HashMap<PathBuf, Rc<SideFile>>>> = const { RefCell::new(None) };
    static SIDE_FILE_READS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// How many side files this thread has read from disk so far (tests count that one system read
/// reads each side file once).
pub fn side_file_reads() -> usize {
    SIDE_FILE_READS.with(|c| c.get())
}

/// Runs `f` with side files refused: a certificate embeds its system's text and nothing else,
/// so `verify` must decide from that text alone, never from files found on disk.
pub fn without_side_files<R>(f: impl FnOnce() -> R) -> R {
    let before = SIDE_FILES_REFUSED.with(|c| c.replace(true));
    let r = f();
    SIDE_FILES_REFUSED.with(|c| c.set(before));
    r
}

/// A side file as read: its bytes and their SHA-256 (lower-case hex), both of one read.
///
/// Read into memory rather than mapped: the hash and the tensors must come from the same bytes,
/// and a mapped file that another process rewrites between the two would hand the parser
/// content the hash never saw.
pub struct SideFile {
    pub bytes: Vec<u8>,
    pub sha256: String,
}

/// SHA-256 of `bytes` as 64 lower-case hex digits (what `sha256sum` prints).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs `f` (one system read) with a cache of side files by path: a file named by many factor
/// references (an imported layer: 4 per head) is read and hashed once, not once per reference.
/// The cache ends with `f`, so a later read sees the file as it is then.
pub fn with_side_file_cache<R>(f: impl FnOnce() -> R) -> R {
    let before = SIDE_FILE_CACHE.with(|c| c.replace(Some(HashMap::new())));
    let r = f();
    SIDE_FILE_CACHE.with(|c| *c.borrow_mut() = before);
    r
}

/// The side file at `path`, from the cache of the system read in progress or read now.
/// The error names the file and says what is wrong; callers add the field.
pub fn side_file(path: &Path) -> Result<Rc<SideFile>, String> {
    if SIDE_FILES_REFUSED.with(|c| c.get()) {
        return Err(format!(
            "a certificate's system may not read side files ({}): a certificate must be self-contained",
            path.display()
        ));
    }
    if let Some(hit) = SIDE_FILE_CACHE.with(|c| c.borrow().as_ref().and_then(|m| m.get(path).cloned())) {
        return Ok(hit);
    }
    let bytes = read_side_file(path)?;
    SIDE_FILE_READS.with(|c| c.set(c.get() + 1));
    let side = Rc::new(SideFile { sha256: sha256_hex(&bytes), bytes });
    SIDE_FILE_CACHE.with(|c| {
        if let Some(m) = c.borrow_mut().as_mut() {
            m.insert(path.to_path_buf(), side.clone());
        }
    });
    Ok(side)
}

/// The bytes of a side file: a regular file of at most [`MAX_TENSOR_FILE_BYTES`].
fn read_side_file(path: &Path) -> Result<Vec<u8>, String> {
    // Checked before opening too: opening a FIFO (or a link to one) would block for ever.
    let kind = std::fs::metadata(path).map_err(|e| format!("cannot read the tensor file {}: {e}", path.display()))?;
    if !kind.is_file() {
        return Err(format!("the tensor file {} is not a regular file", path.display()));
    }
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read the tensor file {}: {e}", path.display()))?;
    let meta = file.metadata().map_err(|e| format!("cannot read the tensor file {}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("the tensor file {} is not a regular file", path.display()));
    }
    if meta.len() > MAX_TENSOR_FILE_BYTES {
        return Err(format!("the tensor file {} has {} bytes, more than the {MAX_TENSOR_FILE_BYTES} allowed", path.display(), meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    use std::io::Read;
    file.take(MAX_TENSOR_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the tensor file {}: {e}", path.display()))?;
    if bytes.len() as u64 > MAX_TENSOR_FILE_BYTES {
        return Err(format!("the tensor file {} has more than the {MAX_TENSOR_FILE_BYTES} bytes allowed", path.display()));
    }
    Ok(bytes)
}

/// Parses a safetensors buffer (header JSON, offsets, sizes are validated by the crate).
pub fn parse(bytes: &[u8]) -> Result<SafeTensors<'_>, String> {
    SafeTensors::deserialize(bytes).map_err(|e| format!("not a valid safetensors file ({e})"))
}

/// One tensor as exact doubles. f64, f32, f16 and bf16 values widen to f64 exactly; NaN and
/// infinities are refused (no enclosure of a weight could hold them).
pub fn tensor_f64(st: &SafeTensors, name: &str) -> Result<(Vec<usize>, Vec<f64>), String> {
    let view = st.tensor(name).map_err(|_| format!("no tensor named '{name}'"))?;
    let shape = view.shape().to_vec();
    let count = shape.iter().try_fold(1usize, |n, &s| n.checked_mul(s)).filter(|&n| n <= MAX_FACTOR_ENTRIES * 4);
    let Some(count) = count else { return Err(format!("tensor '{name}' of shape {shape:?} is too large")) };
    let bytes = view.data();
    let values: Vec<f64> = match view.dtype() {
        Dtype::F64 => bytes.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8]))).collect(),
        Dtype::F32 => bytes.chunks_exact(4).map(|c| f64::from(f32::from_le_bytes(c.try_into().unwrap_or([0; 4])))).collect(),
        Dtype::F16 => bytes.chunks_exact(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f64()).collect(),
        Dtype::BF16 => bytes.chunks_exact(2).map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f64()).collect(),
        other => return Err(format!("tensor '{name}' has dtype {other:?}; only F64, F32, F16 and BF16 are read")),
    };
    if values.len() != count {
        return Err(format!("tensor '{name}' has {} values for shape {shape:?}", values.len()));
    }
    if let Some(k) = values.iter().position(|x| !x.is_finite()) {
        return Err(format!("tensor '{name}' has a non-finite value at flat index {k}"));
    }
    Ok((shape, values))
}
