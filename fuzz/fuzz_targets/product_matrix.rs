//! The product matrix form `{ product = [A, B], scale = … }` (inline factors) as the `P` of a
//! fixed three-token system: no panic; for an accepted product, the interval enclosure of `A·B`
//! contains the exact rational product entry by entry.
#![no_main]

use std::path::Path;

use attncert::system::doc::parse_toml;
use attncert::system::{MatrixFn, System};
use libfuzzer_sys::fuzz_target;
use rug::Rational;

fuzz_target!(|data: &[u8]| {
    let Ok(p) = std::str::from_utf8(data) else { return };
    if p.contains('\n') {
        return;
    }
    let text = format!("tokens = 3\ndim = 3\n[[heads]]\nP = {p}\n[initial]\ntokens = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]\n");
    let path = Path::new("fuzz.toml");
    let Ok(sys) = parse_toml(path, &text).and_then(|doc| System::from_value(path, &doc)) else { return };
    let m = match &sys.heads[0].p {
        MatrixFn::Product(m) => m,
        MatrixFn::ScalarTimes { times, .. } => match times.as_ref() {
            MatrixFn::Product(m) => m,
            _ => return,
        },
        _ => return,
    };
    let Some(exact) = m.exact() else { return };
    for (n, iv) in m.enclosure().iter().enumerate() {
        let (i, j) = (n / 3, n % 3);
        if iv.is_common_interval() {
            let lo = Rational::from_f64(iv.inf()).unwrap();
            let hi = Rational::from_f64(iv.sup()).unwrap();
            assert!(lo <= exact[i][j] && exact[i][j] <= hi, "entry [{i}][{j}] not enclosed");
        }
    }
});
