//! A cursor over a [`Value`] that knows its file and field path, so every schema error names both.

use std::path::Path;

use crate::error::InputError;
use crate::system::doc::{join, Value};
use crate::system::expr::{self, Expr, Literal};

/// An owned field path plus the node (field strings are built on the way down).
pub struct Field<'a> {
    pub file: &'a Path,
    pub field: String,
    pub value: &'a Value,
}

impl<'a> Field<'a> {
    pub fn root(file: &'a Path, value: &'a Value) -> Self {
        Field { file, field: String::new(), value }
    }

    pub fn err(&self, reason: impl Into<String>) -> InputError {
        InputError::new(self.file, self.field.clone(), reason)
    }

    fn child(&self, key: &str, value: &'a Value) -> Field<'a> {
        Field { file: self.file, field: join(&self.field, key), value }
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
        Ok(Table { file: self.file, field: self.field.clone(), entries })
    }

    pub fn array(&self) -> Result<Vec<Field<'a>>, InputError> {
        let Value::Array(items) = self.value else {
            return Err(self.err(format!("expected an array, found {}", self.value.kind())));
        };
        Ok(items.iter().enumerate().map(|(i, v)| self.child(&format!("[{i}]"), v)).collect())
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
    field: String,
    entries: &'a [(String, Value)],
}

impl<'a> Table<'a> {
    pub fn get(&self, key: &str) -> Option<Field<'a>> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(k, v)| Field { file: self.file, field: join(&self.field, k), value: v })
    }

    pub fn require(&self, key: &str) -> Result<Field<'a>, InputError> {
        self.get(key).ok_or_else(|| {
            let at = if self.field.is_empty() { String::new() } else { self.field.clone() };
            InputError::new(self.file, at, format!("missing required key '{key}'"))
        })
    }

    pub fn has(&self, key: &str) -> bool {
        self.entries.iter().any(|(k, _)| k == key)
    }

    pub fn field(&self) -> &str {
        &self.field
    }

    pub fn err(&self, reason: impl Into<String>) -> InputError {
        InputError::new(self.file, self.field.clone(), reason)
    }
}
