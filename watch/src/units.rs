//! Sizes (`512M`), durations (`10s`), growth rates (`100M/10m`) and
//! percentages as an operator types them.

use std::time::Duration;

/// Parse a size: a number with an optional binary suffix `K`, `M`, `G`,
/// `T` (also `KiB`, `KB` …, all powers of 1024); a plain number is bytes.
///
/// ```
/// use coroner_watch::units::parse_size;
/// assert_eq!(parse_size("512M"), Ok(512 << 20));
/// assert_eq!(parse_size("1.5G"), Ok(3 << 29));
/// assert_eq!(parse_size("4096"), Ok(4096));
/// ```
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let shift = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        "T" | "TB" | "TIB" => 40,
        _ => return Err(format!("{text:?}: unknown size unit (use K, M, G or T)")),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size such as 512M or 2G"))?;
    let bytes = value * (1u64 << shift) as f64;
    if !bytes.is_finite() || !(0.0..=1.8e19).contains(&bytes) {
        return Err(format!("{text:?} is out of range"));
    }
    Ok(bytes.round() as u64)
}

/// Parse a duration: a number with `ms`, `s`, `m`, `h` or `d` (a plain
/// number is seconds).
///
/// ```
/// use coroner_watch::units::parse_duration;
/// use std::time::Duration;
/// assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
/// assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
/// assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let seconds = match unit.trim() {
        "ms" => 0.001,
        "" | "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        _ => {
            return Err(format!(
                "{text:?}: unknown duration unit (use ms, s, m, h or d)"
            ))
        }
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 500ms, 10s or 5m"))?;
    Duration::try_from_secs_f64(value * seconds).map_err(|_| format!("{text:?} is out of range"))
}

/// Parse a growth rate `SIZE/DURATION` (`100M/10m`: grew by 100 MiB within
/// 10 minutes).
///
/// ```
/// use coroner_watch::units::parse_growth;
/// use std::time::Duration;
/// assert_eq!(parse_growth("100M/10m"), Ok((100 << 20, Duration::from_secs(600))));
/// ```
pub fn parse_growth(text: &str) -> Result<(u64, Duration), String> {
    let (size, within) = text
        .split_once('/')
        .ok_or_else(|| format!("{text:?}: expected SIZE/DURATION such as 100M/10m"))?;
    let within = parse_duration(within)?;
    if within.is_zero() {
        return Err(format!("{text:?}: the duration must not be zero"));
    }
    Ok((parse_size(size)?, within))
}

/// Parse a percentage (`90`, `90%`, `12.5`); CPU percentages may exceed
/// 100 (100 = one core busy).
pub fn parse_percent(text: &str) -> Result<f64, String> {
    let t = text.trim().trim_end_matches('%');
    let v: f64 = t
        .parse()
        .map_err(|_| format!("{text:?} is not a percentage such as 90"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("{text:?} is not a percentage such as 90"));
    }
    Ok(v)
}

/// A threshold with its optional hold time, `VALUE[@DURATION]`
/// (`90@10s`: 90 must hold for 10 seconds).
///
/// ```
/// use coroner_watch::units::split_hold;
/// use std::time::Duration;
/// assert_eq!(split_hold("90@10s"), Ok(("90", Some(Duration::from_secs(10)))));
/// assert_eq!(split_hold("512M"), Ok(("512M", None)));
/// ```
pub fn split_hold(text: &str) -> Result<(&str, Option<Duration>), String> {
    match text.split_once('@') {
        Some((value, hold)) => Ok((value, Some(parse_duration(hold)?))),
        None => Ok((text, None)),
    }
}

/// A byte count for people: `1.5 GiB`, `300 MiB`, `12 KiB`, `100 B`.
pub fn show_size(bytes: u64) -> String {
    const UNITS: [(&str, u32); 4] = [("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)];
    for (name, shift) in UNITS {
        let unit = 1u64 << shift;
        if bytes >= unit {
            let v = bytes as f64 / unit as f64;
            return format!("{v:.1} {name}");
        }
    }
    format!("{bytes} B")
}

/// A duration for people: `250ms`, `10s`, `5m`, `2h`.
pub fn show_duration(d: Duration) -> String {
    let s = d.as_secs();
    if d.subsec_millis() != 0 || s == 0 {
        let ms = d.as_millis();
        if ms % 1000 != 0 {
            return format!("{ms}ms");
        }
    }
    if s != 0 && s % 3600 == 0 {
        format!("{}h", s / 3600)
    } else if s != 0 && s % 60 == 0 {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1K"), Ok(1024));
        assert_eq!(parse_size("2 GiB"), Ok(2 << 30));
        assert_eq!(parse_size("1T"), Ok(1 << 40));
        assert!(parse_size("12X").is_err());
        assert!(parse_size("").is_err());
        assert!(parse_size("-1M").is_err());
        assert!(parse_size("99999999999T").is_err());
    }

    #[test]
    fn durations_and_rates() {
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_duration("5 weeks").is_err());
        assert!(parse_growth("100M").is_err());
        assert!(parse_growth("100M/0s").is_err());
        assert_eq!(show_duration(Duration::from_secs(600)), "10m");
        assert_eq!(show_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(show_duration(Duration::from_secs(7)), "7s");
        assert_eq!(show_size(3 << 29), "1.5 GiB");
        assert_eq!(show_size(100), "100 B");
    }

    #[test]
    fn percentages() {
        assert_eq!(parse_percent("90%"), Ok(90.0));
        assert_eq!(parse_percent("250"), Ok(250.0));
        assert!(parse_percent("-5").is_err());
        assert!(parse_percent("lots").is_err());
    }
}
