//! Writes a system back out as a JSON system file with every default and random draw explicit:
//! the form other tools (the NumPy baseline in `bench/`) read.
//!
//! Literals keep their exact text. Random draws are written as the shortest decimals that read
//! back to the same doubles: float tools see identical inputs, but note that the certified
//! commands take a decimal at its exact value, which differs from the double by under an ulp.

use serde_json::{json, Number, Value};

use super::expr::{Expr, Literal};
use super::{Attention, Initial, Metric, MatrixFn, Normalization, System};

/// JSON wants a digit on both sides of a decimal point.
fn json_decimal(text: &str) -> String {
    let (sign, rest) = text.strip_prefix('-').map_or(("", text), |r| ("-", r));
    let (mant, exp) = match rest.find(['e', 'E']) {
        Some(k) => (&rest[..k], &rest[k..]),
        None => (rest, ""),
    };
    let mant = match mant.split_once('.') {
        Some((i, f)) => {
            let i = if i.is_empty() { "0" } else { i };
            if f.is_empty() {
                i.to_string()
            } else {
                format!("{i}.{f}")
            }
        }
        None => mant.to_string(),
    };
    format!("{sign}{mant}{exp}")
}

fn lit(l: &Literal) -> Value {
    json_decimal(&l.text).parse::<Number>().map(Value::Number).unwrap_or_else(|_| json!(l.value))
}

fn expr(e: &Expr) -> Value {
    Value::String(e.source().to_string())
}

fn float_rows(m: &nalgebra::DMatrix<f64>) -> Value {
    Value::Array(m.row_iter().map(|r| Value::Array(r.iter().map(|&x| json!(x)).collect())).collect())
}

fn factor(f: &crate::system::tensor::Factor) -> Value {
    use crate::system::tensor::FactorData;
    let entry = |i: usize, j: usize| match &f.data {
        FactorData::Literals(l) => lit(&l[i * f.cols + j]),
        FactorData::Doubles(_) => {
            let text = crate::numeric::exact::decimal_text(f.value(i, j));
            json_decimal(&text).parse::<Number>().map(Value::Number).unwrap_or_else(|_| json!(f.value(i, j)))
        }
    };
    Value::Array((0..f.rows).map(|i| Value::Array((0..f.cols).map(|j| entry(i, j)).collect())).collect())
}

fn matrix(m: &MatrixFn) -> Value {
    match m {
        MatrixFn::Identity => json!("identity"),
        MatrixFn::Zero => json!("zero"),
        MatrixFn::Const(rows) => Value::Array(rows.iter().map(|r| Value::Array(r.iter().map(lit).collect())).collect()),
        MatrixFn::Entrywise(rows) => Value::Array(rows.iter().map(|r| Value::Array(r.iter().map(expr).collect())).collect()),
        MatrixFn::DiagTimes { diag, times } => json!({ "diag": diag.iter().map(expr).collect::<Vec<_>>(), "times": matrix(times) }),
        MatrixFn::ScalarTimes { scalar, times } => json!({ "scalar": expr(scalar), "times": matrix(times) }),
        MatrixFn::Layers { layers, layer_time, periodic } => json!({
            "layers": layers.iter().map(matrix).collect::<Vec<_>>(),
            "layer_time": lit(layer_time),
            "periodic": periodic,
        }),
        MatrixFn::Random(r) => float_rows(&r.values),
        // The factors, not their rounded product: the export must be the same system, so a
        // side file's doubles are written as their exact decimal text (inline, no side file).
        MatrixFn::Product(p) => json!({ "product": [factor(p.a()), factor(p.b())] }),
    }
}

/// The system as a JSON system file (pretty-printed).
pub fn to_json(sys: &System) -> String {
    let tokens = match &sys.initial {
        Initial::Tokens(rows) => Value::Array(rows.iter().map(|r| Value::Array(r.iter().map(lit).collect())).collect()),
        Initial::Random { values, .. } => float_rows(&values.transpose()),
    };
    let mut doc = json!({
        "name": sys.name,
        "tokens": sys.tokens,
        "dim": sys.dim,
        "attention": match sys.attention { Attention::Full => "full", Attention::Causal => "causal" },
        "normalization": match sys.normalization { Normalization::Paper => "paper", Normalization::Softmax => "softmax" },
        "metric": match &sys.metric {
            Metric::Identity => json!("identity"),
            Metric::EqualsP => json!("P"),
            Metric::Matrix(rows) => Value::Array(rows.iter().map(|r| Value::Array(r.iter().map(lit).collect())).collect()),
        },
        "heads": sys.heads.iter().map(|h| json!({ "P": matrix(&h.p), "U": matrix(&h.u) })).collect::<Vec<_>>(),
        "initial": { "tokens": tokens },
    });
    if let (Some(v), Value::Object(o)) = (&sys.hemisphere, &mut doc) {
        o.insert("lyapunov".into(), json!({ "v": v.iter().map(lit).collect::<Vec<_>>() }));
    }
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

#[cfg(test)]
mod tests {
    use super::json_decimal;

    #[test]
    fn decimals_become_json_numbers() {
        assert_eq!(json_decimal(".5"), "0.5");
        assert_eq!(json_decimal("-3."), "-3");
        assert_eq!(json_decimal("3.e5"), "3e5");
        assert_eq!(json_decimal("-0.25E-3"), "-0.25E-3");
    }
}
