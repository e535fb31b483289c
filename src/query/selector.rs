//! Dynatrace's metric selector grammar, as far as `slogate lint` needs it to catch a typo before
//! Dynatrace answers 400 "Metric selector parse error": metric keys, metric expressions
//! (`(a)/(b)*100`), transformation chains (`:splitBy("dt.entity.service"):percentile(95)`) and
//! their arguments.
//!
//! Only what is certain is an error: a name one or two edits away from a known transformation
//! (`:avgg`), a `:percentile` or `:limit` without a usable number, a `:toUnit` unit that is a
//! near miss of a known unit. Anything else unknown is a warning: Dynatrace adds transformations
//! and units, and a real file must never fail lint because this list is behind. Pure.

use std::ops::Range;

/// The transformations of Dynatrace's metric selector (docs: "Metric selector transformations").
pub const TRANSFORMATIONS: &[&str] = &[
    "asGauge",
    "auto",
    "avg",
    "count",
    "default",
    "delta",
    "evaluateModel",
    "filter",
    "fold",
    "last",
    "lastReal",
    "limit",
    "max",
    "median",
    "merge",
    "min",
    "names",
    "parents",
    "partition",
    "percentile",
    "rate",
    "rollup",
    "setUnit",
    "smooth",
    "sort",
    "splitBy",
    "sum",
    "timeshift",
    "toUnit",
    "value",
];

/// The aggregations `:(min,max)` and `:fold(…)` take.
const AGGREGATIONS: &[&str] = &[
    "auto",
    "avg",
    "count",
    "max",
    "median",
    "min",
    "percentile",
    "sum",
    "value",
];

/// The conditions and operators inside `:filter(…)`.
const CONDITIONS: &[&str] = &[
    "and",
    "contains",
    "entitySelector",
    "eq",
    "existsKey",
    "ge",
    "gt",
    "in",
    "le",
    "lt",
    "ne",
    "not",
    "or",
    "prefix",
    "series",
    "suffix",
];

/// Dynatrace's unit ids, as `:toUnit` and `:setUnit` take them.
pub const UNITS: &[&str] = &[
    "Bit",
    "BitPerHour",
    "BitPerMinute",
    "BitPerSecond",
    "Byte",
    "BytePerHour",
    "BytePerMinute",
    "BytePerSecond",
    "Cores",
    "Count",
    "Day",
    "DecibelMilliWatt",
    "GibiByte",
    "GibiBytePerHour",
    "GibiBytePerMinute",
    "GibiBytePerSecond",
    "GigaByte",
    "GigaBytePerHour",
    "GigaBytePerMinute",
    "GigaBytePerSecond",
    "Hour",
    "KibiByte",
    "KibiBytePerHour",
    "KibiBytePerMinute",
    "KibiBytePerSecond",
    "KiloByte",
    "KiloBytePerHour",
    "KiloBytePerMinute",
    "KiloBytePerSecond",
    "KiloMetrePerHour",
    "MSU",
    "MebiByte",
    "MebiBytePerHour",
    "MebiBytePerMinute",
    "MebiBytePerSecond",
    "MegaByte",
    "MegaBytePerHour",
    "MegaBytePerMinute",
    "MegaBytePerSecond",
    "MetrePerHour",
    "MetrePerSecond",
    "MicroSecond",
    "MilliCores",
    "MilliSecond",
    "MilliSecondPerMinute",
    "Minute",
    "Month",
    "NanoSecond",
    "NanoSecondPerMinute",
    "NotApplicable",
    "PerHour",
    "PerMinute",
    "PerSecond",
    "Percent",
    "Pixel",
    "Promille",
    "Ratio",
    "Second",
    "State",
    "Unspecified",
    "Week",
    "Year",
];

/// Metric key prefixes followed by a colon (`builtin:service.response.time`).
const KEY_PREFIXES: &[&str] = &["builtin", "calc", "dsfm", "ext", "func", "log"];

/// Transformations after which a series keeps its metric's unit.
const UNIT_KEEPING: &[&str] = &[
    "auto",
    "avg",
    "default",
    "filter",
    "fold",
    "last",
    "lastReal",
    "limit",
    "max",
    "median",
    "merge",
    "min",
    "names",
    "parents",
    "percentile",
    "smooth",
    "sort",
    "splitBy",
    "sum",
    "timeshift",
    "value",
];

