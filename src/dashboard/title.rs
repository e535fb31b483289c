//! Tile titles (`Response time;sli=svc_rt_p95;pass=<+10%,<600;key=true`) → an objective, with
//! dynatrace-service's rules and messages (reference §3). Pure.

/// What a title defines. `pass` / `warning` are criteria groups (OR of ANDs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Title {
    pub sli: String,
    pub display_name: String,
    pub pass: Vec<Vec<String>>,
    pub warning: Vec<Vec<String>>,
    pub weight: i64,
    pub key: bool,
    pub exclude: bool,
    /// Keptn's messages, in order; joined into one failure when not empty.
    pub errors: Vec<String>,
    /// What upstream dropped without a word, for `lint --dashboard`.
    pub ignored: Vec<String>,
}

impl Title {
    /// The failure message of a title with errors.
    pub fn error(&self) -> Option<String> {
        (!self.errors.is_empty())
            .then(|| format!("error parsing SLO definition: {}", self.errors.join("; ")))
    }
}

/// Keptn's SLI name cleaning: lower-case, then space `/` `%` `$` `.` → `_`.
pub fn clean(name: &str) -> String {
    name.to_lowercase()
        .chars()
        .map(|c| match c {
            ' ' | '/' | '%' | '$' | '.' => '_',
            c => c,
        })
        .collect()
}

