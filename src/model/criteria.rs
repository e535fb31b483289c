//! The criteria grammar of Keptn's lighthouse (`parseCriteriaString`), reproduced exactly.
//!
//! `<=+10%` is relative to a baseline, `<600` is an absolute threshold. The quirks are Keptn's and
//! kept on purpose: only spaces are removed, `=<5` is not an operator, `<=10%` is relative, and a
//! negative absolute threshold cannot be written in Keptn's syntax (`<-5` means "baseline minus
//! 5"). slogate's one extension: a number in parentheses is absolute, `<(-5)` (docs/decisions.md).

use std::fmt;

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Operator {
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = "=")]
    Eq,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = ">")]
    Gt,
}

impl Operator {
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Lt => "<",
            Operator::Le => "<=",
            Operator::Eq => "=",
            Operator::Ge => ">=",
            Operator::Gt => ">",
        }
    }

    /// `measured <op> target`; `=` is exact float equality, as in Keptn.
    pub fn holds(self, measured: f64, target: f64) -> bool {
        match self {
            Operator::Lt => measured < target,
            Operator::Le => measured <= target,
            #[allow(clippy::float_cmp)]
            Operator::Eq => measured == target,
            Operator::Ge => measured >= target,
            Operator::Gt => measured > target,
        }
    }

    /// Whether a larger value is "better" for this operator (`>`/`>=`), used by lint to compare
    /// pass and warning thresholds.
    pub fn is_lower_bound(self) -> bool {
        matches!(self, Operator::Ge | Operator::Gt)
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the criterion compares the value with.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Target {
    /// A fixed threshold.
    Absolute(f64),
    /// Relative to the baseline A: `A·(100±amount)/100` when `percent`, else `A±amount`.
    Relative {
        increase: bool,
        percent: bool,
        amount: f64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Criterion {
    pub op: Operator,
    pub target: Target,
}

/// Keptn's two error texts, kept verbatim because they appear in evaluation messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CriteriaError {
    /// The string does not start with one of `<`, `=`, `>` (or `|`, which Keptn's regex lets
    /// through and then rejects as a value).
    Invalid,
    /// The operator is fine but the number after it is not.
    BadTarget,
}

impl fmt::Display for CriteriaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CriteriaError::Invalid => "invalid criteria string",
            CriteriaError::BadTarget => "could not parse criteria target value",
        })
    }
}

impl std::error::Error for CriteriaError {}

impl Criterion {
    pub fn parse(raw: &str) -> Result<Criterion, CriteriaError> {
        let s: String = raw.chars().filter(|c| *c != ' ').collect();
        // Keptn's regex `^([<|<=|=|>|>=]{1,2})...` only needs a first character from `<|=>`.
        if !s.starts_with(['<', '|', '=', '>']) {
            return Err(CriteriaError::Invalid);
        }
        let mut rest = s.as_str();
        let mut op = None;
        for (text, o) in [
            ("<=", Operator::Le),
            ("<", Operator::Lt),
            ("=", Operator::Eq),
            (">=", Operator::Ge),
            (">", Operator::Gt),
        ] {
            if let Some(r) = rest.strip_prefix(text) {
                op = Some(o);
                rest = r;
                break;
            }
        }
        // `<(-5)`: absolute, also when negative. Keptn refused it (`could not parse criteria
        // target value`), so no file Keptn read changes meaning.
        if let Some(inner) = rest.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
            let value = go_parse_float(inner).ok_or(CriteriaError::BadTarget)?;
            let op = op.ok_or(CriteriaError::BadTarget)?;
            return Ok(Criterion {
                op,
                target: Target::Absolute(value),
            });
        }
        let mut percent = false;
        let mut relative = false;
        let mut increase = true;
        if let Some(r) = rest.strip_suffix('%') {
            percent = true;
            relative = true;
            rest = r;
        }
        if let Some(r) = rest.strip_prefix('-') {
            relative = true;
            increase = false;
            rest = r;
        } else if let Some(r) = rest.strip_prefix('+') {
            relative = true;
            rest = r;
        }
        let amount = go_parse_float(rest).ok_or(CriteriaError::BadTarget)?;
        // Only `|` leaves no operator; Keptn fails it at the value, with the same text.
        let op = op.ok_or(CriteriaError::BadTarget)?;
        let target = if relative {
            Target::Relative {
                increase,
                percent,
                amount,
            }
        } else {
            Target::Absolute(amount)
        };
        Ok(Criterion { op, target })
    }

    pub fn is_relative(&self) -> bool {
        matches!(self.target, Target::Relative { .. })
    }

    /// The value the measurement is compared with, given the baseline `a` (ignored when absolute).
    pub fn target_value(&self, a: f64) -> f64 {
        match self.target {
            Target::Absolute(v) => v,
            // Keptn computes `(A * (100 ± x)) / 100` in this order; the order matters for floats.
            Target::Relative {
                increase: true,
                percent: true,
                amount,
            } => (a * (100.0 + amount)) / 100.0,
            Target::Relative {
                increase: false,
                percent: true,
                amount,
            } => (a * (100.0 - amount)) / 100.0,
            Target::Relative {
                increase: true,
                percent: false,
                amount,
            } => a + amount,
            Target::Relative {
                increase: false,
                percent: false,
                amount,
            } => a - amount,
        }
    }
}

