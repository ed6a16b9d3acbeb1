//! Red-team 3 (literals after the expression-literal gate): regressions and known problems.

mod common;


use attncert::numeric::{exact, interval};
use rug::Rational;

/// A positive literal whose double underflows to 0 is refused with that reason, not as
/// "must be positive" (its exact value is positive).
#[test]
fn underflowing_positive_literals_say_why() {
    let base = |p: &str, init: &str| {
        format!("tokens = 2\ndim = 2\n[[heads]]\nP = {p}\nU = \"identity\"\n[initial]\n{init}\n")
    };
    let e = common::system_error(&base(
        "{ layers = [\"identity\", \"zero\"], layer_time = 1e-400 }",
        "tokens = [[1, 0], [0, 1]]",
    ));
    assert!(e.contains("heads[0].P.layer_time") && e.contains("underflows to 0"), "{e}");
    let e = common::system_error(&base("\"identity\"", "random = { seed = 1, law = \"uniform-box\", half_width = 1e-400 }"));
    assert!(e.contains("initial.random.half_width") && e.contains("underflows to 0"), "{e}");
    // A literal that is zero or negative keeps the plain reason.
    let e = common::system_error(&base(
        "{ layers = [\"identity\"], layer_time = -0.0 }",
        "tokens = [[1, 0], [0, 1]]",
    ));
    assert!(e.contains("must be positive") && !e.contains("underflows"), "{e}");
}

/// `x` with `k` decimal digits, and `x + 10^-(k+1)`: a near-tie no double separates.
fn near_tie(k: usize) -> (Rational, Rational) {
    let digits: String = (0..k).map(|i| char::from(b'1' + (i % 9) as u8)).collect();
    let x = exact::rational(&format!("0.{digits}")).unwrap();
    let y = exact::rational(&format!("0.{digits}1")).unwrap();
    (x, y)
}

/// Was a hang (red team 3): the exact Sturm isolation of `value-simple-top-eigenvalue`
/// (`interval::top_eigenvalue_exact`, d ≤ 12) took minutes on a 5 KB system file, a diagonal
/// `U` whose two top entries are 1000-digit decimals differing in the last digit (`check`:
/// d = 4: 4 s, d = 8: 48 s, d = 12: over 120 s). The isolation now stops after `2^21 / bits`
/// bisections, between 200 and 4000 (200 here: gaps of 2^-200 of the Gershgorin width), and
/// answers undecided with that reason.
#[test]
fn exact_top_eigenvalue_on_long_near_ties_is_bounded() {
    let d = 8;
    let (x, y) = near_tie(1000);
    let a: Vec<Vec<Rational>> = (0..d)
        .map(|i| {
            (0..d)
                .map(|j| match (i == j, i) {
                    (false, _) => Rational::new(),
                    (true, 0) => x.clone(),
                    (true, 1) => y.clone(),
                    (true, _) => Rational::from((i as i64, 100)),
                })
                .collect()
        })
        .collect();
    match interval::top_eigenvalue_exact(&a) {
        interval::EigenResult::Undecided { reason } => assert!(reason.contains("200 bisections"), "{reason}"),
        other => panic!("expected undecided at the bisection budget, found {other:?}"),
    }
}

/// Was slow (red team 3): the exact LDLᵀ (`exact::positive_definite`, d ≤ 40; used for the
/// metric and `key-query-positive-definite`) of a 40×40 matrix of 1000-digit decimals took
/// ~45 s per call (`check` of a 3 MB file: 114 s). Such a matrix is now past the exact
/// method's size budget, and the callers' interval LDLᵀ decides it.
#[test]
fn exact_ldlt_on_long_literals_is_bounded() {
    let d = 40;
    let digits = |i: usize, j: usize| -> String { (0..1000).map(|k| char::from(b'0' + ((i * 7 + j * 13 + k * 31) % 10) as u8)).collect() };
    let a: Vec<Vec<Rational>> = (0..d)
        .map(|i| {
            (0..d)
                .map(|j| {
                    let (p, q) = (i.min(j), i.max(j));
                    let whole = if i == j { d } else { 0 };
                    exact::rational(&format!("{whole}.{}", digits(p, q))).unwrap()
                })
                .collect()
        })
        .collect();
    assert!(exact::total_bits(&a) > exact::LDLT_BITS_BUDGET);
    let boxed: Vec<Vec<inari::Interval>> = a.iter().map(|r| r.iter().map(interval::enclose_rational).collect()).collect();
    assert!(matches!(interval::positive_definite(&boxed), interval::PdResult::Holds { .. }));
}

/// The bisection cap leaves small matrices their deep search: a top gap of 1e-70 between
/// entries of a few digits (about 240 bisections) is still decided exactly.
#[test]
fn exact_top_eigenvalue_decides_deep_gaps_of_short_entries() {
    let one = exact::rational("1").unwrap();
    let above = exact::rational("1.0000000000000000000000000000000000000000000000000000000000000000000001").unwrap();
    let half = exact::rational("0.5").unwrap();
    let z = Rational::new;
    let a = vec![vec![above, z(), z()], vec![z(), one, z()], vec![z(), z(), half]];
    assert!(matches!(interval::top_eigenvalue_exact(&a), interval::EigenResult::Holds { .. }));
}
