//! URL encoding exactly as Go's `net/url`, because Keptn's requests (and so the `query` field of
//! every indicator) were built with `url.Values.Encode()` and `url.PathEscape`. Matching them
//! byte for byte lets a report be compared with a Keptn event.

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// RFC 3986 unreserved characters: never escaped by Go in any mode.
fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

fn push_escaped(out: &mut String, b: u8) {
    out.push('%');
    out.push(char::from(HEX[usize::from(b >> 4)]));
    out.push(char::from(HEX[usize::from(b & 0x0f)]));
}

/// Go's `url.QueryEscape`: space becomes `+`, unreserved bytes stay, every other byte of the
/// UTF-8 encoding becomes `%XX` (uppercase).
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for &b in s.as_bytes() {
        if unreserved(b) {
            out.push(char::from(b));
        } else if b == b' ' {
            out.push('+');
        } else {
            push_escaped(&mut out, b);
        }
    }
    out
}

/// Go's `url.PathEscape` (one path segment): like `query_escape`, but `$ & + : = @` stay as they
/// are and space becomes `%20`; `/ ; , ?` are escaped.
pub fn path_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for &b in s.as_bytes() {
        if unreserved(b) || matches!(b, b'$' | b'&' | b'+' | b':' | b'=' | b'@') {
            out.push(char::from(b));
        } else {
            push_escaped(&mut out, b);
        }
    }
    out
}

/// Go's `url.Values.Encode()`: pairs sorted by key (bytewise; values of one key keep their
/// order), each `key=value` escaped with `query_escape`, joined by `&`.
pub fn query_string(pairs: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = pairs.iter().collect();
    // `sort_by` is stable, like the per-key value lists of `url.Values`.
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = String::new();
    for (k, v) in sorted {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(&query_escape(k));
        out.push('=');
        out.push_str(&query_escape(v));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn query_escape_matches_go() {
        // Expected values from Go 1.22 `url.QueryEscape`.
        assert_eq!(query_escape("a b"), "a+b");
        assert_eq!(query_escape("AZaz09-_.~"), "AZaz09-_.~");
        assert_eq!(
            query_escape("type(SERVICE),tag(a:b)"),
            "type%28SERVICE%29%2Ctag%28a%3Ab%29"
        );
        assert_eq!(query_escape("$&+/:;=?@"), "%24%26%2B%2F%3A%3B%3D%3F%40");
        assert_eq!(query_escape("\"'!*%#"), "%22%27%21%2A%25%23");
        assert_eq!(query_escape("µ"), "%C2%B5");
        assert_eq!(query_escape("\n\t"), "%0A%09");
        assert_eq!(query_escape(""), "");
    }

    #[test]
    fn path_escape_matches_go() {
        assert_eq!(path_escape("a b"), "a%20b");
        assert_eq!(path_escape("$&+:=@"), "$&+:=@");
        assert_eq!(path_escape("/;,?"), "%2F%3B%2C%3F");
        assert_eq!(
            path_escape("builtin:service.response.time:splitBy():percentile(95)"),
            "builtin:service.response.time:splitBy%28%29:percentile%2895%29"
        );
        assert_eq!(
            path_escape("merge(\"dt.entity.service\")"),
            "merge%28%22dt.entity.service%22%29"
        );
        assert_eq!(
            path_escape("7d07efde-b714-3e6e-ad95-08490e2540c4"),
            "7d07efde-b714-3e6e-ad95-08490e2540c4"
        );
        assert_eq!(path_escape("ü~"), "%C3%BC~");
    }

    #[test]
    fn query_string_sorts_keys_and_keeps_value_order() {
        let q = pairs(&[
            ("to", "2"),
            ("b", "y"),
            ("from", "1"),
            ("b", "x"),
            ("B", "z"),
        ]);
        assert_eq!(query_string(&q), "B=z&b=y&b=x&from=1&to=2");
        assert_eq!(query_string(&[]), "");
        assert_eq!(query_string(&pairs(&[("a b", "c d")])), "a+b=c+d");
    }

    #[test]
    fn query_string_reproduces_the_reference_example() {
        let q = pairs(&[
            (
                "metricSelector",
                "builtin:service.response.time:splitBy():percentile(95)",
            ),
            (
                "entitySelector",
                "type(SERVICE),tag(keptn_project:sockshop)",
            ),
            ("from", "1664323200000"),
            ("to", "1664409600000"),
        ]);
        assert_eq!(
            query_string(&q),
            "entitySelector=type%28SERVICE%29%2Ctag%28keptn_project%3Asockshop%29&from=1664323200000\
             &metricSelector=builtin%3Aservice.response.time%3AsplitBy%28%29%3Apercentile%2895%29\
             &to=1664409600000"
        );
    }

    #[test]
    fn every_byte_is_escaped_or_kept_consistently() {
        // Each output is pure ASCII and decodes back to the input.
        let all: String = (0u32..=0x2FF).filter_map(char::from_u32).collect();
        assert_eq!(decode(&query_escape(&all), true), all);
        assert_eq!(decode(&path_escape(&all), false), all);
        assert!(query_escape(&all).is_ascii() && path_escape(&all).is_ascii());
    }

    /// Inverse of the escapers; `plus_is_space` for the query form.
    fn decode(s: &str, plus_is_space: bool) -> String {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).expect("ascii");
                out.push(u8::from_str_radix(hex, 16).expect("hex"));
                i += 3;
            } else {
                out.push(if plus_is_space && b[i] == b'+' {
                    b' '
                } else {
                    b[i]
                });
                i += 1;
            }
        }
        String::from_utf8(out).expect("utf8")
    }
}
