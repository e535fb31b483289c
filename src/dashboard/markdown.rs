//! The KQG Markdown tile: `KQG.Total.Pass=90%;KQG.Total.Warning=75%;KQG.Compare.WithScore=pass;
//! KQG.Compare.Results=1;KQG.Compare.Function=avg` (reference §4). Pure.

use super::title::pieces;

/// Scoring settings of a dashboard, with upstream's defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scoring {
    pub total_pass: String,
    pub total_warning: String,
    pub compare_with: String,
    pub include_result_with_score: String,
    pub number_of_comparison_results: i64,
    pub aggregate_function: String,
}

impl Default for Scoring {
    fn default() -> Self {
        Scoring {
            total_pass: "90%".into(),
            total_warning: "75%".into(),
            compare_with: "single_result".into(),
            include_result_with_score: "pass".into(),
            number_of_comparison_results: 1,
            aggregate_function: "avg".into(),
        }
    }
}

/// Whether a Markdown tile configures scoring: it contains `KQG.` (case-sensitive).
pub fn is_kqg(markdown: &str) -> bool {
    markdown.contains("KQG.")
}

fn score_value(v: &str) -> bool {
    let v = v.strip_suffix('%').unwrap_or(v);
    let (i, f) = match v.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (v, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(i) && f.is_none_or(digits)
}

/// Parses the tile's text. `Err` holds upstream's message
/// (`markdown tile parsing error: invalid value for 'kqg.compare.function': p97`).
pub fn parse(markdown: &str) -> Result<Scoring, String> {
    let mut s = Scoring::default();
    let mut errors: Vec<String> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for (key, value) in pieces(markdown) {
        let Some(value) = value else { continue };
        let lower = key.to_lowercase();
        if !matches!(
            lower.as_str(),
            "kqg.total.pass"
                | "kqg.total.warning"
                | "kqg.compare.withscore"
                | "kqg.compare.results"
                | "kqg.compare.function"
        ) {
            continue;
        }
        if seen.contains(&lower) {
            errors.push(format!("duplicate key '{lower}' in SLO definition"));
            continue;
        }
        seen.push(lower.clone());
        let invalid = || format!("invalid value for '{lower}': {value}");
        match lower.as_str() {
            "kqg.total.pass" | "kqg.total.warning" => {
                if !score_value(&value) {
                    errors.push(invalid());
                } else if lower == "kqg.total.pass" {
                    s.total_pass = value.clone();
                } else {
                    s.total_warning = value.clone();
                }
            }
            "kqg.compare.withscore" => match value.as_str() {
                "pass" | "all" | "pass_or_warn" => s.include_result_with_score = value.clone(),
                _ => errors.push(invalid()),
            },
            "kqg.compare.results" => match super::title::go_atoi(&value) {
                Some(n) if n >= 1 => {
                    s.number_of_comparison_results = n;
                    s.compare_with = if n > 1 {
                        "several_results".into()
                    } else {
                        "single_result".into()
                    };
                }
                _ => errors.push(invalid()),
            },
            _ => match value.as_str() {
                "avg" | "p50" | "p90" | "p95" => s.aggregate_function = value.clone(),
                _ => errors.push(invalid()),
            },
        }
    }
    if errors.is_empty() {
        Ok(s)
    } else {
        Err(format!("markdown tile parsing error: {}", errors.join(";")))
    }
}

/// Text after the settings that upstream read as part of the last value (for lint): the
/// settings run to the next `;`, so a note on a following line breaks the value before it.
pub fn trailing_note(markdown: &str) -> Option<String> {
    let last = markdown.rsplit(';').next()?;
    let (_, v) = last.split_once('=')?;
    let v = v.trim();
    v.find('\n')
        .map(|i| v[i..].trim().to_string())
        .filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_values() {
        assert_eq!(parse("KQG.something").unwrap(), Scoring::default());
        let s = parse(
            "KQG.Total.Pass=90.84%;KQG.Total.Warning=70 ; kqg.compare.withscore=all;KQG.Compare.Results=4;KQG.Compare.Function=p95",
        )
        .unwrap();
        assert_eq!(s.total_pass, "90.84%");
        assert_eq!(s.total_warning, "70");
        assert_eq!(s.include_result_with_score, "all");
        assert_eq!(s.compare_with, "several_results");
        assert_eq!(s.number_of_comparison_results, 4);
        assert_eq!(s.aggregate_function, "p95");
    }

    #[test]
    fn errors() {
        let e = parse("KQG.Compare.Function=p97").unwrap_err();
        assert_eq!(
            e,
            "markdown tile parsing error: invalid value for 'kqg.compare.function': p97"
        );
        let e = parse("KQG.Total.Pass=90%;KQG.Total.Pass=80%").unwrap_err();
        assert!(e.contains("duplicate key 'kqg.total.pass'"), "{e}");
        assert!(parse("KQG.Compare.Results=0").is_err());
        assert!(parse("KQG.Compare.Results=1.5").is_err());
        let note = "KQG.Total.Pass=90%;KQG.Compare.Function=avg\n\n## See the bridge";
        assert!(parse(note).is_err());
        assert_eq!(trailing_note(note).as_deref(), Some("## See the bridge"));
    }
}
