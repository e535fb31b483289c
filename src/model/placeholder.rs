//! Placeholders in SLI queries (`$SERVICE`, `$LABEL.key`, `$ENV.NAME`, ...): finding them for
//! lint. Substitution itself belongs to the query module.

/// Placeholders Keptn's dynatrace-service replaces (reference §4), besides `$LABEL.` and `$ENV.`.
pub const KNOWN: &[&str] = &[
    "CONTEXT",
    "EVENT",
    "SOURCE",
    "PROJECT",
    "STAGE",
    "SERVICE",
    "DEPLOYMENT",
    "TESTSTRATEGY",
];

/// One `$NAME` or `$NAME.key` occurrence: byte range in the query and its text without `$`.
#[derive(Debug, PartialEq, Eq)]
pub struct Occurrence {
    pub start: usize,
    pub end: usize,
    pub name: String,
}

/// Finds every `$` followed by a name (`[A-Za-z_][A-Za-z0-9_]*`), with one `.key` part for
/// `$LABEL.` and `$ENV.`.
pub fn scan(query: &str) -> Vec<Occurrence> {
    let bytes = query.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let is_start = |b: u8| b.is_ascii_alphabetic() || b == b'_';
    let is_part = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    while i < bytes.len() {
        if bytes[i] == b'$' && i + 1 < bytes.len() && is_start(bytes[i + 1]) {
            let start = i;
            let mut j = i + 1;
            while j < bytes.len() && is_part(bytes[j]) {
                j += 1;
            }
            let head = &query[i + 1..j];
            if (head == "LABEL" || head == "ENV")
                && j + 1 < bytes.len()
                && bytes[j] == b'.'
                && is_part(bytes[j + 1])
            {
                j += 1;
                while j < bytes.len() && (is_part(bytes[j]) || bytes[j] == b'-') {
                    j += 1;
                }
            }
            out.push(Occurrence {
                start,
                end: j,
                name: query[start + 1..j].to_string(),
            });
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

/// Whether `name` (without `$`) is replaced by slogate: a known placeholder, `LABEL.k`,
/// `ENV.NAME`, or a key of the SLO's `filter` (Keptn replaces `$key` and `$KEY`).
pub fn is_known(name: &str, filter_keys: &[String]) -> bool {
    KNOWN.contains(&name)
        || name.strip_prefix("LABEL.").is_some_and(|k| !k.is_empty())
        || name.strip_prefix("ENV.").is_some_and(|k| !k.is_empty())
        || filter_keys
            .iter()
            .any(|k| k == name || k.to_uppercase() == name)
}

/// For an unknown name, the known placeholder Keptn would replace as a prefix
/// (`$SERVICE_NAME` → value of `$SERVICE` + `_NAME`), if any.
pub fn prefix_match(name: &str) -> Option<&'static str> {
    KNOWN
        .iter()
        .copied()
        .filter(|k| name.starts_with(k))
        .max_by_key(|k| k.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_placeholders() {
        let q = "entitySelector=tag(keptn_service:$SERVICE),tag(x:$LABEL.team-a),tag($ENV.DT_X)&v=$ 1&$1";
        let names: Vec<String> = scan(q).into_iter().map(|o| o.name).collect();
        assert_eq!(names, ["SERVICE", "LABEL.team-a", "ENV.DT_X"]);
        let o = &scan("a$STAGE")[0];
        assert_eq!((o.start, o.end), (1, 7));
    }

    #[test]
    fn known_and_prefix() {
        assert!(is_known("SERVICE", &[]));
        assert!(is_known("LABEL.x", &[]));
        assert!(!is_known("LABEL", &[]));
        assert!(is_known("HANDLER", &["handler".into()]));
        assert!(!is_known("SERVICE_NAME", &[]));
        assert_eq!(prefix_match("SERVICE_NAME"), Some("SERVICE"));
        assert_eq!(prefix_match("SERVIC"), None);
    }
}
