//! Entry points for the fuzz targets in `fuzz/` (cargo-fuzz), one per input slogate reads from
//! users or servers. Each takes arbitrary bytes and may return anything but must never panic,
//! hang or allocate without bound. The same functions run in a unit test over the project's
//! fixtures, so they stay built and correct without a nightly toolchain (see docs/fuzzing.md).

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

use crate::diag::{self, SourceFile};
use crate::model::{criteria::Criterion, lint, load};
use crate::query::{UsqlType, Vars, Window, parse, placeholder, reduce, request};
use crate::report::{Report, annotations};

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// A fixed "now": fuzzing must be deterministic.
fn now() -> DateTime<Utc> {
    Utc.timestamp_opt(1_795_000_000, 0)
        .single()
        .unwrap_or_default()
}

/// The YAML loaders (slo.yaml, sli.yaml, slogate.yaml), the checks of one slo.yaml, and the
/// rendering of every problem found (spans, line index, miette).
pub fn yaml_loaders(data: &[u8]) {
    if data.len() as u64 > load::MAX_FILE_BYTES {
        return;
    }
    let (file, problems) = load::text_from_bytes("fuzz.yaml", data.to_vec());
    let slo = load::parse_slo(file.clone(), problems.clone());
    let sli = load::parse_sli(file.clone(), problems.clone());
    let settings = load::parse_settings(file, problems);
    let mut all = slo.problems.clone();
    all.extend(lint::check_slo(&slo.value));
    all.extend(lint::check_scorable(&slo.value, ""));
    all.extend(sli.problems);
    all.extend(settings.problems);
    diag::sort(&mut all);
    let _ = diag::render(&all, false, 80);
    let _ = all.iter().map(diag::Problem::to_json).count();
    let _ = slo.value.hash();
}

/// The criteria grammar (`<600`, `<=+10%`) and its arithmetic.
pub fn criteria(data: &[u8]) {
    let raw = text(data);
    if let Ok(c) = Criterion::parse(&raw) {
        for baseline in [0.0, -1.5, 1e308, f64::NAN, f64::INFINITY] {
            let target = c.target_value(baseline);
            let _ = c.op.holds(baseline, target);
        }
        let _ = c.is_relative();
    }
}

/// The SLI query parser, placeholders, and the request built from a query.
pub fn sli_query(data: &[u8]) {
    let raw = text(data);
    let vars = Vars {
        project: "shop".into(),
        stage: "production".into(),
        service: "checkout".into(),
        env: std::sync::Arc::new([("X".to_string(), "v".to_string())].into()),
        filters: vec![("handler".into(), "/cart".into())],
        ..Vars::default()
    };
    let sub = placeholder::substitute(&raw, &vars);
    for q in [parse::parse(&raw), parse::parse(&sub.text)]
        .into_iter()
        .flatten()
    {
        let w = Window {
            from_ms: 1_700_000_000_000,
            to_ms: 1_700_000_360_000,
        };
        let _ = request::build(&q, w).display();
    }
}

/// The reducers of API answers (metrics, descriptor, SLO, problems, USQL, DQL, errors) and the
/// split of a batched metrics answer.
pub fn reducers(data: &[u8]) {
    let body = text(data);
    let _ = reduce::api_error("Metrics API v2", 400, &body, "/api/v2/metrics/query");
    let _ = reduce::dynatrace_error(503, &body, "/api/v2/slo");
    let Ok(v) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let _ = reduce::metrics(&v);
    let _ = reduce::metrics_retried(&v);
    let _ = reduce::descriptor(&v);
    let _ = reduce::slo(&v, crate::query::SloField::BurnRate);
    let _ = reduce::total_count(&v);
    for t in [
        UsqlType::SingleValue,
        UsqlType::PieChart,
        UsqlType::ColumnChart,
        UsqlType::LineChart,
        UsqlType::Table,
    ] {
        let _ = reduce::usql(&v, t, "city");
    }
    let _ = reduce::dql(&v);
    let _ = reduce::dql_pending(&v);
    let _ = request::split_batch(&v, &["a", "builtin:service.response.time:avg"]);
}