/// `^(<|<=|=|>|>=)[+-]?\d+(\.\d+)?%?$`
pub fn valid_criterion(c: &str) -> bool {
    let rest = c
        .strip_prefix("<=")
        .or_else(|| c.strip_prefix(">="))
        .or_else(|| c.strip_prefix('<'))
        .or_else(|| c.strip_prefix('>'))
        .or_else(|| c.strip_prefix('='));
    let Some(rest) = rest else { return false };
    let rest = rest.strip_prefix(['+', '-']).unwrap_or(rest);
    let rest = rest.strip_suffix('%').unwrap_or(rest);
    let (int, frac) = match rest.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (rest, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(int) && frac.is_none_or(digits)
}

/// Go's `strconv.ParseBool`.
pub fn go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Go's `strconv.Atoi` (optional sign, ASCII digits, fits in 64 bits).
pub fn go_atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// One `;`-piece: trimmed, cut at the first `=`.
pub fn pieces(text: &str) -> Vec<(String, Option<String>)> {
    text.split(';')
        .map(|p| {
            let p = p.trim();
            match p.split_once('=') {
                Some((k, v)) => (k.trim().to_string(), Some(v.trim().to_string())),
                None => (p.to_string(), None),
            }
        })
        .collect()
}

/// Parses a tile title. An empty `sli` means the tile gives no SLI (upstream skipped it).
pub fn parse(text: &str) -> Title {
    let mut t = Title {
        weight: 1,
        ..Title::default()
    };
    let mut seen: Vec<String> = Vec::new();
    let mut sli_value: Option<String> = None;
    let mut display: Option<String> = None;
    for (key, value) in pieces(text) {
        let Some(value) = value else {
            if display.is_none() && !key.is_empty() {
                display = Some(key);
            } else if !key.is_empty() {
                t.ignored
                    .push(format!("`{key}` has no `=` and was ignored"));
            }
            continue;
        };
        let lower = key.to_lowercase();
        let once = matches!(lower.as_str(), "sli" | "key" | "weight" | "exclude");
        if once {
            if seen.contains(&lower) {
                t.errors
                    .push(format!("duplicate key '{lower}' in SLO definition"));
                continue;
            }
            seen.push(lower.clone());
        }
        match lower.as_str() {
            "sli" => {
                if value.is_empty() {
                    t.errors.push("sli name is empty".into());
                } else {
                    sli_value = Some(value);
                }
            }
            "pass" | "warning" => {
                let group: Vec<String> = value.split(',').map(str::to_string).collect();
                let bad: Vec<&String> = group.iter().filter(|c| !valid_criterion(c)).collect();
                if bad.is_empty() {
                    if lower == "pass" {
                        t.pass.push(group);
                    } else {
                        t.warning.push(group);
                    }
                } else {
                    t.errors.push(format!(
                        "invalid definition for '{lower}': invalid criteria value(s): {}",
                        bad.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")
                    ));
                }
            }
            "weight" => match go_atoi(&value) {
                Some(w) => t.weight = w,
                None => t.errors.push(format!(
                    "invalid definition for 'weight': not an integer value: {value}"
                )),
            },
            "key" | "exclude" => match go_bool(&value) {
                Some(b) if lower == "key" => t.key = b,
                Some(b) => t.exclude = b,
                None => t.errors.push(format!(
                    "invalid definition for '{lower}': not a boolean value: {value}"
                )),
            },
            _ => t.ignored.push(format!("unknown key `{key}` was ignored")),
        }
    }
    let display = display.unwrap_or_default();
    match sli_value {
        Some(v) => {
            t.sli = clean(&v);
            t.display_name = if display.is_empty() { v } else { display };
        }
        None => {
            t.sli = clean(&display);
            t.display_name = display;
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_title() {
        let t =
            parse("Response time;sli=svc_rt_p95;pass=<+10%,<600;warning=<800;key=true;weight=2");
        assert_eq!(t.sli, "svc_rt_p95");
        assert_eq!(t.display_name, "Response time");
        assert_eq!(t.pass, vec![vec!["<+10%".to_string(), "<600".to_string()]]);
        assert_eq!(t.warning, vec![vec!["<800".to_string()]]);
        assert!(t.key);
        assert_eq!(t.weight, 2);
        assert!(t.errors.is_empty());
    }

    #[test]
    fn names_are_cleaned_and_derived() {
        assert_eq!(parse("Service port: 8080").sli, "service_port:_8080");
        let t = parse("x;SLI=My.Metric 1");
        assert_eq!(t.sli, "my_metric_1");
        assert_eq!(t.display_name, "x");
        let t = parse("sli=Only");
        assert_eq!((t.sli.as_str(), t.display_name.as_str()), ("only", "Only"));
    }

    #[test]
    fn errors_keep_what_parsed() {
        let t = parse("empty sli name;sli=;pass=<500;weight=10;key=true;");
        assert_eq!(t.sli, "empty_sli_name");
        assert_eq!(t.errors, vec!["sli name is empty"]);
        assert_eq!(t.weight, 10);
        let t = parse("d;sli=d;pass=<500;weight=10;weight=1");
        assert_eq!(t.weight, 10);
        assert_eq!(t.errors, vec!["duplicate key 'weight' in SLO definition"]);
        for (title, msg) in [
            ("a;pass=<5ms", "invalid criteria value(s): <5ms"),
            ("a;pass=<5.", "invalid criteria value(s): <5."),
            ("a;pass=>>7", "invalid criteria value(s): >>7"),
            ("a;weight=4.5", "not an integer value: 4.5"),
            ("a;key=no", "not a boolean value: no"),
        ] {
            let t = parse(title);
            assert!(t.errors[0].contains(msg), "{title}: {:?}", t.errors);
        }
        assert!(parse("a;pass=<500, <600").errors[0].contains(" <600"));
        assert_eq!(parse("a;pass==0").pass, vec![vec!["=0".to_string()]]);
    }

    #[test]
    fn silently_dropped_pieces_are_noted() {
        let t = parse("rt;pass<500;wieght=2");
        assert!(t.pass.is_empty());
        assert_eq!(t.ignored.len(), 2);
        assert!(t.errors.is_empty());
    }

    #[test]
    fn go_parsers() {
        assert_eq!(go_atoi("-2"), Some(-2));
        assert_eq!(go_atoi("4.5"), None);
        assert_eq!(go_bool("T"), Some(true));
        assert_eq!(go_bool("yes"), None);
    }
}
