//! attncert: a theorem checker with certified numerics for the asymptotic behaviour of attention
//! in transformers (Rodríguez Abella, Silvestre, Tabuada: *The Asymptotic Behavior of Attention in
//! Transformers*). See `ARCHITECTURE.md` for the module map and where the trust line runs.

pub mod campaign;
pub mod certificate;
pub mod certify;
pub mod error;
pub mod hypothesis;
pub mod import;
pub mod model;
pub mod numeric;
pub mod plot;
pub mod report;
pub mod simulate;
pub mod system;
pub mod theorem;

pub use error::{Error, InputError, Result};