/// The metric key of a selector whose unit is its metric's (`builtin:service.response.time`
/// for `builtin:service.response.time:splitBy():percentile(95)`), so the descriptors of many
/// selectors can be asked for in one list request. `None` for anything else (an expression, a
/// transformation that changes the unit such as `:count` or `:rate`, a wildcard): that selector's
/// own descriptor says its unit.
pub fn unit_key(selector: &str) -> Option<&str> {
    let s = selector.trim();
    let key_ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '~');
    // A key is `prefix:name` for the known prefixes, else up to the first `:`.
    let after_prefix = KEY_PREFIXES
        .iter()
        .find(|p| s.starts_with(**p) && s[p.len()..].starts_with(':'))
        .map_or(0, |p| p.len() + 1);
    let key_end = s[after_prefix..]
        .find(|c: char| !key_ok(c))
        .map_or(s.len(), |i| after_prefix + i);
    if key_end == after_prefix {
        return None;
    }
    let mut rest = &s[key_end..];
    while !rest.is_empty() {
        rest = rest.strip_prefix(':')?;
        let name_end = rest
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(rest.len());
        if !UNIT_KEEPING.contains(&&rest[..name_end]) {
            return None;
        }
        rest = &rest[name_end..];
        if rest.starts_with('(') {
            // The arguments, to the matching parenthesis (quotes may hold parentheses).
            let mut depth = 0usize;
            let mut quoted = false;
            let mut end = None;
            for (i, c) in rest.char_indices() {
                match c {
                    '"' => quoted = !quoted,
                    '(' if !quoted => depth += 1,
                    ')' if !quoted => {
                        depth -= 1;
                        if depth == 0 {
                            end = Some(i);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            rest = &rest[end? + 1..];
        }
    }
    Some(&s[..key_end])
}

/// One finding in a metric selector; `span` is a byte range of the selector text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub span: Range<usize>,
    pub message: String,
    /// The valid name to write instead, when one is close.
    pub suggestion: Option<&'static str>,
    /// Certain to be refused (an error); otherwise only unknown to slogate (a warning).
    pub certain: bool,
}

/// Checks a metric selector; empty when nothing is wrong or everything is unsure.
pub fn check(selector: &str) -> Vec<Finding> {
    let mut p = Parser {
        s: selector.as_bytes(),
        text: selector,
        at: 0,
        out: Vec::new(),
    };
    p.expressions(selector.len());
    p.out
}

/// The nearest known name when `name` is a near miss of it: one edit for short names, two for
/// longer ones. A name that differs only in case is left alone (not certain either way).
pub fn near_miss(name: &str, known: &[&'static str]) -> Option<&'static str> {
    if known.iter().any(|k| k.eq_ignore_ascii_case(name)) {
        return None;
    }
    let allowed = if name.chars().count() <= 4 { 1 } else { 2 };
    known
        .iter()
        .map(|k| {
            (
                strsim::damerau_levenshtein(&name.to_lowercase(), &k.to_lowercase()),
                *k,
            )
        })
        .filter(|(d, _)| *d <= allowed)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    at: usize,
    out: Vec<Finding>,
}

fn is_key_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-' | b'*' | b'$' | b'~')
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.at += 1;
        }
    }

    /// The index of the `)` closing the `(` at `open`, skipping quoted text.
    fn closing(&self, open: usize) -> Option<usize> {
        let mut depth = 0usize;
        let mut i = open;
        let mut quoted = false;
        while i < self.s.len() {
            let c = self.s[i];
            if quoted {
                if c == b'\\' {
                    i += 1;
                } else if c == b'"' {
                    quoted = false;
                }
            } else {
                match c {
                    b'"' => quoted = true,
                    b'(' => depth += 1,
                    b')' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i);
                        }
                    }
                    _ => {}
                }
            }
            i += 1;
        }
        None
    }

    /// Expressions separated by `,` and operands joined by `+ - * /`, up to `end`. Stops quietly
    /// at anything it does not understand: that is Dynatrace's to judge.
    fn expressions(&mut self, end: usize) {
        loop {
            self.skip_space();
            if self.at >= end || !self.operand(end) {
                return;
            }
            self.skip_space();
            match self.peek() {
                Some(b'+' | b'-' | b'*' | b'/' | b',') if self.at < end => self.at += 1,
                _ => return,
            }
        }
    }

    /// One operand and its transformations; `false` when it cannot be read.
    fn operand(&mut self, end: usize) -> bool {
        match self.peek() {
            Some(b'(') => {
                let Some(close) = self.closing(self.at).filter(|&c| c < end) else {
                    return false;
                };
                self.at += 1;
                self.expressions(close);
                self.at = close + 1;
            }
            Some(c) if c.is_ascii_digit() || c == b'.' => {
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_digit() || c == b'.' || c == b'e')
                {
                    self.at += 1;
                }
                return true;
            }
            Some(c) if is_key_char(c) => self.key(end),
            _ => return false,
        }
        self.transformations(end)
    }

    /// A metric key: its segments up to the first colon that starts a transformation.
    fn key(&mut self, end: usize) {
        let start = self.at;
        let segment = |p: &mut Self| {
            while p.at < end && p.peek().is_some_and(is_key_char) {
                p.at += 1;
            }
        };
        segment(self);
        let first = &self.text[start..self.at];
        if self.peek() == Some(b':') && KEY_PREFIXES.contains(&first) {
            self.at += 1;
            segment(self);
        }
        // `foo:bar.baz`: a segment with more than letters belongs to the key.
        while self.peek() == Some(b':') {
            let from = self.at + 1;
            let mut i = from;
            while i < end && is_key_char(self.s[i]) {
                i += 1;
            }
            let seg = &self.s[from..i];
            if seg.is_empty() || seg.iter().all(u8::is_ascii_alphabetic) {
                return;
            }
            self.at = i;
        }
    }

    /// `:name`, `:name(args)` or `:(agg, …)`, repeated.
    fn transformations(&mut self, end: usize) -> bool {
        while self.at < end && self.peek() == Some(b':') {
            self.at += 1;
            let name_start = self.at;
            while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
                self.at += 1;
            }
            let name_end = self.at;
            let name = &self.text[name_start..name_end];
            let args = if self.peek() == Some(b'(') {
                let Some(close) = self.closing(self.at).filter(|&c| c < end) else {
                    self.out.push(Finding {
                        span: name_start..end,
                        message: "unbalanced parentheses: `(` is never closed".into(),
                        suggestion: None,
                        certain: true,
                    });
                    return false;
                };
                let inner = self.at + 1..close;
                self.at = close + 1;
                Some(inner)
            } else {
                None
            };
            if name.is_empty() {
                match args {
                    // `:(min,max)`: a list of aggregations.
                    Some(inner) => self.names_in(inner, AGGREGATIONS, "aggregation", false),
                    None => {
                        self.out.push(Finding {
                            span: name_start.saturating_sub(1)..name_start,
                            message: "`:` without a transformation after it".into(),
                            suggestion: None,
                            certain: true,
                        });
                        return false;
                    }
                }
                continue;
            }
            if !TRANSFORMATIONS.contains(&name) {
                self.unknown(
                    name_start..name_end,
                    name,
                    TRANSFORMATIONS,
                    "transformation",
                );
                continue;
            }
            if let Some(inner) = args {
                self.arguments(name, name_start..name_end, inner);
            } else if matches!(name, "percentile" | "limit" | "toUnit" | "merge") {
                self.out.push(Finding {
                    span: name_start..name_end,
                    message: format!("`:{name}` needs arguments, e.g. {}", example(name)),
                    suggestion: None,
                    certain: true,
                });
            }
        }
        true
    }

    fn unknown(&mut self, span: Range<usize>, name: &str, known: &[&'static str], what: &str) {
        if known.iter().any(|k| k.eq_ignore_ascii_case(name)) {
            return;
        }
        let suggestion = near_miss(name, known);
        self.out.push(Finding {
            span,
            message: match suggestion {
                Some(_) => format!("unknown {what} `{name}`"),
                None => format!("`{name}` is no {what} slogate knows"),
            },
            suggestion,
            certain: suggestion.is_some(),
        });
    }

    /// Checks the names in `inner`: with `calls`, only those followed by `(` (filter
    /// conditions); else every bare word (a list of aggregations).
    fn names_in(&mut self, inner: Range<usize>, known: &[&'static str], what: &str, calls: bool) {
        let mut i = inner.start;
        let mut quoted = false;
        while i < inner.end {
            let c = self.s[i];
            if quoted {
                if c == b'\\' {
                    i += 1;
                } else if c == b'"' {
                    quoted = false;
                }
                i += 1;
                continue;
            }
            if c == b'"' {
                quoted = true;
                i += 1;
                continue;
            }
            if c.is_ascii_alphabetic() && (i == inner.start || !is_key_char(self.s[i - 1])) {
                let start = i;
                while i < inner.end && self.s[i].is_ascii_alphanumeric() {
                    i += 1;
                }
                let word = &self.text[start..i];
                let called = self.s.get(i) == Some(&b'(');
                if (calls && called) || (!calls && !word.chars().all(|c| c.is_ascii_digit())) {
                    self.unknown(start..i, word, known, what);
                }
                continue;
            }
            i += 1;
        }
    }

    fn arguments(&mut self, name: &str, span: Range<usize>, inner: Range<usize>) {
        let text = self.text[inner.clone()].trim();
        let args: Vec<&str> = split_top(text);
        let wrong = |message: String| Finding {
            span: span.start..inner.end + 1,
            message,
            suggestion: None,
            certain: true,
        };
        match name {
            "percentile" => {
                let ok = args.len() == 1
                    && args[0]
                        .trim()
                        .parse::<f64>()
                        .is_ok_and(|p| (0.0..=100.0).contains(&p));
                if !ok {
                    self.out.push(wrong(format!(
                        "`:percentile({text})` needs one number from 0 to 100, e.g. :percentile(95)"
                    )));
                }
            }
            "limit" if !(args.len() == 1 && args[0].trim().parse::<u64>().is_ok()) => {
                self.out.push(wrong(format!(
                    "`:limit({text})` needs one whole number, e.g. :limit(10)"
                )));
            }
            "toUnit" => {
                if args.len() != 2 {
                    self.out.push(wrong(format!(
                        "`:toUnit({text})` needs two units, from and to, e.g. :toUnit(MicroSecond,MilliSecond)"
                    )));
                    return;
                }
                self.units(inner);
            }
            "setUnit" => self.units(inner),
            "fold" => self.names_in(inner, AGGREGATIONS, "aggregation", false),
            "filter" => self.names_in(inner, CONDITIONS, "filter condition", true),
            _ => {}
        }
    }

    /// Each unit id in `inner` (a placeholder or anything not a plain word is left alone).
    fn units(&mut self, inner: Range<usize>) {
        let mut at = inner.start;
        for part in self.text[inner.clone()].split(',') {
            let lead = part.len() - part.trim_start().len();
            let unit = part.trim();
            let start = at + lead;
            at += part.len() + 1;
            if unit.is_empty() || !unit.chars().all(|c| c.is_ascii_alphabetic()) {
                continue;
            }
            if UNITS.contains(&unit) || unit == "auto" {
                continue;
            }
            self.unknown(start..start + unit.len(), unit, UNITS, "unit");
        }
    }
}

/// Splits at top-level commas (not inside parentheses or quotes).
fn split_top(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut from) = (0i32, false, 0);
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if quoted => i += 1,
            b'"' => quoted = !quoted,
            b'(' if !quoted => depth += 1,
            b')' if !quoted => depth -= 1,
            b',' if !quoted && depth == 0 => {
                out.push(&text[from..i]);
                from = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if !text.is_empty() {
        out.push(&text[from..]);
    }
    out
}

fn example(name: &str) -> &'static str {
    match name {
        "percentile" => ":percentile(95)",
        "limit" => ":limit(10)",
        "toUnit" => ":toUnit(MicroSecond,MilliSecond)",
        _ => ":merge(\"dt.entity.service\")",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(s: &str) -> Vec<(String, Option<&'static str>)> {
        check(s)
            .into_iter()
            .filter(|f| f.certain)
            .map(|f| (s[f.span].to_string(), f.suggestion))
            .collect()
    }

    #[test]
    fn valid_selectors_have_no_findings() {
        for s in [
            "builtin:service.response.time:merge(\"dt.entity.service\"):percentile(95):toUnit(MicroSecond,MilliSecond)",
            "builtin:service.requestCount.total:splitBy():sum",
            "builtin:service.response.time:splitBy(\"dt.entity.service\"):avg:names:sort(value(avg,descending)):limit(10)",
            "(builtin:service.errors.server.successCount:splitBy())/(builtin:service.requestCount.server:splitBy())*100",
            "builtin:host.disk.avail:(min,max)",
            "builtin:service.keyRequest.count.total:filter(and(in(\"dt.entity.service_method\",entitySelector(\"type(service_method),entityName(~\\\"/api~\\\")\")),eq(\"x\",\"y\"))):splitBy():value:fold(sum)",
            "calc:service.checkout_errors:filter(series(avg,gt(100))):default(0):timeshift(-1w)",
            "jmeter.usermetrics.transaction.meantime:filter(eq(transaction,$LABEL.txn)):avg",
            "builtin:apps.web.action.duration.load:lastReal:rollup(avg,15m):rate(1m)",
            "ext:tech.jvm.memory:auto:parents:delta:asGauge:smooth(skipfirst)",
        ] {
            assert!(check(s).is_empty(), "{s}: {:?}", check(s));
        }
    }

    #[test]
    fn a_typo_in_a_transformation_is_an_error_with_the_nearest_name() {
        assert_eq!(
            errors("builtin:service.response.time:avgg"),
            [("avgg".to_string(), Some("avg"))]
        );
        assert_eq!(
            errors("builtin:x.y:merge(\"dt.entity.service\"):percentil(95)"),
            [("percentil".to_string(), Some("percentile"))]
        );
        assert_eq!(
            errors("builtin:x.y:spltBy():sum"),
            [("spltBy".to_string(), Some("splitBy"))]
        );
        assert_eq!(
            errors("(builtin:a.b:summ)/(builtin:c.d:sum)"),
            [("summ".to_string(), Some("sum"))]
        );
    }

    #[test]
    fn an_unknown_name_far_from_every_known_one_is_only_a_warning() {
        let f = check("builtin:x.y:summary");
        assert_eq!(f.len(), 1);
        assert!(!f[0].certain);
        assert_eq!(f[0].suggestion, None);
        // A different spelling of a known name is not judged.
        assert!(check("builtin:x.y:splitby():AVG").is_empty());
    }

    #[test]
    fn arguments_of_known_transformations() {
        assert_eq!(errors("builtin:x.y:percentile(101)").len(), 1);
        assert_eq!(errors("builtin:x.y:percentile").len(), 1);
        assert_eq!(errors("builtin:x.y:limit(ten)").len(), 1);
        assert_eq!(errors("builtin:x.y:toUnit(MicroSecond)").len(), 1);
        assert_eq!(
            errors("builtin:x.y:toUnit(MicroSecond,MiliSecond)"),
            [("MiliSecond".to_string(), Some("MilliSecond"))]
        );
        assert_eq!(
            errors("builtin:x.y:filter(eqq(\"a\",\"b\"))"),
            [("eqq".to_string(), Some("eq"))]
        );
        assert_eq!(
            errors("builtin:x.y:(min,maxx)"),
            [("maxx".to_string(), Some("max"))]
        );
        assert_eq!(errors("builtin:x.y:splitBy(\"a\"").len(), 1);
    }

    #[test]
    fn keys_with_colons_are_keys_not_transformations() {
        assert!(check("builtin:service.response.time").is_empty());
        assert!(check("custom:my.metric.key:avg").is_empty());
        assert!(check("log.my-metric:sum").is_empty());
    }

    #[test]
    fn unit_keys_of_selectors_that_keep_their_metrics_unit() {
        for (sel, want) in [
            (
                "builtin:service.response.time",
                Some("builtin:service.response.time"),
            ),
            (
                "builtin:service.response.time:splitBy(\"dt.entity.service\"):percentile(95)",
                Some("builtin:service.response.time"),
            ),
            (
                "builtin:service.errors.total.rate:filter(eq(\"a)\",\"b\")):avg:names",
                Some("builtin:service.errors.total.rate"),
            ),
            ("custom.metric:max", Some("custom.metric")),
            ("builtin:service.requestCount.total:count", None),
            (
                "builtin:service.response.time:toUnit(MicroSecond,MilliSecond)",
                None,
            ),
            ("(builtin:a:avg)/(builtin:b:avg)", None),
            ("builtin:service.*", None),
            ("builtin:x:avg(", None),
        ] {
            assert_eq!(unit_key(sel), want, "{sel}");
        }
    }
}
