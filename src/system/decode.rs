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
