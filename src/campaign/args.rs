//! The campaign's command-line values that clap does not parse itself: ranges (`2..6`) and
//! shards (`3/16`). Kept in the library so the fuzz target can reach them.

use crate::error::{Error, Result};

/// `a..b` (inclusive) or a single number `a` (`a..a`); `default` when absent.
pub fn parse_range(flag: &str, text: Option<&str>, default: (usize, usize)) -> Result<(usize, usize)> {
    let Some(text) = text else { return Ok(default) };
    let bad = || Error::Usage(format!("{flag} {text}: expected a range like 2..6 or a number"));
    let (a, b) = text.split_once("..").unwrap_or((text, text));
    Ok((a.trim().parse::<usize>().map_err(|_| bad())?, b.trim().parse::<usize>().map_err(|_| bad())?))
}

/// `a..b` of positive reals (the range of `--tau-scan`); checked further by `Options::validate`.
pub fn parse_f64_range(flag: &str, text: &str) -> Result<(f64, f64)> {
    let bad = || Error::Usage(format!("{flag} {text}: expected a range like 0.05..5"));
    let (a, b) = text.split_once("..").ok_or_else(bad)?;
    Ok((a.trim().parse().map_err(|_| bad())?, b.trim().parse().map_err(|_| bad())?))
}

/// `k/N`; `Options::validate` checks `0 ≤ k < N`.
pub fn parse_shard(text: &str) -> Result<(u64, u64)> {
    let bad = || Error::Usage(format!("--shard {text}: expected k/N with 0 ≤ k < N"));
    let (k, n) = text.split_once('/').ok_or_else(bad)?;
    Ok((k.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_shards() {
        assert_eq!(parse_range("--tokens", Some("2..6"), (1, 1)).unwrap(), (2, 6));
        assert_eq!(parse_range("--tokens", Some("3"), (1, 1)).unwrap(), (3, 3));
        assert_eq!(parse_range("--tokens", None, (1, 4)).unwrap(), (1, 4));
        assert!(parse_range("--tokens", Some("2..x"), (1, 1)).unwrap_err().to_string().contains("--tokens 2..x"));
        assert_eq!(parse_shard("3/16").unwrap(), (3, 16));
        assert!(parse_shard("3").is_err());
        assert_eq!(parse_f64_range("--tau-scan", "0.05..5").unwrap(), (0.05, 5.0));
        assert!(parse_f64_range("--tau-scan", "0.05").is_err());
    }
}
