//! OpenSLO v1 (`apiVersion: openslo/v1`): `SLO`, `SLI`, `DataSource`, `AlertPolicy` (and
//! `Service`, `AlertCondition`, `AlertNotificationTarget`, read and set aside).
//!
//! Documents are checked against the specification's rules (required fields, names, one of
//! `good`/`bad`, one of `indicator`/`indicatorRef`, targets in [0, 1), description lengths, time
//! windows) before anything is converted; a document that breaks one is refused with the rule.
//! Metric sources of type Dynatrace and Prometheus convert; any other type is refused with the
//! reason.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{Exported, Imported, Indicator, Loss, Objective, Source, dns_name, number};
use super::{absolute, refused, scalar};
use crate::diag::{Problem, SourceFile};
use crate::model::criteria::Operator;
use crate::model::yaml::{self, Node};

pub const API_VERSION: &str = "openslo/v1";
const KINDS: &[&str] = &[
    "SLO",
    "SLI",
    "DataSource",
    "Service",
    "AlertPolicy",
    "AlertCondition",
    "AlertNotificationTarget",
];
const DESCRIPTION_MAX: usize = 1050;

fn text<'a>(n: &'a Node, key: &str) -> Option<&'a str> {
    n.get(key).and_then(Node::as_scalar)
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

fn is_duration(s: &str) -> bool {
    let Some(unit) = s.chars().last() else {
        return false;
    };
    let digits = &s[..s.len() - unit.len_utf8()];
    "mhdwMQY".contains(unit) && !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
}

/// A rule of the specification broken (code `openslo-invalid`), as opposed to a valid document
/// slogate cannot convert (`cannot-convert`).
fn invalid(
    origin: &crate::diag::Origin,
    message: impl Into<String>,
    help: impl Into<String>,
) -> Problem {
    Problem::error("slogate::openslo-invalid", origin, message.into())
        .label("breaks the OpenSLO v1 specification")
        .help(help.into())
}

/// The specification's rules only: every problem of every document of `files` (syntax errors
/// included), nothing about conversion.
pub fn validate(files: &[Arc<SourceFile>]) -> Vec<Problem> {
    let (nodes, mut problems) = documents(files);
    problems.extend(nodes.iter().filter_map(|n| check(n).err()));
    problems
}

/// One document, after the spec's checks.
struct Doc<'a> {
    kind: &'a str,
    name: String,
    node: &'a Node,
}

/// The spec's rules for one document: `Err` names the rule broken, at its place.
fn check(node: &Node) -> Result<Doc<'_>, Problem> {
    let bad = |n: &Node, msg: String| {
        Err(invalid(
            &n.origin,
            msg,
            "the OpenSLO v1 specification requires this (github.com/OpenSLO/OpenSLO, README)",
        ))
    };
    match text(node, "apiVersion") {
        Some(API_VERSION) => {}
        Some(v) => {
            return bad(
                node.get("apiVersion").unwrap_or(node),
                format!("apiVersion `{v}` is not {API_VERSION}"),
            );
        }
        None => return bad(node, "no apiVersion".into()),
    }
    let kind = match text(node, "kind") {
        Some(k) if KINDS.contains(&k) => k,
        Some(k) => {
            return bad(
                node.get("kind").unwrap_or(node),
                format!(
                    "unknown kind `{k}` (OpenSLO v1 kinds: {})",
                    KINDS.join(", ")
                ),
            );
        }
        None => return bad(node, "no kind".into()),
    };
    let Some(meta) = node.get("metadata") else {
        return bad(node, format!("{kind} without metadata"));
    };
    let name = match text(meta, "name") {
        Some(n) if is_name(n) => n.to_string(),
        Some(n) => {
            return bad(
                meta,
                format!(
                    "metadata.name `{n}` is not a valid name (lower case letters, digits, `-`, `.`, at most 63)"
                ),
            );
        }
        None => return bad(meta, format!("{kind} without metadata.name")),
    };
    if meta.get("displayName").is_some() && text(meta, "displayName").is_none_or(str::is_empty) {
        return bad(meta, "metadata.displayName must not be empty".into());
    }
    let Some(spec) = node.get("spec").filter(|s| s.as_map().is_some()) else {
        return bad(node, format!("{kind} `{name}` without spec"));
    };
    if let Some(d) = text(spec, "description")
        && d.chars().count() > DESCRIPTION_MAX
    {
        return bad(
            spec.get("description").unwrap_or(spec),
            format!("description longer than {DESCRIPTION_MAX} characters"),
        );
    }
    match kind {
        "SLI" => check_sli(spec)?,
        "SLO" => check_slo(spec)?,
        "DataSource" if text(spec, "type").is_none() => {
            return bad(spec, "DataSource without spec.type".into());
        }
        "AlertPolicy"
            if spec
                .get("conditions")
                .and_then(Node::as_seq)
                .is_none_or(|c| c.len() != 1) =>
        {
            return bad(spec, "AlertPolicy needs exactly one condition".into());
        }
        _ => {}
    }
    Ok(Doc { kind, name, node })
}

