//! Time-dependent scalar expressions in the variable `t`.
//!
//! Users write matrix entries such as `2*cos(10*pi*t)` or `-0.5 + t^2/3`. An entry is parsed
//! once into a [`Node`] tree and then used two ways:
//!
//! * [`Expr::eval`] — the `f64` hot path of the ODE solver. It runs a flat, pre-compiled stack
//!   program (no allocation, no tree walk), with `t`-free subtrees folded to `f64` constants.
//! * [`Expr::eval_generic`] — a tree walk over any [`ExprScalar`], e.g. outward-rounded
//!   intervals. Nothing is pre-rounded on this path: number literals keep their exact decimal
//!   text ([`Literal::text`]) so a certified scalar can enclose the decimal value itself.
//!
//! # Grammar
//!
//! ```text
//! sum      := product (('+' | '-') product)*            left-associative
//! product  := unary (('*' | '/') unary)*                left-associative
//! unary    := ('-' | '+')* power                        so -t^2 = -(t^2)
//! power    := primary ('^' exponent)?
//! exponent := ('-' | '+')* (digits | '(' exponent ')') ('^' exponent)?
//! primary  := number | 't' | 'pi' | func '(' sum ')' | '(' sum ')'
//! func     := 'sin' | 'cos' | 'exp' | 'abs' | 'sqrt' | 'sign'
//! number   := digits ['.' digits?] [exp] | '.' digits [exp]    exp := ('e'|'E') ['+'|'-'] digits
//! ```
//!
//! A number's exponent is at most ±[`exact::MAX_EXPONENT`] in size, as for a plain number in
//! a system file (the same gate, [`exact::is_plain_decimal`], and the same reason): `1e-99999`
//! is refused, not rounded to `0`.
//!
//! The exponent of `^` is an integer *constant*: an unsigned integer literal (digits only, so
//! `2.0` is rejected), optionally signed or parenthesised, and chains are right-associative and
//! folded exactly (`t^2^3` is `t^8`, `t^-2` and `(t+1)^(-2)` are allowed). Whitespace may
//! appear between any two tokens. Identifiers are case-sensitive.
//!
//! `sign` is an extension beyond the five user-facing functions: the derivative of `abs(u)` is
//! `sign(u)*u'`, and the printed derivative must parse back. `sign(0) = 0`.
//!
//! # Robustness
//!
//! No input string makes [`parse`] panic or overflow the stack: recursion (parentheses, calls,
//! exponents) is capped at [`MAX_NESTING`] levels and tree depth at [`MAX_DEPTH`], so every
//! later recursive pass (printing, derivative, generic evaluation, drop) is bounded too.
//! Trees built by hand through the public [`Node`] variants are not checked.

use std::fmt;

use crate::numeric::exact;

/// Maximum recursion of the parser through parentheses, function calls and exponents.
///
/// Each level costs a handful of stack frames; 200 levels stay well inside a 2 MiB thread
/// stack even in unoptimised builds, and no real matrix entry comes close.
pub const MAX_NESTING: usize = 200;

/// Maximum depth of a parsed expression tree (long `+` / `*` chains and sign runs count too).
///
/// Bounds the recursion of every tree pass; the derivative of a tree at this depth is at most
/// about three times deeper, which is still cheap to walk.
pub const MAX_DEPTH: usize = 1000;

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

/// A decimal number exactly as written, plus its correctly rounded `f64`.
///
/// The text is kept because certified evaluation must enclose the *decimal* value: `0.1` has
/// no binary representation and `value` is only the nearest double (from `str::parse::<f64>`,
/// which rounds correctly). Literals produced by the parser are unsigned; negative constants
/// are `Neg(Num(..))`. Build literals by hand only through [`Literal::new`] or
/// [`Literal::integer`], or printing may no longer parse back.
#[derive(Clone, Debug, PartialEq)]
pub struct Literal {
    /// The literal's source text, e.g. `"0.3712"`, `".5"`, `"1e-3"`.
    pub text: String,
    /// `text` rounded to the nearest `f64` (always finite for parser-produced literals).
    pub value: f64,
}

/// The one-argument functions of the grammar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Func {
    Sin,
    Cos,
    Exp,
    Abs,
    Sqrt,
    /// `-1`, `0` or `1`; only needed as the derivative of `abs`. See the module docs.
    Sign,
}

/// An expression tree. Variants mirror the grammar one-to-one, so printing a tree with
/// `Display` and parsing the text back yields the same tree.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Num(Literal),
    T,
    Pi,
    Neg(Box<Node>),
    Add(Box<Node>, Box<Node>),
    Sub(Box<Node>, Box<Node>),
    Mul(Box<Node>, Box<Node>),
    Div(Box<Node>, Box<Node>),
    /// Integer power; evaluated with [`ExprScalar::powi`].
    Pow(Box<Node>, i32),
    Call(Func, Box<Node>),
}

/// A parsed expression: its source text, its tree and the compiled `f64` program.
#[derive(Clone, Debug)]
pub struct Expr {
    source: String,
    root: Node,
    program: Program,
}

/// A parse error at a 1-based character (not byte) column of the source.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("at column {column}: {message}")]
pub struct ExprError {
    pub column: usize,
    pub message: String,
}

/// The arithmetic an expression needs, so one tree can be evaluated over `f64`, intervals, ….
pub trait ExprScalar: Clone {
    /// The value of a literal; a certified scalar should enclose the exact decimal `lit.text`
    /// rather than trust the rounded `lit.value`.
    fn literal(lit: &Literal) -> Self;
    fn pi() -> Self;
    fn add(&self, o: &Self) -> Self;
    fn sub(&self, o: &Self) -> Self;
    fn mul(&self, o: &Self) -> Self;
    fn div(&self, o: &Self) -> Self;
    fn neg(&self) -> Self;
    fn powi(&self, n: i32) -> Self;
    fn sin(&self) -> Self;
    fn cos(&self) -> Self;
    fn exp(&self) -> Self;
    fn abs(&self) -> Self;
    fn sqrt(&self) -> Self;
    /// `-1` for negative, `1` for positive, `0` at zero (an interval straddling zero should
    /// give `[-1, 1]`).
    fn sign(&self) -> Self;
}

/// Plain IEEE arithmetic: division by zero and `sqrt` of negatives give inf/NaN, and callers
/// check finiteness. Inherent methods are called by path to avoid recursing into the trait.
impl ExprScalar for f64 {
    fn literal(lit: &Literal) -> Self {
        lit.value
    }
    fn pi() -> Self {
        std::f64::consts::PI
    }
    fn add(&self, o: &Self) -> Self {
        self + o
    }
    fn sub(&self, o: &Self) -> Self {
        self - o
    }
    fn mul(&self, o: &Self) -> Self {
        self * o
    }
    fn div(&self, o: &Self) -> Self {
        self / o
    }
    fn neg(&self) -> Self {
        -self
    }
    fn powi(&self, n: i32) -> Self {
        f64::powi(*self, n)
    }
    fn sin(&self) -> Self {
        f64::sin(*self)
    }
    fn cos(&self) -> Self {
        f64::cos(*self)
    }
    fn exp(&self) -> Self {
        f64::exp(*self)
    }
    fn abs(&self) -> Self {
        f64::abs(*self)
    }
    fn sqrt(&self) -> Self {
        f64::sqrt(*self)
    }
    /// Unlike `f64::signum`, zero maps to zero (and NaN stays NaN).
    fn sign(&self) -> Self {
        if *self > 0.0 {
            1.0
        } else if *self < 0.0 {
            -1.0
        } else {
            *self * 0.0 // 0 for ±0, NaN for NaN
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Literal and Func helpers
// ---------------------------------------------------------------------------------------------

impl Literal {
    /// Checks `text` against the grammar's number syntax and rounds it; rejects anything else,
    /// including values that overflow to infinity.
    pub fn new(text: &str) -> Result<Literal, ExprError> {
        let chars: Vec<char> = text.chars().collect();
        let starts_like_number = chars
            .first()
            .is_some_and(|c| c.is_ascii_digit() || *c == '.');
        if !starts_like_number {
            return Err(err(1, format!("'{text}' is not a number")));
        }
        let (end, lit) = scan_literal(&chars, 0)?;
        if end != chars.len() {
            return Err(err(end + 1, format!("'{text}' is not a single number")));
        }
        Ok(lit)
    }

    /// The literal for a non-negative integer (its `f64` is correctly rounded by `as`).
    pub fn integer(n: u64) -> Literal {
        Literal {
            text: n.to_string(),
            value: n as f64,
        }
    }

    /// Whether the decimal *text* is exactly zero. `1e-400` rounds to `0.0` but is not zero,
    /// which matters for the simplifier's `0*x = 0` on a certified path.
    pub fn is_exactly_zero(&self) -> bool {
        matches!(normalized_decimal(&self.text), Some((digits, _)) if digits.is_empty())
    }

    /// Whether the decimal text is exactly one (`1`, `1.0`, `10e-1`, …).
    pub fn is_exactly_one(&self) -> bool {
        matches!(normalized_decimal(&self.text), Some((digits, 0)) if digits == "1")
    }
}

/// Splits a decimal into significant digits (no leading/trailing zeros) and a power of ten,
/// so `value = digits × 10^exp`; zero has empty digits. `None` if the text is not a decimal.
fn normalized_decimal(text: &str) -> Option<(String, i64)> {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], saturating_exponent(&text[i + 1..])?),
        None => (text, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int) || !all_digits(frac) || int.len() + frac.len() == 0 {
        return None;
    }
    let digits = format!("{int}{frac}");
    let leading_trimmed = digits.trim_start_matches('0');
    let trimmed = leading_trimmed.trim_end_matches('0');
    let trailing = (leading_trimmed.len() - trimmed.len()) as i64;
    let exp = exponent
        .saturating_sub(frac.len() as i64)
        .saturating_add(trailing);
    Some((trimmed.to_owned(), exp))
}

/// Parses a signed decimal exponent, saturating instead of overflowing (`1e-99999999999999`).
fn saturating_exponent(text: &str) -> Option<i64> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let magnitude = digits.bytes().fold(0i64, |acc, b| {
        acc.saturating_mul(10).saturating_add(i64::from(b - b'0'))
    });
    Some(if negative { -magnitude } else { magnitude })
}

