//! Human sizes as docker accepts them: `1024`, `64k`, `256m`, `1g`, `1.5G`.

use super::ConfigError;

/// Parses a size in bytes; `field` names the option in the error.
pub fn parse_size(field: &str, text: &str) -> Result<u64, ConfigError> {
    let bad = || ConfigError::BadSize { field: field.to_string(), value: text.to_string() };
    let t = text.trim();
    let t = t.strip_suffix(['b', 'B']).unwrap_or(t);
    let (num, mult) = match t.chars().last() {
        Some(c) if c.is_ascii_alphabetic() => {
            let mult: u64 = match c.to_ascii_lowercase() {
                'k' => 1 << 10,
                'm' => 1 << 20,
                'g' => 1 << 30,
                't' => 1 << 40,
                _ => return Err(bad()),
            };
            (&t[..t.len() - 1], mult)
        }
        _ => (t, 1),
    };
    if num.is_empty() {
        return Err(bad());
    }
    if let Ok(n) = num.parse::<u64>() {
        return n.checked_mul(mult).ok_or_else(bad);
    }
    let f: f64 = num.parse().map_err(|_| bad())?;
    if !f.is_finite() || f < 0.0 || f * mult as f64 > u64::MAX as f64 {
        return Err(bad());
    }
    Ok((f * mult as f64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_sizes() {
        assert_eq!(parse_size("m", "1024").unwrap(), 1024);
        assert_eq!(parse_size("m", "64k").unwrap(), 64 << 10);
        assert_eq!(parse_size("m", "256M").unwrap(), 256 << 20);
        assert_eq!(parse_size("m", "1g").unwrap(), 1 << 30);
        assert_eq!(parse_size("m", "1.5G").unwrap(), 3 << 29);
        assert_eq!(parse_size("m", "10mb").unwrap(), 10 << 20);
    }

    #[test]
    fn rejects_nonsense_naming_the_field() {
        for bad in ["", "m", "12q", "-1", "1..2k", "99999999999999999999t"] {
            let err = parse_size("--tmpfs size", bad).unwrap_err().to_string();
            assert!(err.contains("--tmpfs size"), "{err}");
        }
    }
}