fn check_metric_source(n: &Node, at: &str) -> Result<(), Problem> {
    let Some(ms) = n.get("metricSource") else {
        return Err(invalid(
            &n.origin,
            format!("{at} without metricSource"),
            "give metricSource with type (or metricSourceRef) and spec",
        ));
    };
    if text(ms, "type").is_none() && text(ms, "metricSourceRef").is_none() {
        return Err(invalid(
            &ms.origin,
            format!("{at}.metricSource has neither type nor metricSourceRef"),
            "name the data source type (Dynatrace, Prometheus) or a DataSource",
        ));
    }
    Ok(())
}

fn check_sli(spec: &Node) -> Result<(), Problem> {
    match (spec.get("thresholdMetric"), spec.get("ratioMetric")) {
        (Some(t), None) => check_metric_source(t, "thresholdMetric"),
        (None, Some(r)) => {
            if r.get("counter")
                .and_then(Node::as_scalar)
                .and_then(yaml::parse_bool)
                .is_none()
            {
                return Err(invalid(
                    &r.origin,
                    "ratioMetric.counter must be true or false",
                    "the specification requires counter",
                ));
            }
            let Some(total) = r.get("total") else {
                return Err(invalid(
                    &r.origin,
                    "ratioMetric without total",
                    "total, the denominator, is required",
                ));
            };
            match (r.get("good"), r.get("bad")) {
                (Some(g), None) => check_metric_source(g, "ratioMetric.good")?,
                (None, Some(b)) => check_metric_source(b, "ratioMetric.bad")?,
                (Some(_), Some(_)) => {
                    return Err(invalid(
                        &r.origin,
                        "ratioMetric has both good and bad",
                        "the specification allows one numerator: good or bad",
                    ));
                }
                (None, None) => {
                    return Err(invalid(
                        &r.origin,
                        "ratioMetric has neither good nor bad",
                        "give the numerator: good or bad",
                    ));
                }
            }
            check_metric_source(total, "ratioMetric.total")
        }
        (Some(_), Some(_)) => Err(invalid(
            &spec.origin,
            "SLI has both thresholdMetric and ratioMetric",
            "an SLI is one or the other",
        )),
        (None, None) => Err(invalid(
            &spec.origin,
            "SLI has neither thresholdMetric nor ratioMetric",
            "give one of them",
        )),
    }
}