impl Func {
    /// Every function, in the order listed in error messages.
    pub const ALL: [Func; 6] = [
        Func::Sin,
        Func::Cos,
        Func::Exp,
        Func::Abs,
        Func::Sqrt,
        Func::Sign,
    ];

    /// The name used in source text.
    pub fn name(self) -> &'static str {
        match self {
            Func::Sin => "sin",
            Func::Cos => "cos",
            Func::Exp => "exp",
            Func::Abs => "abs",
            Func::Sqrt => "sqrt",
            Func::Sign => "sign",
        }
    }

    /// The function with this source name, if any.
    pub fn from_name(name: &str) -> Option<Func> {
        Func::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// The four binary operators, shared by the tree walk and the compiled program so both
/// perform literally the same `f64` operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
}

#[inline(always)]
fn apply_bin<S: ExprScalar>(op: BinOp, a: &S, b: &S) -> S {
    match op {
        BinOp::Add => a.add(b),
        BinOp::Sub => a.sub(b),
        BinOp::Mul => a.mul(b),
        BinOp::Div => a.div(b),
    }
}

#[inline(always)]
fn apply_func<S: ExprScalar>(f: Func, x: &S) -> S {
    match f {
        Func::Sin => x.sin(),
        Func::Cos => x.cos(),
        Func::Exp => x.exp(),
        Func::Abs => x.abs(),
        Func::Sqrt => x.sqrt(),
        Func::Sign => x.sign(),
    }
}

// ---------------------------------------------------------------------------------------------
// Node: queries and generic evaluation
// ---------------------------------------------------------------------------------------------

impl Node {
    /// Whether `t` occurs anywhere in the tree.
    pub fn contains_t(&self) -> bool {
        match self {
            Node::T => true,
            Node::Num(_) | Node::Pi => false,
            Node::Neg(a) | Node::Pow(a, _) | Node::Call(_, a) => a.contains_t(),
            Node::Add(a, b) | Node::Sub(a, b) | Node::Mul(a, b) | Node::Div(a, b) => {
                a.contains_t() || b.contains_t()
            }
        }
    }

    /// Evaluates the tree over any scalar, left operand before right, with no rewriting.
    pub fn eval_generic<S: ExprScalar>(&self, t: &S) -> S {
        if let Some((op, a, b)) = self.as_binary() {
            return apply_bin(op, &a.eval_generic(t), &b.eval_generic(t));
        }
        match self {
            Node::Num(lit) => S::literal(lit),
            Node::T => t.clone(),
            Node::Pi => S::pi(),
            Node::Neg(a) => a.eval_generic(t).neg(),
            Node::Pow(a, n) => a.eval_generic(t).powi(*n),
            Node::Call(f, a) => apply_func(*f, &a.eval_generic(t)),
            Node::Add(..) | Node::Sub(..) | Node::Mul(..) | Node::Div(..) => {
                unreachable!("binary nodes are handled above")
            }
        }
    }