/// Go's `strconv.ParseFloat(s, 64)` for the forms that matter: decimal with optional sign and
/// exponent, `inf`/`infinity`/`nan` in any case. Out-of-range values give ±Inf in Go with an
/// error, so they are rejected here too. Hexadecimal floats (`0x1p-2`) are not accepted.
pub fn go_parse_float(s: &str) -> Option<f64> {
    if s.is_empty() {
        return None;
    }
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let lower = body.to_ascii_lowercase();
    if matches!(lower.as_str(), "inf" | "infinity" | "nan") {
        return s.parse::<f64>().ok();
    }
    // Rust accepts the same decimal syntax as Go, except that Go also allows `_` only with a
    // base prefix, which decimal input never has.
    if !body
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    let v = s.parse::<f64>().ok()?;
    v.is_finite().then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(increase: bool, percent: bool, amount: f64) -> Target {
        Target::Relative {
            increase,
            percent,
            amount,
        }
    }

    #[test]
    fn grammar_table() {
        use Operator::*;
        let ok: &[(&str, Operator, Target)] = &[
            ("<600", Lt, Target::Absolute(600.0)),
            ("<=600", Le, Target::Absolute(600.0)),
            ("=0", Eq, Target::Absolute(0.0)),
            (">=99.5", Ge, Target::Absolute(99.5)),
            (">1", Gt, Target::Absolute(1.0)),
            ("< = 600", Le, Target::Absolute(600.0)),
            ("<=+10%", Le, rel(true, true, 10.0)),
            ("<=10%", Le, rel(true, true, 10.0)), // #1498: % alone means relative increase
            (">=-5%", Ge, rel(false, true, 5.0)),
            ("<+50", Lt, rel(true, false, 50.0)),
            ("<-5", Lt, rel(false, false, 5.0)), // a negative absolute cannot be written
            ("=-1", Eq, rel(false, false, 1.0)),
            ("<1e3", Lt, Target::Absolute(1000.0)),
            ("<inf", Lt, Target::Absolute(f64::INFINITY)),
            ("<=.5", Le, Target::Absolute(0.5)),
            ("<=5.", Le, Target::Absolute(5.0)),
            ("<(-5)", Lt, Target::Absolute(-5.0)), // slogate: parentheses mean absolute
            (">=( -2.5 )", Ge, Target::Absolute(-2.5)),
            ("<(3)", Lt, Target::Absolute(3.0)),
        ];
        for (s, op, target) in ok {
            let c = Criterion::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!((c.op, c.target), (*op, *target), "{s}");
        }
        let bad: &[(&str, CriteriaError)] = &[
            ("600", CriteriaError::Invalid),
            ("", CriteriaError::Invalid),
            ("≤600", CriteriaError::Invalid),
            ("=<5", CriteriaError::BadTarget),
            ("<", CriteriaError::BadTarget),
            ("<%", CriteriaError::BadTarget),
            ("<abc", CriteriaError::BadTarget),
            ("|5", CriteriaError::BadTarget),
            ("<=10ms", CriteriaError::BadTarget),
            ("<\t5", CriteriaError::BadTarget), // only spaces are removed
            ("<0x10", CriteriaError::BadTarget),
            ("<1e999", CriteriaError::BadTarget),
            ("<(-5%)", CriteriaError::BadTarget),
            ("<(-5", CriteriaError::BadTarget),
            ("<()", CriteriaError::BadTarget),
            ("|(5)", CriteriaError::BadTarget),
        ];
        for (s, err) in bad {
            assert_eq!(Criterion::parse(s), Err(*err), "{s}");
        }
    }

    #[test]
    fn target_values_follow_keptn_arithmetic() {
        let c = Criterion::parse("<=+10%").unwrap();
        assert_eq!(c.target_value(10.0), 11.0);
        assert_eq!(Criterion::parse("<=-10%").unwrap().target_value(10.0), 9.0);
        assert_eq!(Criterion::parse("<+5").unwrap().target_value(10.0), 15.0);
        assert_eq!(Criterion::parse("=-1").unwrap().target_value(10.0), 9.0);
        assert_eq!(Criterion::parse("<600").unwrap().target_value(10.0), 600.0);
        // A = 0: every percentage target is 0 (dynatrace-service#818).
        assert_eq!(Criterion::parse("<+101%").unwrap().target_value(0.0), 0.0);
    }

    #[test]
    fn operators() {
        assert!(Operator::Le.holds(11.0, 11.0));
        assert!(!Operator::Le.holds(11.01, 11.0));
        assert!(!Operator::Lt.holds(11.0, 11.0));
        assert!(Operator::Eq.holds(9.0, 9.0));
        assert!(Operator::Ge.holds(9.0, 9.0));
        assert!(!Operator::Gt.holds(9.0, 9.0));
    }
}