fn check_slo(spec: &Node) -> Result<(), Problem> {
    match (spec.get("indicator"), text(spec, "indicatorRef")) {
        (Some(i), None) => {
            let name_ok = i
                .get("metadata")
                .and_then(|m| text(m, "name"))
                .is_some_and(is_name);
            if !name_ok {
                return Err(invalid(
                    &i.origin,
                    "indicator without a valid metadata.name",
                    "an inline SLI needs metadata.name",
                ));
            }
            check_sli(i.get("spec").unwrap_or(i))?;
        }
        (None, Some(_)) => {}
        (Some(_), Some(_)) => {
            return Err(invalid(
                &spec.origin,
                "SLO has both indicator and indicatorRef",
                "give one of them",
            ));
        }
        (None, None) => {
            return Err(invalid(
                &spec.origin,
                "SLO has neither indicator nor indicatorRef",
                "give one of them",
            ));
        }
    }
    let Some(objectives) = spec
        .get("objectives")
        .and_then(Node::as_seq)
        .filter(|o| !o.is_empty())
    else {
        return Err(invalid(
            &spec.origin,
            "SLO without objectives",
            "give at least one objective with a target",
        ));
    };
    for o in objectives {
        let target = text(o, "target").and_then(|t| t.parse::<f64>().ok());
        let percent = text(o, "targetPercent").and_then(|t| t.parse::<f64>().ok());
        let ok = match (target, percent) {
            (Some(t), None) => (0.0..1.0).contains(&t),
            (None, Some(p)) => (0.0..100.0).contains(&p),
            _ => false,
        };
        if !ok {
            return Err(invalid(
                &o.origin,
                "objective needs target in [0, 1) or targetPercent in [0, 100), one of them",
                "e.g. target: 0.99",
            ));
        }
        if let Some(op) = text(o, "op")
            && !matches!(op, "lt" | "lte" | "gt" | "gte")
        {
            return Err(invalid(
                &o.origin,
                format!("op `{op}` is not lt, lte, gt or gte"),
                "use one of lt, lte, gt, gte",
            ));
        }
    }
    match spec.get("timeWindow").and_then(Node::as_seq) {
        Some([w]) => {
            if !text(w, "duration").is_some_and(is_duration) {
                return Err(invalid(
                    &w.origin,
                    "timeWindow.duration must be a number and one of m h d w M Q Y (e.g. 28d)",
                    "e.g. duration: 28d",
                ));
            }
            let rolling = text(w, "isRolling").and_then(yaml::parse_bool);
            if rolling == Some(false) && w.get("calendar").is_none() {
                return Err(invalid(
                    &w.origin,
                    "a calendar timeWindow (isRolling: false) needs calendar.startTime and timeZone",
                    "add calendar or set isRolling: true",
                ));
            }
        }
        None => {}
        Some(_) => {
            return Err(invalid(
                &spec.origin,
                "timeWindow holds exactly one window",
                "keep one entry",
            ));
        }
    }
    if let Some(m) = text(spec, "budgetingMethod")
        && !matches!(m, "Occurrences" | "Timeslices" | "RatioTimeslices")
    {
        return Err(invalid(
            &spec.origin,
            format!("budgetingMethod `{m}` is not Occurrences, Timeslices or RatioTimeslices"),
            "use one of them",
        ));
    }
    Ok(())
}

/// Every document of `files` (`---` streams), checked; problems for syntax errors and refusals.
fn documents(files: &[Arc<SourceFile>]) -> (Vec<Node>, Vec<Problem>) {
    let mut nodes = Vec::new();
    let mut problems = Vec::new();
    for f in files {
        let (roots, p) = yaml::parse_documents(f);
        problems.extend(p);
        nodes.extend(roots.into_iter().filter(|n| !n.is_null()));
    }
    (nodes, problems)
}

/// Reads OpenSLO documents (any number per file, across files: references resolve by name).
pub fn import(files: &[Arc<SourceFile>]) -> Imported {
    let (nodes, mut problems) = documents(files);
    let mut docs = Vec::new();
    for n in &nodes {
        match check(n) {
            Ok(d) => docs.push(d),
            Err(p) => problems.push(p),
        }
    }
    let sources: BTreeMap<&str, &Doc> = docs
        .iter()
        .filter(|d| d.kind == "DataSource")
        .map(|d| (d.name.as_str(), d))
        .collect();
    let slis: BTreeMap<&str, &Doc> = docs
        .iter()
        .filter(|d| d.kind == "SLI")
        .map(|d| (d.name.as_str(), d))
        .collect();
    let mut out = Imported::default();
    let mut used_slis: Vec<&str> = Vec::new();
    for d in &docs {
        match d.kind {
            "SLO" => match slo(d, &slis, &sources, &mut out) {
                Ok(sli) => used_slis.push(sli),
                Err(p) => problems.push(p),
            },
            "SLI" | "DataSource" => {}
            other => out.losses.push(Loss::new(
                &d.node.origin,
                format!("{other} `{}`", d.name),
                match other {
                    "Service" => "a gate evaluates the service it is run for (--service); the Service document adds nothing Keptn files hold",
                    _ => "alerting is not part of a gate's objectives",
                },
            )),
        }
    }
    // An SLI no SLO uses still converts (an informational objective would need no SLO):
    // it becomes an indicator without objective, as an sli.yaml entry.
    for (name, d) in &slis {
        if used_slis.contains(name) {
            continue;
        }
        match indicator(name, d.node.get("spec").unwrap_or(d.node), &sources) {
            Ok((ind, _)) => {
                if out.model.indicator(&ind.name).is_none() {
                    out.model.indicators.push(ind);
                }
            }
            Err(p) => problems.push(p),
        }
    }
    if !out.model.objectives.is_empty() {
        out.model.total_pass = Some("100%".into());
    }
    out.problems = problems;
    out
}