    /// The operator and operands of a binary node.
    fn as_binary(&self) -> Option<(BinOp, &Node, &Node)> {
        match self {
            Node::Add(a, b) => Some((BinOp::Add, a, b)),
            Node::Sub(a, b) => Some((BinOp::Sub, a, b)),
            Node::Mul(a, b) => Some((BinOp::Mul, a, b)),
            Node::Div(a, b) => Some((BinOp::Div, a, b)),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Expr
// ---------------------------------------------------------------------------------------------

/// Parses an expression in `t`; see the module docs for the grammar.
pub fn parse(src: &str) -> Result<Expr, ExprError> {
    let tokens = lex(src)?;
    if tokens.first().is_none_or(|tok| tok.kind == Tok::End) {
        return Err(err(1, "empty expression"));
    }
    let mut parser = Parser {
        tokens,
        pos: 0,
        nesting: 0,
    };
    let parsed = parser.sum()?;
    parser.expect_end()?;
    Ok(Expr::build(src.to_owned(), parsed.node))
}

impl std::str::FromStr for Expr {
    type Err = ExprError;
    fn from_str(src: &str) -> Result<Expr, ExprError> {
        parse(src)
    }
}

impl Expr {
    /// Wraps a tree (e.g. one built by hand); its source becomes the canonical printing.
    pub fn from_node(root: Node) -> Expr {
        Expr::build(root.to_string(), root)
    }

    fn build(source: String, root: Node) -> Expr {
        let program = Program::compile(&root);
        Expr {
            source,
            root,
            program,
        }
    }

    /// The text this expression was parsed from (canonical printing for derived expressions).
    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn root(&self) -> &Node {
        &self.root
    }

    /// Fast `f64` evaluation through the compiled program.
    ///
    /// Bit-for-bit equal to `eval_generic::<f64>`: folded constants are computed by the same
    /// `f64` operations in the same order, and reordering independent subtrees cannot change
    /// any rounding. It is *not* a certified value (literals and `pi` are rounded to `f64`);
    /// constant folding happens only in this program, never in [`Expr::eval_generic`].
    #[inline]
    pub fn eval(&self, t: f64) -> f64 {
        self.program
            .run(t)
            .unwrap_or_else(|| self.root.eval_generic(&t))
    }

    /// Whether the expression does not depend on `t`.
    pub fn is_constant(&self) -> bool {
        !self.root.contains_t()
    }

    /// Symbolic `d/dt`, lightly simplified. `d abs(u) = sign(u)*u'` and `d sign(u) = 0`, so the
    /// result is the classical derivative wherever it exists; at a zero of `u` inside `abs`
    /// it gives `0*u'`, a subgradient, not a derivative. The
    /// simplifications `0*x = 0`, `0/x = 0` are exact in real arithmetic but not in IEEE
    /// arithmetic when `x` is infinite or NaN.
    pub fn derivative(&self) -> Expr {
        Expr::from_node(derivative(&self.root))
    }

    /// Tree-walk evaluation over any scalar, e.g. intervals enclosing the decimal literals.
    pub fn eval_generic<S: ExprScalar>(&self, t: &S) -> S {
        self.root.eval_generic(t)
    }
}

// ---------------------------------------------------------------------------------------------
// Lexer
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tok {
    Num,
    Ident,
    Plus,
    Minus,
    Star,
    Slash,
    Caret,
    LParen,
    RParen,
    End,
}

#[derive(Clone, Debug)]
struct Token {
    kind: Tok,
    /// 1-based character column of the token's first character.
    col: usize,
    text: String,
    /// The rounded value, for `Tok::Num` only.
    value: f64,
}

impl Token {
    /// How the token is named in error messages.
    fn describe(&self) -> String {
        match self.kind {
            Tok::End => "end of input".to_owned(),
            _ => format!("'{}'", self.text),
        }
    }
}

fn err(column: usize, message: impl Into<String>) -> ExprError {
    ExprError {
        column,
        message: message.into(),
    }
}

/// Splits the source into tokens, always ending with one `Tok::End`.
fn lex(src: &str) -> Result<Vec<Token>, ExprError> {
    let chars: Vec<char> = src.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let (kind, end, value) = match c {
            '+' => (Tok::Plus, i + 1, 0.0),
            '-' => (Tok::Minus, i + 1, 0.0),
            '*' => (Tok::Star, i + 1, 0.0),
            '/' => (Tok::Slash, i + 1, 0.0),
            '^' => (Tok::Caret, i + 1, 0.0),
            '(' => (Tok::LParen, i + 1, 0.0),
            ')' => (Tok::RParen, i + 1, 0.0),
            '0'..='9' | '.' => {
                let (end, lit) = scan_literal(&chars, i)?;
                (Tok::Num, end, lit.value)
            }
            c if c.is_ascii_alphabetic() || c == '_' => (Tok::Ident, scan_ident(&chars, i), 0.0),
            _ => return Err(err(i + 1, format!("unexpected character '{c}'"))),
        };
        tokens.push(Token {
            kind,
            col: i + 1,
            text: chars[i..end].iter().collect(),
            value,
        });
        i = end;
    }
    tokens.push(Token {
        kind: Tok::End,
        col: chars.len() + 1,
        text: String::new(),
        value: 0.0,
    });
    Ok(tokens)
}

fn scan_ident(chars: &[char], start: usize) -> usize {
    let len = chars[start..]
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
        .count();
    start + len
}

/// Scans `digits ['.' digits] [e [+-] digits]` from `start`; returns the end index and the
/// number of mantissa digits. The `e` is only taken as an exponent when digits follow, so
/// `2exp(t)` lexes as `2` followed by `exp` (then fails with a "missing operator" message).
fn scan_number(chars: &[char], start: usize) -> (usize, usize) {
    let digits_from = |i: usize| {
        chars[i.min(chars.len())..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    let mut i = start + digits_from(start);
    let mut mantissa_digits = i - start;
    if chars.get(i) == Some(&'.') {
        let frac = digits_from(i + 1);
        mantissa_digits += frac;
        i += 1 + frac;
    }
    if matches!(chars.get(i), Some('e' | 'E')) {
        let sign = usize::from(matches!(chars.get(i + 1), Some('+' | '-')));
        let exp_digits = digits_from(i + 1 + sign);
        if exp_digits > 0 {
            i += 1 + sign + exp_digits;
        }
    }
    (i, mantissa_digits)
}

/// Scans a number and rounds it with Rust's correctly rounded `str::parse::<f64>`.
///
/// A literal must also pass the exact reader's syntax gate ([`exact::is_plain_decimal`]: an
/// exponent within ±[`exact::MAX_EXPONENT`]), with the reason worded as for a plain number in a
/// system file. Without it `1e-99999` would round to `0.0` here and reach the certified path,
/// whose enclosure of an unreadable literal is the whole line (sound but useless), and an
/// exponent of millions of digits would cost its size in exact arithmetic wherever the text is
/// read as a rational.
fn scan_literal(chars: &[char], start: usize) -> Result<(usize, Literal), ExprError> {
    let (end, mantissa_digits) = scan_number(chars, start);
    let text: String = chars[start..end].iter().collect();
    let col = start + 1;
    if mantissa_digits == 0 {
        return Err(err(
            col,
            format!("malformed number '{text}' (a number needs at least one digit)"),
        ));
    }
    if !exact::is_plain_decimal(&text) {
        return Err(err(
            col,
            format!("{} (the number '{text}')", exact::gate_reason()),
        ));
    }
    let value: f64 = text
        .parse()
        .map_err(|_| err(col, format!("malformed number '{text}'")))?;
    if !value.is_finite() {
        return Err(err(col, format!("number '{text}' is not finite")));
    }
    Ok((end, Literal { text, value }))
}

// ---------------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------------

/// A parsed subtree and its depth (a leaf has depth 1), tracked to enforce [`MAX_DEPTH`]
/// without a second recursive pass over a possibly huge tree.
struct Parsed {
    node: Node,
    depth: usize,
}

type ParseResult = Result<Parsed, ExprError>;

struct Parser {
    tokens: Vec<Token>,
    /// Index of the next token; never moves past the final `Tok::End`.
    pos: usize,
    nesting: usize,
}

fn leaf(node: Node) -> Parsed {
    Parsed { node, depth: 1 }
}

/// Accepts a new node unless it makes the tree deeper than [`MAX_DEPTH`].
fn checked(node: Node, depth: usize, col: usize) -> ParseResult {
    if depth > MAX_DEPTH {
        return Err(err(
            col,
            format!("expression is too deep (more than {MAX_DEPTH} nested operations)"),
        ));
    }
    Ok(Parsed { node, depth })
}

fn binary(
    make: fn(Box<Node>, Box<Node>) -> Node,
    lhs: Parsed,
    rhs: Parsed,
    col: usize,
) -> ParseResult {
    let depth = 1 + lhs.depth.max(rhs.depth);
    checked(make(Box::new(lhs.node), Box::new(rhs.node)), depth, col)
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.pos]
    }

    fn bump(&mut self) -> Token {
        let tok = self.tokens[self.pos].clone();
        if tok.kind != Tok::End {
            self.pos += 1;
        }
        tok
    }

    /// Counts one level of recursion, failing cleanly instead of overflowing the stack.
    fn enter(&mut self, col: usize) -> Result<(), ExprError> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(err(
                col,
                format!("expression is nested too deeply (more than {MAX_NESTING} levels of parentheses, calls or exponents)"),
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.nesting -= 1;
    }

    /// `sum := product (('+' | '-') product)*`
    fn sum(&mut self) -> ParseResult {
        let mut lhs = self.product()?;
        loop {
            let make: fn(Box<Node>, Box<Node>) -> Node = match self.peek().kind {
                Tok::Plus => Node::Add,
                Tok::Minus => Node::Sub,
                _ => return Ok(lhs),
            };
            let op = self.bump();
            let rhs = self.product()?;
            lhs = binary(make, lhs, rhs, op.col)?;
        }
    }

    /// `product := unary (('*' | '/') unary)*`
    fn product(&mut self) -> ParseResult {
        let mut lhs = self.unary()?;
        loop {
            let make: fn(Box<Node>, Box<Node>) -> Node = match self.peek().kind {
                Tok::Star => Node::Mul,
                Tok::Slash => Node::Div,
                _ => return Ok(lhs),
            };
            let op = self.bump();
            let rhs = self.unary()?;
            lhs = binary(make, lhs, rhs, op.col)?;
        }
    }

    /// `unary := ('-' | '+')* power`, iterative so long sign runs cannot recurse deeply.
    /// Unary plus leaves no trace in the tree.
    fn unary(&mut self) -> ParseResult {
        let mut minus_columns = Vec::new();
        loop {
            match self.peek().kind {
                Tok::Minus => minus_columns.push(self.bump().col),
                Tok::Plus => drop(self.bump()),
                _ => break,
            }
        }
        let mut operand = self.power()?;
        for &col in minus_columns.iter().rev() {
            operand = checked(Node::Neg(Box::new(operand.node)), operand.depth + 1, col)?;
        }
        Ok(operand)
    }

    /// `power := primary ('^' exponent)?`
    fn power(&mut self) -> ParseResult {
        let base = self.primary()?;
        if self.peek().kind != Tok::Caret {
            return Ok(base);
        }
        let caret = self.bump();
        let exponent = self.exponent()?;
        checked(
            Node::Pow(Box::new(base.node), exponent),
            base.depth + 1,
            caret.col,
        )
    }

    /// The integer exponent after `^`, folded exactly and range-checked to `±i32::MAX` (so the
    /// derivative's `n - 1` never overflows).
    fn exponent(&mut self) -> Result<i32, ExprError> {
        let col = self.peek().col;
        let value = self.exponent_value()?;
        match i32::try_from(value) {
            Ok(n) if n != i32::MIN => Ok(n),
            _ => Err(exponent_out_of_range(col)),
        }
    }

    /// `exponent := ('-' | '+')* (digits | '(' exponent ')') ('^' exponent)?`
    fn exponent_value(&mut self) -> Result<i64, ExprError> {
        let mut negative = false;
        loop {
            match self.peek().kind {
                Tok::Minus => negative = !negative,
                Tok::Plus => {}
                _ => break,
            }
            self.bump();
        }
        let tok = self.bump();
        let base = match tok.kind {
            Tok::Num if tok.text.bytes().all(|b| b.is_ascii_digit()) => tok
                .text
                .parse::<i64>()
                .map_err(|_| exponent_out_of_range(tok.col))?,
            Tok::LParen => {
                self.enter(tok.col)?;
                let inner = self.exponent_value()?;
                self.close_exponent_paren(tok.col)?;
                self.leave();
                inner
            }
            _ => {
                let found = tok.describe();
                return Err(err(
                    tok.col,
                    format!("exponent of '^' must be an integer literal (found {found})"),
                ));
            }
        };
        let mut value = base;
        if self.peek().kind == Tok::Caret {
            let caret = self.bump();
            self.enter(caret.col)?;
            let power = self.exponent_value()?;
            self.leave();
            value = integer_power(base, power, caret.col)?;
        }
        if negative {
            value = value
                .checked_neg()
                .ok_or_else(|| exponent_out_of_range(tok.col))?;
        }
        Ok(value)
    }

    fn close_exponent_paren(&mut self, open_col: usize) -> Result<(), ExprError> {
        let tok = self.bump();
        match tok.kind {
            Tok::RParen => Ok(()),
            Tok::End => Err(err(
                tok.col,
                format!("expected ')' to close '(' opened at column {open_col}"),
            )),
            _ => {
                let found = tok.describe();
                Err(err(tok.col, format!("exponent of '^' must be an integer literal (found {found} inside the exponent)")))
            }
        }
    }

    /// `primary := number | 't' | 'pi' | func '(' sum ')' | '(' sum ')'`
    fn primary(&mut self) -> ParseResult {
        let tok = self.bump();
        match tok.kind {
            Tok::Num => Ok(leaf(Node::Num(Literal {
                text: tok.text,
                value: tok.value,
            }))),
            Tok::Ident => self.identifier(tok),
            Tok::LParen => {
                self.enter(tok.col)?;
                let inner = self.sum()?;
                self.expect_close(tok.col)?;
                self.leave();
                Ok(inner)
            }
            _ => {
                let found = tok.describe();
                Err(err(
                    tok.col,
                    format!("expected a number, 't', 'pi', '(' or a function call, found {found}"),
                ))
            }
        }
    }

    fn identifier(&mut self, tok: Token) -> ParseResult {
        match tok.text.as_str() {
            "t" => return Ok(leaf(Node::T)),
            "pi" => return Ok(leaf(Node::Pi)),
            _ => {}
        }
        let name = tok.text;
        let next = self.peek();
        match (Func::from_name(&name), next.kind == Tok::LParen) {
            (Some(f), true) => self.call(f),
            (Some(_), false) => Err(err(
                next.col,
                format!("function '{name}' must be followed by '(' and its argument"),
            )),
            (None, true) => Err(err(
                tok.col,
                format!(
                    "unknown function '{name}' (expected one of {})",
                    function_list()
                ),
            )),
            (None, false) => Err(err(
                tok.col,
                format!(
                    "unknown identifier '{name}' (expected 't', 'pi', a number or a function call)"
                ),
            )),
        }
    }

    /// A function call; the current token is its `(`.
    fn call(&mut self, f: Func) -> ParseResult {
        let open = self.bump();
        self.enter(open.col)?;
        let arg = self.sum()?;
        self.expect_close(open.col)?;
        self.leave();
        checked(Node::Call(f, Box::new(arg.node)), arg.depth + 1, open.col)
    }

    fn expect_close(&mut self, open_col: usize) -> Result<(), ExprError> {
        let tok = self.bump();
        if tok.kind == Tok::RParen {
            return Ok(());
        }
        Err(err(
            tok.col,
            format!("expected ')' to close '(' opened at column {open_col}"),
        ))
    }

    /// After a complete expression only the end may follow. Operators would have been
    /// consumed, so what is left is a `)` or an operand with no operator before it.
    fn expect_end(&mut self) -> Result<(), ExprError> {
        let tok = self.peek();
        match tok.kind {
            Tok::End => Ok(()),
            Tok::RParen => Err(err(tok.col, "unmatched ')'")),
            _ => {
                let found = tok.describe();
                Err(err(
                    tok.col,
                    format!("unexpected {found} after a complete expression (missing operator? write '2*t', not '2t')"),
                ))
            }
        }
    }
}

fn function_list() -> String {
    Func::ALL
        .iter()
        .map(|f| f.name())
        .collect::<Vec<_>>()
        .join(", ")
}

fn exponent_out_of_range(col: usize) -> ExprError {
    err(
        col,
        format!(
            "exponent is out of range (its magnitude must be at most {})",
            i32::MAX
        ),
    )
}

/// `base^power` in exact integer arithmetic; a negative power is only an integer for ±1.
fn integer_power(base: i64, power: i64, col: usize) -> Result<i64, ExprError> {
    let odd = power % 2 != 0;
    match base {
        1 => Ok(1),
        -1 => Ok(if odd { -1 } else { 1 }),
        0 if power > 0 => Ok(0),
        _ if power == 0 => Ok(1),
        _ if power < 0 => Err(err(
            col,
            format!("exponent {base}^({power}) is not an integer"),
        )),
        _ => u32::try_from(power)
            .ok()
            .and_then(|p| base.checked_pow(p))
            .ok_or_else(|| exponent_out_of_range(col)),
    }
}

// ---------------------------------------------------------------------------------------------
// Symbolic derivative
// ---------------------------------------------------------------------------------------------

fn num(n: u64) -> Node {
    Node::Num(Literal::integer(n))
}

/// An integer constant, as `Neg(Num)` when negative (literals stay unsigned).
fn int_node(n: i64) -> Node {
    let magnitude = num(n.unsigned_abs());
    if n < 0 {
        Node::Neg(Box::new(magnitude))
    } else {
        magnitude
    }
}

fn is_zero(n: &Node) -> bool {
    matches!(n, Node::Num(lit) if lit.is_exactly_zero())
}

fn is_one(n: &Node) -> bool {
    matches!(n, Node::Num(lit) if lit.is_exactly_one())
}

fn neg(a: Node) -> Node {
    match a {
        a if is_zero(&a) => num(0),
        Node::Neg(inner) => *inner,
        a => Node::Neg(Box::new(a)),
    }
}

fn add(a: Node, b: Node) -> Node {
    if is_zero(&a) {
        b
    } else if is_zero(&b) {
        a
    } else {
        Node::Add(Box::new(a), Box::new(b))
    }
}

fn sub(a: Node, b: Node) -> Node {
    if is_zero(&b) {
        a
    } else if is_zero(&a) {
        neg(b)
    } else {
        Node::Sub(Box::new(a), Box::new(b))
    }
}

fn mul(a: Node, b: Node) -> Node {
    if is_zero(&a) || is_zero(&b) {
        num(0)
    } else if is_one(&a) {
        b
    } else if is_one(&b) {
        a
    } else {
        Node::Mul(Box::new(a), Box::new(b))
    }
}

fn div(a: Node, b: Node) -> Node {
    if is_zero(&a) {
        num(0)
    } else if is_one(&b) {
        a
    } else {
        Node::Div(Box::new(a), Box::new(b))
    }
}

fn pow(a: Node, n: i32) -> Node {
    match n {
        0 => num(1),
        1 => a,
        _ => Node::Pow(Box::new(a), n),
    }
}

fn call(f: Func, a: &Node) -> Node {
    Node::Call(f, Box::new(a.clone()))
}

/// `d/dt` by the usual rules, simplified through the constructors above.
fn derivative(node: &Node) -> Node {
    if !node.contains_t() {
        return num(0);
    }
    match node {
        Node::T => num(1),
        Node::Num(_) | Node::Pi => num(0),
        Node::Neg(a) => neg(derivative(a)),
        Node::Add(a, b) => add(derivative(a), derivative(b)),
        Node::Sub(a, b) => sub(derivative(a), derivative(b)),
        Node::Mul(a, b) => add(
            mul(derivative(a), (**b).clone()),
            mul((**a).clone(), derivative(b)),
        ),
        Node::Div(a, b) => quotient_derivative(a, b),
        Node::Pow(a, n) => power_derivative(a, *n),
        Node::Call(f, a) => call_derivative(*f, a),
    }
}

/// `(a/b)' = a'/b` for constant `b`, else `(a'*b - a*b')/b^2`.
fn quotient_derivative(a: &Node, b: &Node) -> Node {
    if !b.contains_t() {
        return div(derivative(a), b.clone());
    }
    let numerator = sub(mul(derivative(a), b.clone()), mul(a.clone(), derivative(b)));
    div(numerator, pow(b.clone(), 2))
}

/// `(a^n)' = n*a^(n-1)*a'`; for `n = i32::MIN` (only reachable from hand-built trees) the
/// factor is written `a^n/a` because `n - 1` does not fit in `i32`.
fn power_derivative(a: &Node, n: i32) -> Node {
    // `n − 1 = i32::MIN` would print as an exponent the parser rejects: use `a^n / a` then.
    let factor = match n.checked_sub(1).filter(|&m| m != i32::MIN) {
        Some(m) => pow(a.clone(), m),
        None => div(pow(a.clone(), n), a.clone()),
    };
    mul(mul(int_node(i64::from(n)), factor), derivative(a))
}

/// Chain rule for the built-in functions.
fn call_derivative(f: Func, a: &Node) -> Node {
    let outer = match f {
        Func::Sin => call(Func::Cos, a),
        Func::Cos => neg(call(Func::Sin, a)),
        Func::Exp => call(Func::Exp, a),
        Func::Abs => call(Func::Sign, a),
        Func::Sqrt => return div(derivative(a), mul(num(2), call(Func::Sqrt, a))),
        Func::Sign => return num(0),
    };
    mul(outer, derivative(a))
}

// ---------------------------------------------------------------------------------------------
// Compiled f64 program
// ---------------------------------------------------------------------------------------------

/// One instruction of the stack machine (`top` is the top of the stack, `a op b` keeps the
/// tree's operand order). Binary operators have variants taking a folded constant operand
/// inline, which shortens the program and the stack traffic.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Const(f64),
    T,
    Neg,
    Powi(i32),
    Call(Func),
    /// Pops `b` (top) and `a`, pushes `a op b`.
    Bin(BinOp),
    /// Pops `a` (top) and `b`, pushes `a op b`; used when the right operand was computed first.
    BinSwapped(BinOp),
    /// `top = top op c`.
    ConstRhs(BinOp, f64),
    /// `top = c op top`.
    ConstLhs(BinOp, f64),
}

/// A compiled expression. `stack` is the Sethi–Ullman register need: at each binary node the
/// operand needing more stack is computed first, so the need is at most `log2(leaves) + 1`,
/// hence at most 64 for any tree that fits in memory and a fixed-size array always suffices.
#[derive(Clone, Debug)]
struct Program {
    ops: Vec<Op>,
    stack: usize,
}

/// A subtree during compilation: either folded to a constant or code with its stack need.
enum Lowered {
    Const(f64),
    Code(Vec<Op>, usize),
}

const SMALL_STACK: usize = 8;
const LARGE_STACK: usize = 64;

impl Program {
    fn compile(root: &Node) -> Program {
        match lower(root) {
            Lowered::Const(c) => Program {
                ops: vec![Op::Const(c)],
                stack: 1,
            },
            Lowered::Code(ops, stack) => Program { ops, stack },
        }
    }

    /// Runs the program on a stack array sized by a const generic (no allocation); `None`
    /// only for a need above 64, which cannot happen but falls back to the tree walk.
    #[inline]
    fn run(&self, t: f64) -> Option<f64> {
        if self.stack <= SMALL_STACK {
            Some(run_ops::<SMALL_STACK>(&self.ops, t))
        } else if self.stack <= LARGE_STACK {
            Some(run_ops::<LARGE_STACK>(&self.ops, t))
        } else {
            None
        }
    }
}

/// The interpreter loop. The top of the stack lives in the local `top` (a register), so
/// unary ops and constant-operand ops never touch memory; `stack[..sp]` holds the values
/// below it (slot 0 receives the meaningless initial `top` on the first push).
#[inline]
fn run_ops<const N: usize>(ops: &[Op], t: f64) -> f64 {
    let mut stack = [0.0f64; N];
    let mut sp = 0;
    let mut top = 0.0f64;
    for op in ops {
        match *op {
            Op::Const(c) => {
                stack[sp] = top;
                sp += 1;
                top = c;
            }
            Op::T => {
                stack[sp] = top;
                sp += 1;
                top = t;
            }
            Op::Neg => top = ExprScalar::neg(&top),
            Op::Powi(n) => top = ExprScalar::powi(&top, n),
            Op::Call(f) => top = apply_func(f, &top),
            Op::Bin(b) => {
                sp -= 1;
                top = apply_bin(b, &stack[sp], &top);
            }
            Op::BinSwapped(b) => {
                sp -= 1;
                top = apply_bin(b, &top, &stack[sp]);
            }
            Op::ConstRhs(b, c) => top = apply_bin(b, &top, &c),
            Op::ConstLhs(b, c) => top = apply_bin(b, &c, &top),
        }
    }
    top
}

/// Compiles a subtree bottom-up, folding `t`-free parts with the very `f64` operations the
/// tree walk would use (so folding never changes a result).
fn lower(node: &Node) -> Lowered {
    if let Some((op, a, b)) = node.as_binary() {
        return lower_binary(op, lower(a), lower(b));
    }
    match node {
        Node::Num(lit) => Lowered::Const(f64::literal(lit)),
        Node::Pi => Lowered::Const(f64::pi()),
        Node::T => Lowered::Code(vec![Op::T], 1),
        Node::Neg(a) => lower_unary(lower(a), Op::Neg, |x| ExprScalar::neg(&x)),
        Node::Pow(a, n) => lower_unary(lower(a), Op::Powi(*n), |x| ExprScalar::powi(&x, *n)),
        Node::Call(f, a) => lower_unary(lower(a), Op::Call(*f), |x| apply_func(*f, &x)),
        Node::Add(..) | Node::Sub(..) | Node::Mul(..) | Node::Div(..) => {
            unreachable!("binary nodes are handled above")
        }
    }
}

fn lower_unary(operand: Lowered, op: Op, fold: impl Fn(f64) -> f64) -> Lowered {
    match operand {
        Lowered::Const(c) => Lowered::Const(fold(c)),
        Lowered::Code(mut ops, stack) => {
            ops.push(op);
            Lowered::Code(ops, stack)
        }
    }
}

fn lower_binary(op: BinOp, a: Lowered, b: Lowered) -> Lowered {
    match (a, b) {
        (Lowered::Const(x), Lowered::Const(y)) => Lowered::Const(apply_bin(op, &x, &y)),
        (Lowered::Code(mut ops, need), Lowered::Const(y)) => {
            ops.push(Op::ConstRhs(op, y));
            Lowered::Code(ops, need)
        }
        (Lowered::Const(x), Lowered::Code(mut ops, need)) => {
            ops.push(Op::ConstLhs(op, x));
            Lowered::Code(ops, need)
        }
        (Lowered::Code(mut a_ops, a_need), Lowered::Code(mut b_ops, b_need)) => {
            if b_need > a_need {
                b_ops.append(&mut a_ops);
                b_ops.push(Op::BinSwapped(op));
                Lowered::Code(b_ops, b_need)
            } else {
                a_ops.append(&mut b_ops);
                a_ops.push(Op::Bin(op));
                Lowered::Code(a_ops, a_need.max(b_need + 1))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Canonical printing
// ---------------------------------------------------------------------------------------------

// Binding strengths; an operand is parenthesised when its own is below the minimum required.
const PREC_SUM: u8 = 1;
const PREC_PRODUCT: u8 = 2;
const PREC_NEG: u8 = 3;
const PREC_POW: u8 = 4;
const PREC_ATOM: u8 = 5;

impl Node {
    fn precedence(&self) -> u8 {
        match self {
            Node::Add(..) | Node::Sub(..) => PREC_SUM,
            Node::Mul(..) | Node::Div(..) => PREC_PRODUCT,
            Node::Neg(_) => PREC_NEG,
            Node::Pow(..) => PREC_POW,
            Node::Num(_) | Node::T | Node::Pi | Node::Call(..) => PREC_ATOM,
        }
    }

    /// Prints with exactly the parentheses needed to parse back to this very tree:
    /// right operands of left-associative operators bind one level tighter, a power's base
    /// must be an atom (`(t^2)^3`, `(-t)^2`). No parentheses beyond those: printed nesting never
    /// exceeds the parsed one, so every printed tree parses back within [`MAX_NESTING`]
    /// (`--t`, `a - -b` are valid input).
    fn write(&self, f: &mut fmt::Formatter<'_>, min: u8) -> fmt::Result {
        let parenthesise = self.precedence() < min;
        if parenthesise {
            f.write_str("(")?;
        }
        match self {
            Node::Num(lit) => f.write_str(&lit.text)?,
            Node::T => f.write_str("t")?,
            Node::Pi => f.write_str("pi")?,
            Node::Neg(a) => {
                f.write_str("-")?;
                a.write(f, PREC_NEG)?;
            }
            Node::Add(a, b) => write_binary(f, a, " + ", b, PREC_SUM)?,
            Node::Sub(a, b) => write_binary(f, a, " - ", b, PREC_SUM)?,
            Node::Mul(a, b) => write_binary(f, a, "*", b, PREC_PRODUCT)?,
            Node::Div(a, b) => write_binary(f, a, "/", b, PREC_PRODUCT)?,
            Node::Pow(a, n) => {
                a.write(f, PREC_ATOM)?;
                if *n < 0 {
                    write!(f, "^({n})")?;
                } else {
                    write!(f, "^{n}")?;
                }
            }
            Node::Call(func, a) => {
                write!(f, "{}(", func.name())?;
                a.write(f, 0)?;
                f.write_str(")")?;
            }
        }
        if parenthesise {
            f.write_str(")")?;
        }
        Ok(())
    }
}

fn write_binary(f: &mut fmt::Formatter<'_>, a: &Node, op: &str, b: &Node, prec: u8) -> fmt::Result {
    a.write(f, prec)?;
    f.write_str(op)?;
    b.write(f, prec + 1)
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, 0)
    }
}

/// Canonical printing of the tree (not the original source text, see [`Expr::source`]).
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.root.fmt(f)
    }
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::f64::consts::PI;

    fn p(src: &str) -> Expr {
        parse(src).unwrap_or_else(|e| panic!("{src:?} should parse: {e}"))
    }

    fn printed(src: &str) -> String {
        p(src).to_string()
    }

    fn lit(text: &str) -> Node {
        Node::Num(Literal::new(text).expect("test literal"))
    }

    fn bx(n: Node) -> Box<Node> {
        Box::new(n)
    }

    /// Bitwise equality that also treats any two NaNs as equal.
    fn same(a: f64, b: f64) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    #[test]
    fn precedence_and_associativity() {
        let cases = [
            ("-t^2", "-t^2"),
            ("(-t)^2", "(-t)^2"),
            ("1 - 2 - 3", "1 - 2 - 3"),
            ("1 - (2 - 3)", "1 - (2 - 3)"),
            ("2*3 + 4*5", "2*3 + 4*5"),
            ("(2 + 3)*4", "(2 + 3)*4"),
            ("t/2/4", "t/2/4"),
            ("t/(2/4)", "t/(2/4)"),
            ("2^3^2", "2^9"),
            ("t^-2", "t^(-2)"),
            ("(t+1)^(-2)", "(t + 1)^(-2)"),
            ("t^-2^2", "t^(-4)"),
            ("t^(-2)^2", "t^4"),
            ("t^+3", "t^3"),
            ("(t^2)^3", "(t^2)^3"),
            ("2*-t", "2*-t"),
            ("- -t", "--t"),
            ("+t", "t"),
            ("-2*t", "-2*t"),
            ("-(2*t)", "-(2*t)"),
            ("t - -1", "t - -1"),
            ("  2 *\tsin( t )\n", "2*sin(t)"),
            ("sin(t)^2", "sin(t)^2"),
            (".5 + 3. + 1E+2 + 1e-3", ".5 + 3. + 1E+2 + 1e-3"),
        ];
        for (src, want) in cases {
            assert_eq!(printed(src), want, "printing of {src:?}");
        }
        assert_eq!(p("-t^2").eval(3.0), -9.0);
        assert_eq!(p("-2^2").eval(0.0), -4.0);
        assert_eq!(p("2^3^2").eval(0.0), 512.0);
        assert_eq!(p("t/2/4").eval(1.0), 0.125);
        assert_eq!(p("1 - 2 - 3").eval(0.0), -4.0);
        assert_eq!(p("t^-2").eval(2.0), 0.25);
        assert_eq!(p("(t+1)^(-2)").eval(1.0), 0.25);
        assert_eq!(p("-t^2").root(), &Node::Neg(bx(Node::Pow(bx(Node::T), 2))));
    }

    #[test]
    fn literals_keep_their_text() {
        for text in ["2", "0.3712", "1e-3", ".5", "3.", "1E+2", "007", "0.1"] {
            let expr = p(text);
            match expr.root() {
                Node::Num(lit) => {
                    assert_eq!(lit.text, text);
                    assert_eq!(
                        lit.value.to_bits(),
                        text.parse::<f64>().expect("std parses").to_bits()
                    );
                }
                other => panic!("{text:?} parsed as {other:?}"),
            }
        }
        // Underflow is fine (the exact text is kept); overflow is not.
        assert_eq!(p("1e-400").eval(0.0), 0.0);
        assert!(!Literal::new("1e-400").expect("valid").is_exactly_zero());
    }

    #[test]
    fn literal_exactness() {
        for zero in ["0", "0.0", "000", ".0", "0e5", "0.000e-1100"] {
            assert!(Literal::new(zero).expect(zero).is_exactly_zero(), "{zero}");
        }
        // The parser refuses such an exponent (below); the normaliser still saturates on it,
        // for literals built by hand.
        assert_eq!(
            normalized_decimal("0.000e-99999999999999999999").map(|(d, _)| d),
            Some(String::new())
        );
        for one in ["1", "1.0", "01.000", "10e-1", "0.1e1", "100E-2"] {
            assert!(Literal::new(one).expect(one).is_exactly_one(), "{one}");
        }
        for other in ["2", "0.1", "1.0000000000000000000001", "1e-400", "11e-1"] {
            let l = Literal::new(other).expect(other);
            assert!(!l.is_exactly_one() && !l.is_exactly_zero(), "{other}");
        }
        assert!(Literal::new("-1").is_err());
        assert!(Literal::new("1 ").is_err());
        assert!(Literal::new("").is_err());
        assert_eq!(
            Literal::integer(7),
            Literal {
                text: "7".into(),
                value: 7.0
            }
        );
    }

    /// A literal inside an expression passes the same gate as a plain number in a system file
    /// (`exact::is_plain_decimal`, exponent within ±1100), refused with the same reason.
    #[test]
    fn literals_obey_the_exact_readers_gate() {
        let reason = |text: &str| format!("{} (the number '{text}')", exact::gate_reason());
        assert!(reason("1").contains("exponent is beyond ±1100"));
        let refused = [
            ("1e-99999", 1, "1e-99999"),
            ("2e5000*cos(t)", 1, "2e5000"),
            ("t + 3*1e1101", 7, "1e1101"),
            ("sin(.5E-1101)", 5, ".5E-1101"),
            ("1e+99999999999999999999", 1, "1e+99999999999999999999"),
            ("t^1e99999", 3, "1e99999"),
        ];
        for (src, column, number) in refused {
            let e = parse(src).expect_err(src);
            assert_eq!(
                e,
                ExprError {
                    column,
                    message: reason(number)
                },
                "for {src:?}"
            );
        }
        assert!(Literal::new("1e-99999").is_err());
        // At the bound itself a literal is read, and exactly.
        let large = format!("0.{}1E+1100", "0".repeat(800)); // 1e300
        for text in ["1e-1100", "0.5e-1100", &large, "12.5e-3"] {
            let lit = Literal::new(text).expect(text);
            assert_eq!(lit.text, text);
            assert!(exact::rational(&lit.text).is_some(), "{text}");
        }
        assert_eq!(p("1e-1100").eval(0.0), 0.0);
        // Past the bound but finite as a double: still refused (1e999 is infinite, its own error).
        assert_eq!(
            parse("1e-1101").expect_err("1e-1101").message,
            reason("1e-1101")
        );
        assert_eq!(
            parse("1e999").expect_err("1e999").message,
            "number '1e999' is not finite"
        );
    }

    #[test]
    fn errors_name_column_and_cause() {
        let fns = "sin, cos, exp, abs, sqrt, sign";
        let cases: Vec<(&str, usize, String)> = vec![
            ("", 1, "empty expression".into()),
            ("   ", 1, "empty expression".into()),
            ("2*t + tan(t)", 7, format!("unknown function 'tan' (expected one of {fns})")),
            ("2 + x", 5, "unknown identifier 'x' (expected 't', 'pi', a number or a function call)".into()),
            ("Sin(t)", 1, format!("unknown function 'Sin' (expected one of {fns})")),
            ("2*(t+sin(t)", 12, "expected ')' to close '(' opened at column 3".into()),
            ("cos(3*(t+1)", 12, "expected ')' to close '(' opened at column 4".into()),
            ("(t 2)", 4, "expected ')' to close '(' opened at column 1".into()),
            ("t^x", 3, "exponent of '^' must be an integer literal (found 'x')".into()),
            ("t^2.5", 3, "exponent of '^' must be an integer literal (found '2.5')".into()),
            ("t^2.0", 3, "exponent of '^' must be an integer literal (found '2.0')".into()),
            ("t^(1+1)", 5, "exponent of '^' must be an integer literal (found '+' inside the exponent)".into()),
            ("t^(2", 5, "expected ')' to close '(' opened at column 3".into()),
            ("t^", 3, "exponent of '^' must be an integer literal (found end of input)".into()),
            ("t^t", 3, "exponent of '^' must be an integer literal (found 't')".into()),
            ("t^2^-1", 4, "exponent 2^(-1) is not an integer".into()),
            ("t^2147483648", 3, "exponent is out of range (its magnitude must be at most 2147483647)".into()),
            ("t^-2147483648", 3, "exponent is out of range (its magnitude must be at most 2147483647)".into()),
            ("t^99999999999999999999", 3, "exponent is out of range (its magnitude must be at most 2147483647)".into()),
            ("t^2^40", 3, "exponent is out of range (its magnitude must be at most 2147483647)".into()),
            ("1 + 1e999", 5, "number '1e999' is not finite".into()),
            ("2**3", 3, "expected a number, 't', 'pi', '(' or a function call, found '*'".into()),
            ("2*", 3, "expected a number, 't', 'pi', '(' or a function call, found end of input".into()),
            ("()", 2, "expected a number, 't', 'pi', '(' or a function call, found ')'".into()),
            ("sin()", 5, "expected a number, 't', 'pi', '(' or a function call, found ')'".into()),
            ("t)", 2, "unmatched ')'".into()),
            ("2 3", 3, "unexpected '3' after a complete expression (missing operator? write '2*t', not '2t')".into()),
            ("2t", 2, "unexpected 't' after a complete expression (missing operator? write '2*t', not '2t')".into()),
            ("t(2)", 2, "unexpected '(' after a complete expression (missing operator? write '2*t', not '2t')".into()),
            ("sin t", 5, "function 'sin' must be followed by '(' and its argument".into()),
            ("sqrt", 5, "function 'sqrt' must be followed by '(' and its argument".into()),
            ("t # 2", 3, "unexpected character '#'".into()),
            ("sin(t, 2)", 6, "unexpected character ','".into()),
            ("πt", 1, "unexpected character 'π'".into()),
            ("é + 1e999", 1, "unexpected character 'é'".into()),
            ("t + .", 5, "malformed number '.' (a number needs at least one digit)".into()),
            ("t + .e5", 5, "malformed number '.e5' (a number needs at least one digit)".into()),
            ("NaN", 1, "unknown identifier 'NaN' (expected 't', 'pi', a number or a function call)".into()),
            ("inf", 1, "unknown identifier 'inf' (expected 't', 'pi', a number or a function call)".into()),
        ];
        for (src, column, message) in cases {
            let got = parse(src).map(|e| e.to_string()).expect_err(src);
            assert_eq!(
                got,
                ExprError {
                    column,
                    message: message.clone()
                },
                "for {src:?}"
            );
        }
        // Columns count characters, not bytes.
        assert_eq!(parse("é").expect_err("é").column, 1);
        assert_eq!(parse("(é)").expect_err("é").column, 2);
        assert_eq!(
            parse("t + tan(t)").expect_err("tan").to_string(),
            format!("at column 5: unknown function 'tan' (expected one of {fns})")
        );
    }

    #[test]
    fn hostile_inputs_fail_cleanly() {
        let n = 100_000;
        let deep_parens = format!("{}t{}", "(".repeat(n), ")".repeat(n));
        let deep_calls = format!("{}t{}", "sin(".repeat(n), ")".repeat(n));
        let long_sum = format!("{}t", "t+".repeat(n));
        let long_product = format!("{}t", "t*".repeat(n));
        let minus_run = format!("{}t", "-".repeat(n));
        let exponent_chain = format!("t{}", "^2".repeat(n));
        let exponent_parens = format!("t^{}2{}", "(".repeat(n), ")".repeat(n));
        let exponent_signs = format!("t^{}2", "-".repeat(n));
        for src in [
            &deep_parens,
            &deep_calls,
            &long_sum,
            &long_product,
            &minus_run,
            &exponent_chain,
            &exponent_parens,
        ] {
            let e = parse(src).expect_err("too deep");
            assert!(e.message.contains("deep"), "{}", e.message);
        }
        assert_eq!(p(&exponent_signs).to_string(), "t^2"); // an even number of signs
        assert_eq!(p(&format!("{}t", "+".repeat(n))).to_string(), "t");
    }

    #[test]
    fn limits_are_usable_at_the_edge() {
        // Exactly at the limits, every pass (print, derivative, compile, generic eval) works.
        let parens = format!("{}t{}", "(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING));
        assert_eq!(p(&parens).eval(2.0), 2.0);
        let calls = format!(
            "{}t{}",
            "sin(".repeat(MAX_NESTING - 1),
            ")".repeat(MAX_NESTING - 1)
        );
        let e = p(&calls);
        assert!(same(e.eval(0.5), e.eval_generic(&0.5)));
        let d = e.derivative();
        assert!(same(p(&d.to_string()).eval(0.5), d.eval(0.5)));
        let chain = format!("{}t", "t*".repeat(MAX_DEPTH - 1));
        let e = p(&chain);
        assert_eq!(e.eval(1.0), 1.0);
        assert_eq!(e.derivative().eval(1.0), MAX_DEPTH as f64);
        assert!(parse(&format!("{}t", "t*".repeat(MAX_DEPTH))).is_err());
    }

    #[test]
    fn paper_expressions() {
        let e = p("2*cos(10*pi*t)");
        assert!(!e.is_constant());
        for t in [0.0, 0.1, 0.25, 1.0, 3.7] {
            assert_eq!(e.eval(t).to_bits(), (2.0 * (10.0 * PI * t).cos()).to_bits());
        }
        assert!((e.eval(0.1) + 2.0).abs() < 1e-15);
        let e = p("abs(2*sin(0.3712*t + 4.1234))");
        for t in [0.0, 1.5, -2.0] {
            assert_eq!(
                e.eval(t).to_bits(),
                (2.0 * (0.3712 * t + 4.1234).sin()).abs().to_bits()
            );
        }
        let e = p("-0.5 + t^2/3");
        assert_eq!(e.eval(3.0), 2.5);
        assert_eq!(e.source(), "-0.5 + t^2/3");
        assert!(p("2*pi + exp(1) - sqrt(2)").is_constant());
        assert!(!p("0*t").is_constant());
    }

    #[test]
    fn ieee_results_pass_through() {
        assert_eq!(p("1/t").eval(0.0), f64::INFINITY);
        assert!(p("sqrt(t)").eval(-1.0).is_nan());
        assert!(p("t - t").eval(f64::INFINITY).is_nan());
    }

    #[test]
    fn sign_of_f64() {
        assert_eq!(ExprScalar::sign(&3.0), 1.0);
        assert_eq!(ExprScalar::sign(&-0.1), -1.0);
        assert_eq!(ExprScalar::sign(&0.0), 0.0);
        assert_eq!(ExprScalar::sign(&-0.0), 0.0);
        assert!(ExprScalar::sign(&f64::NAN).is_nan());
        assert_eq!(p("sign(t)").eval(-2.0), -1.0);
    }

    #[test]
    fn derivatives_are_simplified() {
        let cases = [
            ("3", "0"),
            ("pi*2", "0"),
            ("t", "1"),
            ("-t", "-1"),
            ("t^2", "2*t"),
            ("t^-2", "-2*t^(-3)"),
            ("t^0", "0"),
            ("2*t + 1", "2"),
            ("t*t", "t + t"),
            ("sin(t)", "cos(t)"),
            ("cos(t)", "-sin(t)"),
            ("exp(2*t)", "exp(2*t)*2"),
            ("abs(t)", "sign(t)"),
            ("sign(t)", "0"),
            ("sqrt(t)", "1/(2*sqrt(t))"),
            ("t/3", "1/3"),
            ("1/t", "-1/t^2"),
            ("t/(t+1)", "(t + 1 - t)/(t + 1)^2"),
            ("2*cos(10*pi*t)", "2*(-sin(10*pi*t)*(10*pi))"),
        ];
        for (src, want) in cases {
            assert_eq!(p(src).derivative().to_string(), want, "d/dt {src}");
        }
        let d = p("2*cos(10*pi*t)").derivative();
        assert!((d.eval(0.05) + 20.0 * PI).abs() < 1e-12);
        assert_eq!(d.source(), "2*(-sin(10*pi*t)*(10*pi))");
        // Hand-built extreme exponent: no overflow in n - 1.
        let e = Expr::from_node(Node::Pow(bx(Node::T), i32::MIN));
        assert_eq!(
            e.derivative().to_string(),
            "-2147483648*(t^(-2147483648)/t)"
        );
    }

    #[test]
    fn constants_are_folded_in_the_program() {
        assert_eq!(p("2*cos(10*pi*t)").program.ops.len(), 4);
        assert_eq!(
            p("2*pi + exp(1)").program.ops,
            vec![Op::Const(2.0 * PI + 1f64.exp())]
        );
        // Sethi–Ullman ordering keeps the stack small even for a right-leaning chain.
        let right = format!("{}t{}", "t*(".repeat(100), ")".repeat(100));
        assert_eq!(p(&right).program.stack, 2);
    }

    #[test]
    #[ignore = "timing; run with --ignored --nocapture"]
    fn timing_eval() {
        use std::hint::black_box;
        use std::time::Instant;
        let e = p("2*cos(10*pi*t)");
        /// Best of five runs of 5M calls, in ns per call (the minimum filters out noise from
        /// other processes).
        fn time(f: impl Fn(f64) -> f64) -> f64 {
            let n = 5_000_000u32;
            let run = || {
                let start = Instant::now();
                let mut acc = 0.0;
                for i in 0..n {
                    acc += f(black_box(f64::from(i) * 1e-7));
                }
                black_box(acc);
                start.elapsed().as_secs_f64() * 1e9 / f64::from(n)
            };
            (0..5).map(|_| run()).fold(f64::INFINITY, f64::min)
        }
        let compiled = time(|t| e.eval(t));
        let tree = time(|t| e.eval_generic(&t));
        let native = time(|t| 2.0 * (10.0 * PI * t).cos());
        println!(
            "2*cos(10*pi*t): eval {compiled:.2} ns, tree walk {tree:.2} ns, native {native:.2} ns"
        );
    }

    // ---- property tests ----

    fn arb_literal() -> impl Strategy<Value = Node> {
        let texts = [
            "0", "1", "2", "0.5", "3.25", "1e-3", ".5", "3.", "10", "0.3712", "1.0", "7E1",
        ];
        prop::sample::select(texts.to_vec()).prop_map(lit)
    }

    fn arb_node() -> impl Strategy<Value = Node> {
        let leaf = prop_oneof![Just(Node::T), Just(Node::T), Just(Node::Pi), arb_literal()];
        leaf.prop_recursive(6, 48, 2, |inner| {
            prop_oneof![
                inner.clone().prop_map(|a| Node::Neg(bx(a))),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| Node::Add(bx(a), bx(b))),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| Node::Sub(bx(a), bx(b))),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| Node::Mul(bx(a), bx(b))),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| Node::Div(bx(a), bx(b))),
                (inner.clone(), -3i32..=4).prop_map(|(a, n)| Node::Pow(bx(a), n)),
                (prop::sample::select(Func::ALL.to_vec()), inner)
                    .prop_map(|(f, a)| Node::Call(f, bx(a))),
            ]
        })
    }

    fn arb_t() -> impl Strategy<Value = f64> {
        prop_oneof![
            -3.0..3.0f64,
            Just(0.0),
            Just(-0.0),
            Just(1.0),
            Just(1e300),
            Just(f64::NAN)
        ]
    }

    /// Token soup: far more likely than random text to reach deep parser states.
    fn arb_source() -> impl Strategy<Value = String> {
        let pieces = [
            "t", "pi", "2", "0.5", ".", "1e", "1e999", "e", "+", "-", "*", "/", "^", "(", ")", " ",
            "sin", "cos", "exp", "abs", "sqrt", "sign", "tan", "x", "3.", "-2", ",", "é",
        ];
        prop::collection::vec(prop::sample::select(pieces.to_vec()), 0..24).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn print_parse_round_trip(node in arb_node(), t in arb_t()) {
            let expr = Expr::from_node(node.clone());
            let reparsed = parse(&expr.to_string()).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(reparsed.root(), &node);
            prop_assert!(same(reparsed.eval(t), expr.eval(t)));
        }

        #[test]
        fn compiled_matches_tree_walk_bitwise(node in arb_node(), t in arb_t()) {
            let expr = Expr::from_node(node);
            prop_assert!(same(expr.eval(t), expr.eval_generic(&t)), "{}", expr);
            let d = expr.derivative();
            prop_assert!(same(d.eval(t), d.eval_generic(&t)), "{}", d);
        }

        #[test]
        fn derivative_matches_finite_differences(node in arb_node(), t in -2.0..2.0f64) {
            let expr = Expr::from_node(node);
            let d = expr.derivative();
            // Derivative trees print and parse back to themselves as well.
            let reparsed = parse(&d.to_string()).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(reparsed.root(), d.root());
            let exact = d.eval(t);
            if let Some(estimate) = richardson(&expr, t) {
                if exact.is_finite() && exact.abs() < 1e4 {
                    let tol = 1e-5 * (1.0 + exact.abs());
                    prop_assert!((exact - estimate).abs() <= tol,
                        "d/dt {} at {}: symbolic {} vs numeric {}", expr, t, exact, estimate);
                }
            }
        }

        /// A lone number parses exactly when it passes the exact reader's gate and is finite
        /// as a double; then its text is kept and the exact reader reads it.
        #[test]
        fn literal_gate_agrees_with_exact_reader(
            text in "[0-9]{0,3}(\\.[0-9]{0,3})?([eE][-+]?(0|1099|1100|1101|[0-9]{1,5}|99999999999999999999))?"
        ) {
            let finite = text.parse::<f64>().is_ok_and(f64::is_finite);
            let expected = exact::is_plain_decimal(&text) && finite;
            match parse(&text) {
                Ok(e) => {
                    prop_assert!(expected, "{:?} parsed", text);
                    let Node::Num(lit) = e.root() else {
                        return Err(TestCaseError::fail(format!("{text:?} is not a literal")));
                    };
                    prop_assert_eq!(&lit.text, &text);
                    prop_assert!(exact::rational(&lit.text).is_some());
                }
                Err(err) => prop_assert!(!expected, "{:?} refused: {}", text, err),
            }
        }

        #[test]
        fn parse_never_panics_on_text(src in "\\PC{0,40}") {
            check_total(&src)?;
        }

        #[test]
        fn parse_never_panics_on_token_soup(src in arb_source()) {
            check_total(&src)?;
        }
    }

    /// Guards against a vacuous finite-difference property: most random trees must be smooth
    /// enough at a random point for the comparison to actually run.
    #[test]
    fn finite_difference_check_is_not_vacuous() {
        use proptest::strategy::ValueTree;
        use proptest::test_runner::TestRunner;
        let mut runner = TestRunner::deterministic();
        let (mut checked, total) = (0, 400);
        for i in 0..total {
            let node = arb_node().new_tree(&mut runner).expect("tree").current();
            let expr = Expr::from_node(node);
            let t = -2.0 + 4.0 * f64::from(i) / f64::from(total);
            let exact = expr.derivative().eval(t);
            if let Some(estimate) = richardson(&expr, t) {
                if exact.is_finite() && exact.abs() < 1e4 {
                    assert!(
                        (exact - estimate).abs() <= 1e-5 * (1.0 + exact.abs()),
                        "{expr} at {t}"
                    );
                    checked += 1;
                }
            }
        }
        eprintln!("finite differences checked {checked} of {total}");
        assert!(
            checked * 2 > total,
            "only {checked} of {total} trees were checked"
        );
    }

    /// Central differences at steps h and h/2 combined by Richardson extrapolation; `None`
    /// where the function is not smooth and tame enough for the estimate to be trusted
    /// (poles, kinks, jumps, overflow).
    fn richardson(expr: &Expr, t: f64) -> Option<f64> {
        let h = 1e-3;
        let central = |h: f64| (expr.eval(t + h) - expr.eval(t - h)) / (2.0 * h);
        let values = [-h, -h / 2.0, -h / 4.0, 0.0, h / 4.0, h / 2.0, h].map(|s| expr.eval(t + s));
        if values.iter().any(|v| !v.is_finite() || v.abs() > 1e3) {
            return None;
        }
        let (d1, d2, d4) = (central(h), central(h / 2.0), central(h / 4.0));
        let r1 = (4.0 * d2 - d1) / 3.0;
        let r2 = (4.0 * d4 - d2) / 3.0;
        let consistent = (r1 - r2).abs() <= 1e-7 * (1.0 + r2.abs())
            && (d1 - d4).abs() <= 1e-2 * (1.0 + d4.abs());
        consistent.then_some(r2)
    }

    /// Parsing any string either fails with an in-range column or yields an expression whose
    /// canonical printing parses back to the same tree.
    fn check_total(src: &str) -> Result<(), TestCaseError> {
        match parse(src) {
            Err(e) => prop_assert!(
                e.column >= 1 && e.column <= src.chars().count() + 1,
                "{:?}: {}",
                src,
                e
            ),
            Ok(expr) => {
                let again =
                    parse(&expr.to_string()).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(again.root(), expr.root());
                prop_assert!(same(again.eval(0.7), expr.eval(0.7)));
                let _ = expr.derivative().eval(0.7);
            }
        }
        Ok(())
    }
}