/// The readers of earlier evaluations: history import documents (slogate reports, exports,
/// Keptn events) and `score`'s `--values` / `--previous` files.
pub fn importers(data: &[u8]) {
    let raw = text(data);
    if let Ok(docs) = crate::history::documents(&raw) {
        for d in docs.iter().take(1000) {
            let _ = crate::history::document::parse(d, now());
            let _ = crate::history::document::content_id(d);
        }
    }
    let file = SourceFile::new("fuzz.json", raw);
    let _ = crate::input::values(&file);
    let _ = crate::input::previous(&file);
}

/// Durations, times and windows as the flags give them; `|` separates from, to and timeframe.
pub fn times(data: &[u8]) {
    let raw = text(data);
    let _ = crate::window::parse_duration(&raw);
    let _ = crate::window::parse_time(&raw, now());
    let mut parts = raw.splitn(3, '|');
    let (from, to, timeframe) = (parts.next(), parts.next(), parts.next());
    let _ = crate::window::resolve(from, to, timeframe, now());
    let _ = crate::source::retry::parse_retry_after(&raw);
    let _ = crate::source::secret::userinfo_hidden(&raw);
    let _ = crate::plan::check_url(&raw);
}

/// Every renderer of a report (JSON, text, JUnit, Markdown, HTML, CI annotations) over a report
/// read back from JSON, as `history` and `--previous` do.
pub fn renderers(data: &[u8]) {
    let Ok(report) = serde_json::from_slice::<Report>(data) else {
        return;
    };
    let _ = crate::report::json::render(&report);
    let _ = crate::report::text::render(&report);
    let _ = crate::report::junit::render(&report);
    let _ = crate::report::markdown::render(&report);
    let _ = crate::report::html::render(&report);
    for ci in [
        annotations::Ci::Azure,
        annotations::Ci::GitHub,
        annotations::Ci::GitLab,
    ] {
        let _ = annotations::render(&report, ci);
    }
    let summary = annotations::RunSummary::of(std::slice::from_ref(&report));
    let _ = annotations::dotenv(&summary);
    let _ = annotations::github_output(&summary);
}

/// The sanitiser's promises, checked on any text: [`sanitize::text`] leaves no line break or
/// control character and is idempotent; after [`sanitize::guard`] no line is a CI command, and a
/// JSON string stays JSON that decodes to the original. A broken promise panics, so the fuzzer
/// reports it.
///
/// [`sanitize::text`]: crate::report::sanitize::text
/// [`sanitize::guard`]: crate::report::sanitize::guard
pub fn sanitiser(data: &[u8]) {
    use crate::report::sanitize::{guard, text as safe};
    let raw = text(data);
    let one = safe(&raw);
    assert!(!one.chars().any(char::is_control), "{one:?}");
    assert_eq!(safe(&one), one, "not idempotent");
    for out in [guard(&raw).into_owned(), guard(&one).into_owned()] {
        for line in out.split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            assert!(!line.contains('\r'), "{line:?}");
            assert!(!line.contains('\u{1b}'), "{line:?}");
            assert!(!line.to_ascii_lowercase().contains("##vso["), "{line:?}");
            assert!(!line.contains("##["), "{line:?}");
            assert!(!line.trim_start().starts_with("::"), "{line:?}");
        }
    }
    let json = serde_json::to_string(&raw).unwrap_or_default();
    let back: Result<String, _> = serde_json::from_str(&guard(&json));
    assert_eq!(back.ok().as_deref(), Some(raw.as_str()), "{json}");
}

/// A dashboard as the Config API or a saved file gives it: JSON, tile titles, the KQG Markdown
/// tile, thresholds, and every lint finding rendered.
pub fn dashboards(data: &[u8]) {
    if data.len() as u64 > load::MAX_FILE_BYTES {
        return;
    }
    let raw = text(data);
    let mut all = crate::dashboard::lint::check("fuzz.json", &raw);
    diag::sort(&mut all);
    let _ = diag::render(&all, false, 80);
    let _ = crate::dashboard::title::parse(&raw);
    let _ = crate::dashboard::markdown::parse(&raw);
    let _ = crate::dashboard::markdown::trailing_note(&raw);
}