/// What an SLI's metric source reads: its source and query; refused for other types.
fn metric_source(n: &Node, sources: &BTreeMap<&str, &Doc>) -> Result<(Source, String), Problem> {
    let ms = n.get("metricSource").unwrap_or(n);
    let referenced = text(ms, "metricSourceRef").and_then(|r| sources.get(r));
    let ty = text(ms, "type").or_else(|| {
        referenced
            .and_then(|d| d.node.get("spec"))
            .and_then(|s| text(s, "type"))
    });
    let Some(ty) = ty else {
        let r = text(ms, "metricSourceRef").unwrap_or("");
        return Err(refused(
            &ms.origin,
            format!(
                "metricSourceRef `{r}` names no DataSource among the files given, and no type is given"
            ),
            "pass the DataSource's file too, or write type: Dynatrace or Prometheus",
        ));
    };
    let source = match ty.to_ascii_lowercase().as_str() {
        "dynatrace" => Source::Dynatrace,
        "prometheus" => Source::Prometheus,
        _ => {
            return Err(refused(
                &ms.origin,
                format!("data source type `{ty}`: slogate reads Dynatrace and Prometheus only"),
                "convert SLOs on Dynatrace or Prometheus metrics; this one cannot be evaluated by slogate",
            ));
        }
    };
    let spec = ms.get("spec");
    let q = spec.and_then(|s| text(s, "query"));
    let query = match (source, q) {
        (_, Some(q)) => q.trim().to_string(),
        (Source::Dynatrace, None) => match spec.and_then(|s| text(s, "metricSelector")) {
            Some(sel) => {
                let mut q = format!("metricSelector={}", sel.trim());
                if let Some(e) = spec.and_then(|s| text(s, "entitySelector")) {
                    q.push_str(&format!("&entitySelector={}", e.trim()));
                }
                q
            }
            None => {
                return Err(refused(
                    &ms.origin,
                    "Dynatrace metricSource without spec.query or spec.metricSelector",
                    "write spec.metricSelector (and entitySelector), or spec.query as in sli.yaml",
                ));
            }
        },
        (Source::Prometheus, None) => {
            return Err(refused(
                &ms.origin,
                "Prometheus metricSource without spec.query",
                "write spec.query: <PromQL>",
            ));
        }
    };
    Ok((source, query))
}

