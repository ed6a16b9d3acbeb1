//! A cursor over a [`Value`] that knows its file and field path, so every schema error names both.

use std::path::Path;
use std::rc::Rc;

use crate::error::InputError;
use crate::system::doc::{join, Value};
use crate::system::expr::{self, Expr, Literal};

/// A node plus its field path: the parent's path (shared) and this node's own key or index,
/// joined into text (`heads[0].P.rows[3][4]`) only when asked, so the elements of a large array
/// cost no string each.
pub struct Field<'a> {
    pub file: &'a Path,
    parent: Rc<str>,
    segment: Segment<'a>,
    pub value: &'a Value,
}

enum Segment<'a> {
    Root,
    Key(&'a str),
    Index(usize),
}

impl<'a> Field<'a> {
    pub fn root(file: &'a Path, value: &'a Value) -> Self {
        Field { file, parent: Rc::from(""), segment: Segment::Root, value }
    }

    /// The field path, as error messages name it.
    pub fn path(&self) -> String {
        match self.segment {
            Segment::Root => self.parent.to_string(),
            Segment::Key(k) => join(&self.parent, k),
            Segment::Index(i) => join(&self.parent, &format!("[{i}]")),
        }
    }

    pub fn err(&self, reason: impl Into<String>) -> InputError {
        InputError::new(self.file, self.path(), reason)
    }

    fn child(&self, key: &'a str, value: &'a Value) -> Field<'a> {
        Field { file: self.file, parent: Rc::from(self.path()), segment: Segment::Key(key), value }
    }

    /// The entries of a table, after checking that no key is outside `allowed`.
    pub fn table(&self, allowed: &[&str]) -> Result<Table<'a>, InputError> {
        let Value::Table(entries) = self.value else {
            return Err(self.err(format!("expected a table, found {}", self.value.kind())));
        };
        for (k, v) in entries {
            if !allowed.contains(&k.as_str()) {
                return Err(self.child(k, v).err(format!("unknown key '{k}' (expected one of: {})", allowed.join(", "))));
            }
        }
        Ok(Table { file: self.file, field: Rc::from(self.path()), entries })
    }

    pub fn array(&self) -> Result<Vec<Field<'a>>, InputError> {
        let Value::Array(items) = self.value else {
            return Err(self.err(format!("expected an array, found {}", self.value.kind())));
        };
        let parent: Rc<str> = Rc::from(self.path());
        Ok(items
            .iter()
            .enumerate()
            .map(|(i, v)| Field { file: self.file, parent: Rc::clone(&parent), segment: Segment::Index(i), value: v })
            .collect())
    }

    pub fn string(&self) -> Result<&'a str, InputError> {
        match self.value {
            Value::Str(s) => Ok(s),
            other => Err(self.err(format!("expected a string, found {}", other.kind()))),
        }
    }

    pub fn boolean(&self) -> Result<bool, InputError> {
        match self.value {
            Value::Bool(b) => Ok(*b),
            other => Err(self.err(format!("expected true or false, found {}", other.kind()))),
        }
    }

    pub fn number(&self) -> Result<Literal, InputError> {
        match self.value {
            Value::Num(l) => Ok(l.clone()),
            other => Err(self.err(format!("expected a number, found {}", other.kind()))),
        }
    }

    /// A non-negative integer literal (no fraction, no exponent trickery beyond an exact value).
    pub fn count(&self) -> Result<u64, InputError> {
        let lit = self.number()?;
        let v = lit.value;
        if v < 0.0 || v.fract() != 0.0 || v > 9.0e15 || lit.text.contains(['.', 'e', 'E']) {
            return Err(self.err(format!("expected a non-negative whole number, found '{}'", lit.text)));
        }
        Ok(v as u64)
    }

    /// A number or an expression string in `t`. Parse errors name the column inside the string.
    pub fn expression(&self) -> Result<Expr, InputError> {
        match self.value {
            Value::Num(l) => expr::parse(&l.text).map_err(|e| self.err(e.to_string())),
            Value::Str(s) => expr::parse(s).map_err(|e| self.err(format!("in expression \"{s}\" {e}"))),
            other => Err(self.err(format!("expected a number or an expression string, found {}", other.kind()))),
        }
    }

    /// One of a fixed set of words.
    pub fn one_of(&self, words: &[&str]) -> Result<&'a str, InputError> {
        let s = self.string()?;
        if words.contains(&s) {
            Ok(s)
        } else {
            Err(self.err(format!("unknown value '{s}' (expected one of: {})", words.join(", "))))
        }
    }
}

/// A table whose keys were checked.
pub struct Table<'a> {
    file: &'a Path,
    field: Rc<str>,
    entries: &'a [(String, Value)],
}

