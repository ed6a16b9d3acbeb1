//! `system::tensor::parse` and `tensor_f64` (the safetensors reader of side files and of
//! `attncert import`) on arbitrary bytes: no panic, hang or huge allocation; every tensor it
//! accepts has as many finite values as its shape says.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(st) = attncert::system::tensor::parse(data) else { return };
    for name in st.names() {
        if let Ok((shape, values)) = attncert::system::tensor::tensor_f64(&st, name) {
            assert_eq!(shape.iter().product::<usize>(), values.len());
            assert!(values.iter().all(|x| x.is_finite()));
        }
    }
});
