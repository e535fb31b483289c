//! Would Prometheus accept this PromQL? Checked with the `promql-parser` crate (Prometheus'
//! grammar and type rules) before anything is sent, so `lint` can say so with the file and line.

use super::queries::DURATION;

/// The parser's complaint about `query`, or `None` when it parses or cannot be judged:
/// `$DURATION_SECONDS` is filled with a sample range first, and a query that still has a `$`
/// outside quotes (a filter, label or deployment filled only at evaluation) is not judged.
pub fn check(query: &str) -> Option<String> {
    let filled = query.replace(DURATION, "1800s");
    if dollar_outside_quotes(&filled) {
        return None;
    }
    promql_parser::parser::parse(&filled)
        .err()
        .map(|e| e.trim().to_string())
}

/// Whether a `$` stands outside `'…'`, `"…"` and `` `…` `` (where a placeholder's value would
/// become PromQL syntax, not a label value).
fn dollar_outside_quotes(s: &str) -> bool {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in s.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' && q != '`' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' | '`' => quote = Some(c),
                '$' => return true,
                _ => {}
            },
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_prometheus_accepts() {
        for q in [
            "sum(rate(http_requests_total{job='carts-sockshop-staging-canary',status!~'2..'}[$DURATION_SECONDS]))/sum(rate(http_requests_total{job='carts-sockshop-staging-canary'}[$DURATION_SECONDS]))",
            "histogram_quantile(0.95,sum(rate(http_response_time_milliseconds_bucket{job='x'}[$DURATION_SECONDS]))by(le))",
            "avg_over_time(probe_success{instance=\"$SERVICE.$PROJECT-$STAGE.svc:80\"}[$DURATION_SECONDS:1s])*100",
            "sum(rate(webserver_errors{job=\"carts\"}[30m])) * 100 or on() vector(0)",
            "42",
            "http_requests_total{job=\"carts\",status=\"500\"}[1m]",
        ] {
            assert_eq!(check(q), None, "{q}");
        }
    }

    #[test]
    fn flags_what_prometheus_rejects() {
        for q in [
            "sum(irate(nginx_ingress_controller_requests{ingress=~\"podtato-head\"}))",
            "sum(rate(http_requests_total{job=\"a\"}[5m])",
            "rate(x[5m]) +",
        ] {
            assert!(check(q).is_some(), "{q}");
        }
    }

    #[test]
    fn placeholders_outside_quotes_are_not_judged() {
        assert_eq!(check("sum by ($LABEL.group) (up)"), None);
        assert!(dollar_outside_quotes("up{a=\"x\"} + $X"));
        assert!(!dollar_outside_quotes("up{a=\"$X\",b='\\'$Y'}"));
    }
}
