//! `expr::parse` on arbitrary text. For every expression that parses:
//! * `eval` (the compiled program) equals `eval_generic::<f64>` (the tree walk) bit for bit;
//! * the canonical printing parses back to the same tree with bit-identical values;
//! * the derivative can be built, printed and evaluated; its printing parses back to the same
//!   tree unless it exceeds the documented depth/nesting limits (a derivative may be ~3x deeper).
#![no_main]

use attncert::system::expr::{parse, Expr};
use libfuzzer_sys::fuzz_target;

const TIMES: [f64; 8] = [0.0, -0.0, 0.5, 1.0, -1.25, 3.0e10, 1.0e-300, std::f64::consts::PI];

fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

fn check_eval(e: &Expr, what: &str, src: &str) {
    for t in TIMES {
        let (fast, walk) = (e.eval(t), e.eval_generic(&t));
        assert!(same(fast, walk), "{what}: eval({t:e}) = {fast:e} but eval_generic = {walk:e}\nsource: {src:?}");
    }
}

fn check_reparse(e: &Expr, printed: &str, what: &str, src: &str) {
    let back = parse(printed).unwrap_or_else(|err| panic!("{what}: printing {printed:?} does not parse back: {err}\nsource: {src:?}"));
    assert_eq!(back.root(), e.root(), "{what}: printing {printed:?} parses to another tree\nsource: {src:?}");
    for t in TIMES {
        let (a, b) = (e.eval(t), back.eval(t));
        assert!(same(a, b), "{what}: at t = {t:e}: {a:e} before printing, {b:e} after\nsource: {src:?}, printed: {printed:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else { return };
    let Ok(e) = parse(src) else { return };
    check_eval(&e, "expression", src);
    let printed = e.to_string();
    check_reparse(&e, &printed, "expression", src);

    let d = e.derivative();
    check_eval(&d, "derivative", src);
    let dprinted = d.to_string();
    match parse(&dprinted) {
        Ok(_) => check_reparse(&d, &dprinted, "derivative", src),
        Err(err) if err.message.contains("too deep") || err.message.contains("nested too deeply") => {}
        Err(err) => panic!("derivative: printing {dprinted:?} does not parse back: {err}\nsource: {src:?}"),
    }
});