/// Is the SLI a ratio (`Some(counts good)`), and its Keptn query: the good share in percent.
fn indicator(
    name: &str,
    spec: &Node,
    sources: &BTreeMap<&str, &Doc>,
) -> Result<(Indicator, Option<bool>), Problem> {
    if let Some(t) = spec.get("thresholdMetric") {
        let (source, query) = metric_source(t, sources)?;
        return Ok((
            Indicator {
                name: name.to_string(),
                source,
                query,
            },
            None,
        ));
    }
    let r = spec.get("ratioMetric").unwrap_or(spec);
    let counter = text(r, "counter")
        .and_then(yaml::parse_bool)
        .unwrap_or(false);
    let (good, num) = match r.get("good") {
        Some(g) => (true, g),
        None => (false, r.get("bad").unwrap_or(r)),
    };
    let (s1, q1) = metric_source(num, sources)?;
    let (s2, q2) = metric_source(r.get("total").unwrap_or(r), sources)?;
    if s1 != s2 {
        return Err(refused(
            &r.origin,
            "the numerator and total come from different sources",
            "one SLI is one query to one source",
        ));
    }
    let query = match s1 {
        Source::Prometheus => {
            // Counters are cumulative: the window's increase is what counts.
            let w = |q: &str| {
                if counter {
                    format!("sum(increase(({q})[$DURATION_SECONDS:1m]))")
                } else {
                    format!("({q})")
                }
            };
            if good {
                format!("100 * {} / {}", w(&q1), w(&q2))
            } else {
                format!("100 * (1 - {} / {})", w(&q1), w(&q2))
            }
        }
        Source::Dynatrace => {
            let sel = |q: &str| -> Result<(String, Option<String>), Problem> {
                match crate::query::parse::parse(q) {
                    Ok(crate::query::SliQuery::Metrics(m)) => {
                        Ok((m.metric_selector, m.entity_selector))
                    }
                    _ => Err(refused(
                        &r.origin,
                        format!("`{q}` is not a Dynatrace metrics query"),
                        "a Dynatrace ratio needs two metric selectors",
                    )),
                }
            };
            let (a, ea) = sel(&q1)?;
            let (b, eb) = sel(&q2)?;
            if ea != eb {
                return Err(refused(
                    &r.origin,
                    "the numerator and total select different entities",
                    "give both the same entitySelector",
                ));
            }
            let expr = if good {
                format!("(100)*({a})/({b})")
            } else {
                format!("(100)-(100)*({a})/({b})")
            };
            match ea {
                Some(e) => format!("metricSelector={expr}&entitySelector={e}"),
                None => format!("metricSelector={expr}"),
            }
        }
    };
    Ok((
        Indicator {
            name: name.to_string(),
            source: s1,
            query,
        },
        Some(good),
    ))
}

fn op_of(op: &str) -> Option<Operator> {
    Some(match op {
        "lt" => Operator::Lt,
        "lte" => Operator::Le,
        "gt" => Operator::Gt,
        "gte" => Operator::Ge,
        _ => return None,
    })
}

