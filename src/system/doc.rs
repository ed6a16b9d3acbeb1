//! A format-neutral document tree, read from TOML or JSON, that keeps every number's literal text.
//!
//! Why a tree of our own: the certified checks enclose the *exact* decimal a user wrote
//! (`0.1` and `0.10000000000000000001` are different inputs), so a number must travel with its
//! text, and the two input formats must share one schema decoder with one set of error messages.

use std::path::Path;

use crate::error::InputError;
use crate::system::expr::Literal;

/// One node of an input document.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Keys in file order.
    Table(Vec<(String, Value)>),
    Array(Vec<Value>),
    Str(String),
    Num(Literal),
    Bool(bool),
    /// A value of a kind the schema never accepts (a TOML date); the string names the kind.
    Other(&'static str),
}

impl Value {
    /// The kind of value, as error messages name it.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Table(_) => "a table",
            Value::Array(_) => "an array",
            Value::Str(_) => "a string",
            Value::Num(_) => "a number",
            Value::Bool(_) => "a boolean",
            Value::Other(k) => k,
        }
    }
}

/// Reads a file as TOML or JSON (by extension: `.json` is JSON, anything else TOML).
pub fn read_file(path: &Path) -> Result<Value, InputError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError::new(path, "", format!("cannot read the file: {e}")))?;
    let is_json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if is_json {
        parse_json(path, &text)
    } else {
        parse_toml(path, &text)
    }
}

/// Parses TOML text; errors carry the line and column.
pub fn parse_toml(path: &Path, text: &str) -> Result<Value, InputError> {
    let doc: toml_edit::DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        let at = e.span().map(|s| line_col(text, s.start)).unwrap_or_default();
        InputError::new(path, "", format!("malformed TOML{}: {}", at, e.message().trim()))
    })?;
    let mut walker = TomlWalker { path, field: PathStack::default() };
    walker.table(doc.as_table())
}

/// Parses JSON text; errors carry the line and column.
pub fn parse_json(path: &Path, text: &str) -> Result<Value, InputError> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        let msg = e.to_string();
        // serde_json appends " at line L column C"; we put the position first, as for TOML.
        let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
        InputError::new(path, "", format!("malformed JSON at line {}, column {}: {}", e.line(), e.column(), msg))
    })?;
    json_value(path, &mut PathStack::default(), &v)
}

fn line_col(text: &str, byte: usize) -> String {
    let before = &text[..byte.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!(" at line {line}, column {column}")
}

/// Turns a number's literal text into a [`Literal`], rejecting NaN and infinities.
///
/// The text is normalised to a plain decimal that `numeric::exact` reads as a rational:
/// TOML's `_` digit separators and a leading `+` go; hexadecimal, octal and binary integers
/// are rewritten in decimal (they are exact integers, so nothing is lost).
///
/// The field path is rendered only for an error: a matrix of 250 000 numbers would otherwise
/// format 250 000 paths (most of the read time of a large file).
fn number_literal(path: &Path, field: &dyn Fn() -> String, raw: &str) -> Result<Literal, InputError> {
    let bad = |why: &str| InputError::new(path, field(), format!("{why} (the number '{raw}')"));
    let mut text: String = if raw.contains('_') { raw.chars().filter(|&c| c != '_').collect() } else { raw.to_string() };
    if let Some(rest) = text.strip_prefix('+') {
        text = rest.to_string();
    }
    // Letters other than an exponent's `e` (NaN, inf, radix prefixes) are rare: only then is
    // a lower-case copy made.
    if text.bytes().any(|b| b.is_ascii_alphabetic() && !b.eq_ignore_ascii_case(&b'e')) {
        let lower = text.to_ascii_lowercase();
        if lower.contains("nan") || lower.contains("inf") {
            return Err(bad("NaN or infinity is not allowed"));
        }
        for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
            if let Some(digits) = lower.strip_prefix(prefix) {
                let v = i64::from_str_radix(digits, radix).map_err(|_| bad("not a number"))?;
                text = v.to_string();
            }
        }
    }
    let value: f64 = text.parse().map_err(|_| bad("not a number"))?;
    // The exact reader's own syntax gate: accepted here iff `exact::rational` reads it later.
    if !crate::numeric::exact::is_plain_decimal(&text) {
        return Err(bad(&crate::numeric::exact::gate_reason()));
    }
    if !value.is_finite() {
        return Err(bad("the number is not finite (overflows a 64-bit float)"));
    }
    Ok(Literal { text, value })
}

/// A field path kept as segments while walking a document, rendered to text (`heads[0].P`)
/// only when an error needs it.
#[derive(Default)]
struct PathStack<'k> {
    segments: Vec<Segment<'k>>,
}