/// Prometheus inputs: a `prometheus/sli.yaml`, PromQL with placeholders, and the server's
/// answers to instant and range queries.
pub fn prometheus(data: &[u8]) {
    use crate::source::prometheus::{api, files, promql, queries};
    if data.len() as u64 > load::MAX_FILE_BYTES {
        return;
    }
    let (file, problems) = load::text_from_bytes("prometheus/sli.yaml", data.to_vec());
    let loaded = files::parse(file, problems);
    let _ = diag::render(&loaded.problems, false, 80);
    let raw = text(data);
    let ctx = queries::Context {
        project: "p".into(),
        stage: "s".into(),
        service: raw.chars().take(40).collect(),
        deployment: String::new(),
        labels: [("app".to_string(), raw.chars().take(20).collect())].into(),
        filters: vec![("handler".into(), raw.chars().take(30).collect())],
    };
    let filled = queries::substitute(&raw, &ctx);
    let _ = queries::resolve("response_time_p95", None, &ctx);
    let _ = promql::check(&filled);
    let window = Window {
        from_ms: 1_794_909_600_000,
        to_ms: 1_794_911_400_123,
    };
    let _ = api::fill_duration(&filled, window);
    for status in [200, 400, 422, 503] {
        let _ = api::reduce(status, &raw);
    }
    let _ = api::series(200, &raw);
}

/// A fuzz target's body: any bytes in, nothing out, never a panic.
pub type Target = fn(&[u8]);

/// Every target by name, for the smoke test and `fuzz/`'s documentation.
pub const TARGETS: &[(&str, Target)] = &[
    ("yaml_loaders", yaml_loaders),
    ("criteria", criteria),
    ("sli_query", sli_query),
    ("reducers", reducers),
    ("importers", importers),
    ("times", times),
    ("renderers", renderers),
    ("dashboards", dashboards),
    ("prometheus", prometheus),
    ("sanitiser", sanitiser),
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    fn files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                files(&p, out);
            } else {
                out.push(p);
            }
        }
    }

    /// Lines of the fixtures, for the one-line inputs (queries, criteria, times).
    fn pieces(text: &str) -> Vec<String> {
        text.lines()
            .flat_map(|l| {
                let l = l.trim().trim_start_matches("- ");
                let value = l.split_once(": ").map(|(_, v)| v).unwrap_or(l);
                [
                    l.to_string(),
                    value.trim_matches(['"', '\'', '[', ']']).to_string(),
                ]
            })
            .collect()
    }

    /// The smoke form of the fuzz targets: every target over every fixture file, every line of
    /// them, and the saved corpus when there is one (`fuzz/corpus/<target>/`).
    #[test]
    fn every_target_survives_the_fixtures() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut inputs = Vec::new();
        for dir in ["tests/fixtures", "slo-examples", "fuzz/seeds"] {
            files(&root.join(dir), &mut inputs);
        }
        assert!(inputs.len() > 100, "fixtures not found");
        let mut runs = 0;
        for path in &inputs {
            let Ok(data) = std::fs::read(path) else {
                continue;
            };
            for (_, target) in TARGETS {
                target(&data);
                runs += 1;
            }
            for piece in pieces(&String::from_utf8_lossy(&data)).iter().take(400) {
                criteria(piece.as_bytes());
                sli_query(piece.as_bytes());
                times(piece.as_bytes());
                runs += 3;
            }
        }
        for (name, target) in TARGETS {
            let mut saved = Vec::new();
            files(&root.join("fuzz/corpus").join(name), &mut saved);
            for path in saved.iter().take(2000) {
                if let Ok(data) = std::fs::read(path) {
                    target(&data);
                    runs += 1;
                }
            }
        }
        assert!(runs > 1000, "{runs}");
    }

    #[test]
    fn hostile_bytes_do_not_panic() {
        let cases: &[&[u8]] = &[
            b"",
            b"\xff\xfe\x00",
            b"now-9223372036854775807w",
            b"now+99999999999999999999d|now|1m",
            b"{\"result\":[{\"metricId\":\"a\",\"data\":[{\"values\":[1e999]}]}]}",
            b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
            b"<=+1e308%",
            b"metricSelector=&entitySelector=$ENV.",
            b"a: &a [*a, *a]\nb: *a\n",
            b"{\"events\": [{\"type\": \"sh.keptn.event.evaluation.finished\", \"data\": {}}]}",
        ];
        for data in cases {
            for (_, target) in TARGETS {
                target(data);
            }
        }
    }
}