impl<'a> Table<'a> {
    pub fn get(&self, key: &str) -> Option<Field<'a>> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(k, v)| Field { file: self.file, parent: Rc::clone(&self.field), segment: Segment::Key(k), value: v })
    }

    pub fn require(&self, key: &str) -> Result<Field<'a>, InputError> {
        self.get(key).ok_or_else(|| {
            InputError::new(self.file, self.field.to_string(), format!("missing required key '{key}'"))
        })
    }

    pub fn has(&self, key: &str) -> bool {
        self.entries.iter().any(|(k, _)| k == key)
    }

    pub fn field(&self) -> &str {
        &self.field
    }

    pub fn err(&self, reason: impl Into<String>) -> InputError {
        InputError::new(self.file, self.field.to_string(), reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numeric::{enclose, exact};
    use crate::system::doc::{parse_json, parse_toml};
    use crate::system::expr::Node;

    /// The field `x` of a one-key document, read as a plain number and as an expression.
    fn read_x(file: &str, doc: &Value) -> (Result<Literal, InputError>, Result<Expr, InputError>) {
        let root = Field::root(Path::new(file), doc);
        let x = root.table(&["x"]).and_then(|t| t.require("x")).expect("one key x");
        (x.number(), x.expression())
    }

    /// Reads `TEXT` as a plain number (`x = TEXT`) and as an expression (`x = "TEXT"`), in
    /// JSON and, where TOML's number syntax allows the text, in TOML: the literal that each
    /// accepted path yields, or the refusal's reason.
    fn both_paths(text: &str) -> Vec<(Result<Literal, String>, Result<Literal, String>)> {
        let mut out = Vec::new();
        let json_plain = parse_json(Path::new("p.json"), &format!("{{\"x\": {text}}}"));
        let json_expr = parse_json(Path::new("e.json"), &format!("{{\"x\": \"{text}\"}}"));
        let toml_plain = parse_toml(Path::new("p.toml"), &format!("x = {text}\n"));
        let toml_expr = parse_toml(Path::new("e.toml"), &format!("x = \"{text}\"\n"));
        for (plain, expr) in [(json_plain, json_expr), (toml_plain, toml_expr)] {
            let plain = plain.and_then(|d| read_x("p", &d).0).map_err(|e| e.reason);
            // TOML's own syntax refuses some texts JSON takes (and the reverse): nothing to compare.
            if plain.as_ref().is_err_and(|r| r.starts_with("malformed")) {
                continue;
            }
            let expr = expr.expect("a string always parses");
            let expr = read_x("e", &expr).1.map_err(|e| e.reason).and_then(|e| match e.root() {
                Node::Num(lit) => Ok(lit.clone()),
                other => Err(format!("not a lone literal: {other:?}")),
            });
            out.push((plain, expr));
        }
        out
    }

    proptest::proptest! {
        /// A number literal is accepted as a plain number exactly when it is accepted inside an
        /// expression, and then both paths give the same exact rational, the same double and
        /// the same enclosure; past the exponent bound both refuse with the same reason.
        #[test]
        fn plain_and_expression_literals_agree(
            text in "(0|[1-9][0-9]{0,3})(\\.[0-9]{1,4})?([eE][-+]?(0|1099|1100|1101|[0-9]{1,5}|99999999999999999999))?"
        ) {
            let gate = exact::gate_reason();
            for (plain, expr) in both_paths(&text) {
                match (plain, expr) {
                    (Ok(a), Ok(b)) => {
                        let qa = exact::rational(&a.text);
                        proptest::prop_assert!(qa.is_some(), "{}", text);
                        proptest::prop_assert_eq!(&qa, &exact::rational(&b.text), "{}", text);
                        proptest::prop_assert_eq!(a.value.to_bits(), b.value.to_bits(), "{}", text);
                        let (ia, ib) = (enclose::literal(&a), enclose::literal(&b));
                        proptest::prop_assert_eq!(
                            (ia.inf().to_bits(), ia.sup().to_bits()),
                            (ib.inf().to_bits(), ib.sup().to_bits()),
                            "{}", text
                        );
                    }
                    (Err(a), Err(b)) => {
                        let (ga, gb) = (a.contains(&gate), b.contains(&gate));
                        proptest::prop_assert_eq!(ga, gb, "{}: {} / {}", text, a, b);
                        proptest::prop_assert_eq!(ga, !exact::is_plain_decimal(&text), "{}: {}", text, a);
                    }
                    (a, b) => proptest::prop_assert!(false, "{}: plain {:?}, expression {:?}", text, a, b),
                }
            }
        }
    }

    /// The property above compares both formats on ordinary texts (it is not vacuous).
    #[test]
    fn both_formats_are_compared() {
        for text in ["1.5e-3", "0", "12E+4", "1e-99999", "7e-1101"] {
            let pairs = both_paths(text);
            assert_eq!(pairs.len(), 2, "{text}: JSON and TOML");
            let accepted = exact::is_plain_decimal(text);
            for (plain, expr) in pairs {
                assert_eq!((plain.is_ok(), expr.is_ok()), (accepted, accepted), "{text}");
            }
        }
    }

    #[test]
    fn refusal_names_field_and_reason_on_both_paths() {
        for doc in ["x = 1e-99999\n", "x = \"1e-99999\"\n"] {
            // The plain number is refused as the document is read, the expression as it is decoded.
            let e = parse_toml(Path::new("f.toml"), doc).and_then(|v| read_x("f.toml", &v).1.map(drop)).expect_err(doc);
            assert_eq!(e.field, "x", "{doc}");
            assert!(e.reason.contains(&exact::gate_reason()), "{doc}: {}", e.reason);
            assert!(e.reason.ends_with("(the number '1e-99999')"), "{doc}: {}", e.reason);
        }
    }
}