/// One SLO: its SLI (inline or referenced) and one Keptn objective per OpenSLO objective.
fn slo<'a>(
    d: &'a Doc,
    slis: &BTreeMap<&'a str, &'a Doc>,
    sources: &BTreeMap<&str, &Doc>,
    out: &mut Imported,
) -> Result<&'a str, Problem> {
    let spec = d.node.get("spec").unwrap_or(d.node);
    let (sli_name, sli_spec): (&str, &Node) =
        match (spec.get("indicator"), text(spec, "indicatorRef")) {
            (Some(i), _) => (
                i.get("metadata")
                    .and_then(|m| text(m, "name"))
                    .unwrap_or(""),
                i.get("spec").unwrap_or(i),
            ),
            (None, Some(r)) => match slis.get(r) {
                Some(s) => (s.name.as_str(), s.node.get("spec").unwrap_or(s.node)),
                None => {
                    return Err(refused(
                        &spec.get("indicatorRef").unwrap_or(spec).origin,
                        format!("indicatorRef `{r}` names no SLI among the files given"),
                        "pass the SLI's file too",
                    ));
                }
            },
            _ => {
                return Err(refused(
                    &spec.origin,
                    "SLO without indicator",
                    "give indicator or indicatorRef",
                ));
            }
        };
    let (ind, ratio) = indicator(sli_name, sli_spec, sources)?;
    let sli = ind.name.clone();
    if out.model.indicator(&sli).is_none() {
        out.model.indicators.push(ind);
    }
    let method = text(spec, "budgetingMethod").unwrap_or("Occurrences");
    let window = spec
        .get("timeWindow")
        .and_then(Node::as_seq)
        .and_then(|w| w.first());
    let duration = window.and_then(|w| text(w, "duration"));
    let mut comments = Vec::new();
    if let Some(w) = window {
        let rolling = text(w, "isRolling")
            .and_then(yaml::parse_bool)
            .unwrap_or(false);
        let d = duration.unwrap_or("");
        let (c, why) = if rolling {
            (
                format!("OpenSLO timeWindow: rolling {d} window"),
                format!("Keptn files hold no window: evaluate with --timeframe {d}"),
            )
        } else {
            let start = w
                .get("calendar")
                .and_then(|c| text(c, "startTime"))
                .unwrap_or("");
            let tz = w
                .get("calendar")
                .and_then(|c| text(c, "timeZone"))
                .unwrap_or("UTC");
            (
                format!("OpenSLO timeWindow: calendar window of {d} from {start} ({tz})"),
                "Keptn files hold no window: evaluate each period with --from and --to".to_string(),
            )
        };
        comments.push(c.clone());
        out.losses.push(Loss::new(&w.origin, c, why));
    }
    if let Some(a) = spec.get("alertPolicies") {
        out.losses.push(Loss::new(
            &a.origin,
            format!("alertPolicies of SLO `{}`", d.name),
            "alerting is not part of a gate's objectives",
        ));
    }
    let display = d.node.get("metadata").and_then(|m| text(m, "displayName"));
    for o in spec.get("objectives").and_then(Node::as_seq).unwrap_or(&[]) {
        let target = text(o, "target")
            .and_then(|t| t.parse::<f64>().ok())
            .map(|t| t * 100.0)
            .or_else(|| text(o, "targetPercent").and_then(|t| t.parse::<f64>().ok()))
            .unwrap_or(0.0);
        let mut notes = comments.clone();
        let criterion = match ratio {
            Some(_) => {
                if method != "Occurrences" {
                    let c = format!(
                        "budgetingMethod {method}: the gate compares the window's good share, as Occurrences does"
                    );
                    out.losses.push(Loss::new(&o.origin, c.clone(), "time slices of a ratio are not computed; the share over the whole window is"));
                    notes.push(c);
                }
                if let Some(op) = text(o, "op") {
                    out.losses.push(Loss::new(
                        &o.origin,
                        format!("op {op} with value on a ratio SLI"),
                        "a ratio objective is its target: the good share must reach it",
                    ));
                }
                format!(">={}", number(target))
            }
            None => {
                let (Some(op), Some(value)) = (
                    text(o, "op").and_then(op_of),
                    text(o, "value").and_then(|v| v.parse::<f64>().ok()),
                ) else {
                    return Err(refused(
                        &o.origin,
                        "a threshold objective needs op and value",
                        "e.g. op: lte, value: 600",
                    ));
                };
                // One time slice as long as the window: the window's value decides, exactly.
                let one_slice = method == "Timeslices"
                    && text(o, "timeSliceWindow").is_some()
                    && text(o, "timeSliceWindow") == duration;
                if !one_slice {
                    let c = format!(
                        "target {}% of {}: the gate compares the window's single value",
                        number(target),
                        if method == "Occurrences" {
                            "events"
                        } else {
                            "time slices"
                        }
                    );
                    out.losses.push(Loss::new(&o.origin, c.clone(), "a Keptn objective has one value per window; the share of good events or slices within it is not computed"));
                    notes.push(c);
                }
                format!("{}{}", op.as_str(), number(value))
            }
        };
        let name = text(o, "displayName").or(display).map(str::to_string);
        out.model.objectives.push(Objective {
            sli: sli.clone(),
            display_name: name,
            key_sli: false,
            weight: None,
            pass: vec![vec![criterion]],
            warning: Vec::new(),
            comments: notes,
        });
    }
    Ok(sli_name)
}

/// The metric source's `spec`: a Dynatrace metrics query as `metricSelector` and
/// `entitySelector` when that is all it holds (what other OpenSLO tools read), anything else as
/// `query`, the sli.yaml text.
fn source_spec(i: &Indicator) -> String {
    if i.source == Source::Dynatrace
        && let Ok(crate::query::SliQuery::Metrics(m)) = crate::query::parse::parse(&i.query)
        && m.resolution.is_none()
        && m.mz_selector.is_none()
    {
        let rebuilt = match &m.entity_selector {
            Some(e) => format!("metricSelector={}&entitySelector={e}", m.metric_selector),
            None => format!("metricSelector={}", m.metric_selector),
        };
        // Only when importing it again gives the same text.
        if rebuilt == i.query.trim() {
            let mut t = format!("        metricSelector: {}\n", scalar(&m.metric_selector));
            if let Some(e) = &m.entity_selector {
                t.push_str(&format!("        entitySelector: {}\n", scalar(e)));
            }
            return t;
        }
    }
    format!("        query: {}\n", scalar(&i.query))
}