enum Segment<'k> {
    Key(&'k str),
    Index(usize),
}

impl PathStack<'_> {
    fn render(&self) -> String {
        let mut out = String::new();
        for s in &self.segments {
            out = match s {
                Segment::Key(k) => join(&out, k),
                Segment::Index(i) => join(&out, &format!("[{i}]")),
            };
        }
        out
    }
}

struct TomlWalker<'a, 'k> {
    path: &'a Path,
    field: PathStack<'k>,
}

impl<'k> TomlWalker<'_, 'k> {
    fn at<T>(&mut self, seg: Segment<'k>, f: impl FnOnce(&mut Self) -> Result<T, InputError>) -> Result<T, InputError> {
        self.field.segments.push(seg);
        let r = f(self);
        self.field.segments.pop();
        r
    }

    fn table(&mut self, t: &'k toml_edit::Table) -> Result<Value, InputError> {
        let mut out = Vec::new();
        for (k, item) in t.iter() {
            let v = self.at(Segment::Key(k), |w| w.item(item))?;
            out.push((k.to_string(), v));
        }
        Ok(Value::Table(out))
    }

    fn item(&mut self, item: &'k toml_edit::Item) -> Result<Value, InputError> {
        use toml_edit::Item;
        match item {
            Item::None => Ok(Value::Other("nothing")),
            Item::Value(v) => self.value(v),
            Item::Table(t) => self.table(t),
            Item::ArrayOfTables(a) => {
                let mut out = Vec::new();
                for (i, t) in a.iter().enumerate() {
                    out.push(self.at(Segment::Index(i), |w| w.table(t))?);
                }
                Ok(Value::Array(out))
            }
        }
    }

    fn value(&mut self, v: &'k toml_edit::Value) -> Result<Value, InputError> {
        use toml_edit::Value as V;
        match v {
            V::String(s) => Ok(Value::Str(s.value().clone())),
            V::Integer(i) => self.number(i.as_repr(), &i.value().to_string()),
            V::Float(f) => self.number(f.as_repr(), &f.value().to_string()),
            V::Boolean(b) => Ok(Value::Bool(*b.value())),
            V::Datetime(_) => Ok(Value::Other("a date")),
            V::Array(a) => {
                let mut out = Vec::with_capacity(a.len());
                for (i, x) in a.iter().enumerate() {
                    out.push(self.at(Segment::Index(i), |w| w.value(x))?);
                }
                Ok(Value::Array(out))
            }
            V::InlineTable(t) => {
                let mut out = Vec::new();
                for (k, x) in t.iter() {
                    let v = self.at(Segment::Key(k), |w| w.value(x))?;
                    out.push((k.to_string(), v));
                }
                Ok(Value::Table(out))
            }
        }
    }

    /// A parsed document keeps each literal's raw text; the fallback (a value built in code,
    /// never the case for a parsed file) prints the double, which is then exact by definition.
    fn number(&mut self, repr: Option<&toml_edit::Repr>, fallback: &str) -> Result<Value, InputError> {
        let raw = repr.and_then(|r| r.as_raw().as_str()).unwrap_or(fallback);
        number_literal(self.path, &|| self.field.render(), raw).map(Value::Num)
    }
}

fn json_value<'k>(path: &Path, field: &mut PathStack<'k>, v: &'k serde_json::Value) -> Result<Value, InputError> {
    use serde_json::Value as J;
    Ok(match v {
        J::Null => Value::Other("null"),
        J::Bool(b) => Value::Bool(*b),
        // With `arbitrary_precision`, a Number's Display is the literal text from the file.
        J::Number(n) => Value::Num(number_literal(path, &|| field.render(), &n.to_string())?),
        J::String(s) => Value::Str(s.clone()),
        J::Array(a) => {
            let mut out = Vec::with_capacity(a.len());
            for (i, x) in a.iter().enumerate() {
                field.segments.push(Segment::Index(i));
                let r = json_value(path, field, x);
                field.segments.pop();
                out.push(r?);
            }
            Value::Array(out)
        }
        J::Object(m) => {
            let mut out = Vec::with_capacity(m.len());
            for (k, x) in m {
                field.segments.push(Segment::Key(k));
                let r = json_value(path, field, x);
                field.segments.pop();
                out.push((k.clone(), r?));
            }
            Value::Table(out)
        }
    })
}

/// Appends a key (`a.b`) or an index (`a[3]`) to a field path.
pub fn join(base: &str, key: &str) -> String {
    if base.is_empty() {
        key.to_string()
    } else if key.starts_with('[') {
        format!("{base}{key}")
    } else {
        format!("{base}.{key}")
    }
}
