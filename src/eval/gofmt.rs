//! Go's `%v` formatting of float64, so result messages read exactly as Keptn wrote them.

/// Formats like Go's `fmt.Sprintf("%v", f)`: shortest round-trip digits, exponent form when the
/// decimal exponent is below -4 or at least 21 (`1e+21`, `1.5e-05`).
pub fn go_v(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let sci = format!("{f:e}"); // e.g. "1.5e-5", "6.666666666666667e1"
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..21).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        format!("{f}")
    }
}

/// Go's `%f`: six decimals.
pub fn go_f(f: f64) -> String {
    format!("{f:.6}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_go() {
        assert_eq!(go_v(75.0), "75");
        assert_eq!(go_v(75.3), "75.3");
        assert_eq!(go_v(200.0 / 3.0), "66.66666666666667");
        assert_eq!(go_v(1e21), "1e+21");
        assert_eq!(go_v(1e20), "100000000000000000000");
        assert_eq!(go_v(0.000015), "1.5e-05");
        assert_eq!(go_v(0.0001), "0.0001");
        assert_eq!(go_v(0.0), "0");
        assert_eq!(go_v(-2.5), "-2.5");
        assert_eq!(go_f(0.0), "0.000000");
    }
}