/// Writes a model as OpenSLO v1: a DataSource per source, an SLI per indicator (threshold
/// metric, its query as written) and an SLO per objective with one slice as long as the window
/// (`Timeslices`, `timeSliceWindow` = the window), which is exactly "the window's value meets the
/// criterion". What OpenSLO cannot hold is a loss: warning criteria, relative criteria, OR-ed
/// criteria lists, key SLIs, weights, the total score.
pub fn export(read: &super::keptn::Read, window: &str) -> Exported {
    let m = &read.model;
    let mut t = String::new();
    let mut losses = Vec::new();
    let doc = |t: &mut String, body: String| {
        if !t.is_empty() {
            t.push_str("---\n");
        }
        t.push_str(&body);
    };
    let mut used: Vec<Source> = m.indicators.iter().map(|i| i.source).collect();
    used.sort();
    used.dedup();
    for s in &used {
        let ty = match s {
            Source::Dynatrace => "Dynatrace",
            Source::Prometheus => "Prometheus",
        };
        doc(
            &mut t,
            format!(
                "apiVersion: {API_VERSION}\nkind: DataSource\nmetadata:\n  name: {}\nspec:\n  type: {ty}\n  connectionDetails: {{}}\n",
                s.as_str()
            ),
        );
    }
    for i in &m.indicators {
        let name = dns_name(&i.name);
        let mut body = format!("apiVersion: {API_VERSION}\nkind: SLI\nmetadata:\n  name: {name}\n");
        if name != i.name {
            body.push_str(&format!("  displayName: {}\n", scalar(&i.name)));
        }
        let ty = if i.source == Source::Dynatrace {
            "Dynatrace"
        } else {
            "Prometheus"
        };
        body.push_str(&format!(
            "spec:\n  thresholdMetric:\n    metricSource:\n      metricSourceRef: {}\n      type: {ty}\n      spec:\n{}",
            i.source.as_str(),
            source_spec(i)
        ));
        doc(&mut t, body);
    }
    let mut names: Vec<String> = Vec::new();
    for (k, o) in m.objectives.iter().enumerate() {
        let at = &read.objective_origins[k];
        let what = |s: &str| format!("objective `{}`: {s}", o.sli);
        if o.pass.is_empty() {
            losses.push(Loss::new(
                at,
                what("informational (no pass criteria)"),
                "an OpenSLO SLO needs an objective; the SLI is exported alone",
            ));
            continue;
        }
        if o.pass.len() > 1 {
            losses.push(Loss::new(
                at,
                what("pass lists after the first (OR)"),
                "OpenSLO objectives all hold together; only the first list is exported",
            ));
        }
        if !o.warning.is_empty() {
            losses.push(Loss::new(
                at,
                what("warning criteria"),
                "OpenSLO has no warning level",
            ));
        }
        if o.key_sli {
            losses.push(Loss::new(
                at,
                what("key_sli: true"),
                "OpenSLO has no key objective; every SLO stands alone",
            ));
        }
        if o.weight.is_some() {
            losses.push(Loss::new(
                at,
                what("weight"),
                "OpenSLO SLOs are not weighted",
            ));
        }
        let mut objectives = String::new();
        for c in &o.pass[0] {
            let Some((op, v)) = absolute(c) else {
                losses.push(Loss::new(
                    at,
                    what(&format!("relative criterion `{c}`")),
                    "OpenSLO compares with fixed values only; there is no baseline",
                ));
                continue;
            };
            let op = match op {
                Operator::Lt => "lt",
                Operator::Le => "lte",
                Operator::Gt => "gt",
                Operator::Ge => "gte",
                Operator::Eq => {
                    losses.push(Loss::new(
                        at,
                        what(&format!("criterion `{c}`")),
                        "OpenSLO has no `=`",
                    ));
                    continue;
                }
            };
            let dn = o
                .display_name
                .as_deref()
                .map(|d| format!("      displayName: {}\n", scalar(d)))
                .unwrap_or_default();
            objectives.push_str(&format!("    - op: {op}\n{dn}      value: {}\n      target: 0.99\n      timeSliceWindow: {window}\n", number(v)));
        }
        if objectives.is_empty() {
            continue;
        }
        let mut name = format!("{}-slo", dns_name(&o.sli));
        while names.contains(&name) {
            name = format!("{name}-{}", names.len());
        }
        names.push(name.clone());
        doc(
            &mut t,
            format!(
                "apiVersion: {API_VERSION}\nkind: SLO\nmetadata:\n  name: {name}\nspec:\n  indicatorRef: {}\n  timeWindow:\n    - duration: {window}\n      isRolling: true\n  budgetingMethod: Timeslices\n  objectives:\n{objectives}",
                dns_name(&o.sli)
            ),
        );
    }
    if let (Some(p), Some(at)) = (&m.total_pass, &read.total_origin)
        && p.trim_end_matches('%') != "100"
    {
        losses.push(Loss::new(
            at,
            format!("total_score pass {p}"),
            "OpenSLO SLOs are met one by one; imported again, all must pass (100%)",
        ));
    }
    Exported { text: t, losses }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn import_text(t: &str) -> Imported {
        import(&[SourceFile::new("t.yaml", t)])
    }

    const FILES: &str = "apiVersion: openslo/v1
kind: DataSource
metadata: {name: prom}
spec: {type: Prometheus, connectionDetails: {url: http://p}}
---
apiVersion: openslo/v1
kind: SLI
metadata: {name: availability}
spec:
  ratioMetric:
    counter: true
    good: {metricSource: {metricSourceRef: prom, spec: {query: 'http_requests_total{code!~\"5..\"}'}}}
    total: {metricSource: {metricSourceRef: prom, spec: {query: http_requests_total}}}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: checkout-availability, displayName: Checkout availability}
spec:
  indicatorRef: availability
  timeWindow: [{duration: 28d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.995}]
";

    #[test]
    fn a_ratio_becomes_the_good_share_in_percent() {
        let got = import_text(FILES);
        assert!(got.problems.is_empty(), "{:?}", got.problems);
        let m = &got.model;
        assert_eq!(m.indicators.len(), 1);
        assert_eq!(m.indicators[0].source, Source::Prometheus);
        assert_eq!(
            m.indicators[0].query,
            "100 * sum(increase((http_requests_total{code!~\"5..\"})[$DURATION_SECONDS:1m])) / sum(increase((http_requests_total)[$DURATION_SECONDS:1m]))"
        );
        assert_eq!(m.objectives[0].pass, vec![vec![">=99.5".to_string()]]);
        assert_eq!(
            m.objectives[0].display_name.as_deref(),
            Some("Checkout availability")
        );
        assert_eq!(m.total_pass.as_deref(), Some("100%"));
        // The window is listed, and kept as a comment.
        assert!(got.losses.iter().any(|l| l.why.contains("--timeframe 28d")));
        assert!(m.objectives[0].comments[0].contains("rolling 28d"));
    }

    #[test]
    fn the_specifications_rules_refuse() {
        let one = |t: &str| {
            let got = import_text(t);
            assert_eq!(got.problems.len(), 1, "{t}: {:?}", got.problems);
            got.problems[0].to_json()["message"]
                .as_str()
                .unwrap()
                .to_string()
        };
        assert!(one("apiVersion: openslo/v1alpha\nkind: SLO\n").contains("openslo/v1alpha"));
        assert!(
            one("apiVersion: openslo/v1\nkind: Slo\nmetadata: {name: a}\nspec: {}\n")
                .contains("unknown kind")
        );
        assert!(
            one("apiVersion: openslo/v1\nkind: SLI\nmetadata: {name: A_b}\nspec: {}\n")
                .contains("not a valid name")
        );
        let both = "apiVersion: openslo/v1\nkind: SLI\nmetadata: {name: a}\nspec:\n  ratioMetric:\n    counter: true\n    good: {metricSource: {type: Prometheus, spec: {query: a}}}\n    bad: {metricSource: {type: Prometheus, spec: {query: b}}}\n    total: {metricSource: {type: Prometheus, spec: {query: c}}}\n";
        assert!(one(both).contains("both good and bad"));
        let target = "apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: a}\nspec:\n  indicatorRef: x\n  objectives: [{target: 1.5}]\n";
        assert!(one(target).contains("target in [0, 1)"));
        let datadog = "apiVersion: openslo/v1\nkind: SLI\nmetadata: {name: a}\nspec:\n  thresholdMetric: {metricSource: {type: Datadog, spec: {query: a}}}\n";
        assert!(one(datadog).contains("Dynatrace and Prometheus only"));
    }
}
