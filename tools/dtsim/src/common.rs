//! Shared helpers: the error envelope, replies, query-string decoding, paging cursors and the
//! deterministic hash used for noise, ids and faults.

use serde_json::{Map, Value, json};

/// One constraint violation in the Dynatrace error envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub path: String,
    pub message: String,
    /// `QUERY`, `PATH`, `PAYLOAD_BODY` or `HEADER`.
    pub location: &'static str,
}

/// A non-2xx answer; rendered as `{"error":{"code":…,"message":…}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub message: String,
    pub violations: Vec<Violation>,
    pub details: Option<Box<Value>>,
    /// Extra members of the `error` object (e.g. `retryAfterSeconds`).
    pub extra: Vec<(String, Value)>,
    pub headers: Vec<(String, String)>,
}

impl ApiError {
    pub fn new(status: u16, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            violations: Vec::new(),
            details: None,
            extra: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// 400 `Constraints violated.` with one violation.
    pub fn violation(path: &str, message: impl Into<String>, location: &'static str) -> ApiError {
        let mut e = ApiError::new(400, "Constraints violated.");
        e.violations.push(Violation {
            path: path.to_string(),
            message: message.into(),
            location,
        });
        e
    }

    /// 400 with a QUERY violation.
    pub fn query(path: &str, message: impl Into<String>) -> ApiError {
        ApiError::violation(path, message, "QUERY")
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(404, message)
    }

    pub fn with_details(mut self, details: Value) -> ApiError {
        self.details = Some(Box::new(details));
        self
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> ApiError {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub fn body(&self) -> Value {
        let mut err = Map::new();
        err.insert("code".into(), json!(self.status));
        err.insert("message".into(), json!(self.message));
        if !self.violations.is_empty() {
            let list: Vec<Value> = self
                .violations
                .iter()
                .map(|v| {
                    json!({"path": v.path, "message": v.message,
                           "parameterLocation": v.location, "location": null})
                })
                .collect();
            err.insert("constraintViolations".into(), Value::Array(list));
        }
        if let Some(d) = &self.details {
            err.insert("details".into(), (**d).clone());
        }
        for (k, v) in &self.extra {
            err.insert(k.clone(), v.clone());
        }
        json!({ "error": err })
    }
}

/// A successful (or deliberately odd) answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    /// `None` means an empty body.
    pub body: Option<Value>,
    pub headers: Vec<(String, String)>,
}

impl Reply {
    pub fn ok(body: Value) -> Reply {
        Reply {
            status: 200,
            body: Some(body),
            headers: Vec::new(),
        }
    }
    pub fn with_status(status: u16, body: Value) -> Reply {
        Reply {
            status,
            body: Some(body),
            headers: Vec::new(),
        }
    }
    pub fn empty(status: u16) -> Reply {
        Reply {
            status,
            body: None,
            headers: Vec::new(),
        }
    }
}

impl From<ApiError> for Reply {
    fn from(e: ApiError) -> Reply {
        Reply {
            status: e.status,
            body: Some(e.body()),
            headers: e.headers.clone(),
        }
    }
}

pub type ApiResult = Result<Reply, ApiError>;

/// Lenient percent-decoding: `%XX` with valid hex becomes the byte, anything else stays as is.
pub fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let h = (b[i + 1] as char).to_digit(16);
                let l = (b[i + 2] as char).to_digit(16);
                if let (Some(h), Some(l)) = (h, l) {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                } else {
                    out.push(b'%');
                    i += 1;
                }
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Minimal percent-encoding for building URLs in docs/tests.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decoded query parameters, in order, duplicates kept.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    pub pairs: Vec<(String, String)>,
}

impl Params {
    pub fn parse(raw: Option<&str>) -> Params {
        let mut pairs = Vec::new();
        if let Some(raw) = raw {
            for part in raw.split('&') {
                if part.is_empty() {
                    continue;
                }
                let (k, v) = match part.find('=') {
                    Some(i) => (&part[..i], &part[i + 1..]),
                    None => (part, ""),
                };
                pairs.push((percent_decode(k, true), percent_decode(v, true)));
            }
        }
        Params { pairs }
    }

    /// First value of a parameter (exact name).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// First non-blank value (blank values count as absent).
    pub fn get_nonblank(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.trim().is_empty())
    }

    pub fn set(&mut self, name: &str, value: String) {
        self.pairs.retain(|(k, _)| k != name);
        self.pairs.push((name.to_string(), value));
    }

    pub fn remove(&mut self, name: &str) {
        self.pairs.retain(|(k, _)| k != name);
    }
}

/// True for the query parameters that carry a classic token (any case).
pub fn is_token_param(name: &str) -> bool {
    name.eq_ignore_ascii_case("api-token")
}

/// Paging: `nextPageKey` is a hex-encoded JSON cursor holding the original (time-resolved)
/// parameters, the offset and the page size.
pub fn encode_cursor(kind: &str, params: &Params, offset: usize, page_size: usize) -> String {
    let p: Vec<Value> = params
        .pairs
        .iter()
        .filter(|(k, _)| !is_token_param(k) && k != "nextPageKey")
        .map(|(k, v)| json!([k, v]))
        .collect();
    let text = json!({"k": kind, "p": p, "o": offset, "s": page_size}).to_string();
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Resolves paging: without `nextPageKey` returns the params as given and offset 0; with it,
/// only the token (and `allowed` names) may accompany it.
pub fn resolve_page(
    kind: &str,
    params: &Params,
    allowed: &[&str],
) -> Result<(Params, usize, Option<usize>), ApiError> {
    let Some(key) = params.get("nextPageKey") else {
        return Ok((params.clone(), 0, None));
    };
    for (k, _) in &params.pairs {
        if k != "nextPageKey" && !is_token_param(k) && !allowed.contains(&k.as_str()) {
            return Err(ApiError::query(
                k,
                format!(
                    "The parameter '{k}' must not be combined with nextPageKey; the next page takes only nextPageKey."
                ),
            ));
        }
    }
    let bad = || ApiError::query("nextPageKey", "Invalid nextPageKey.");
    if key.len() % 2 != 0 || key.is_empty() {
        return Err(bad());
    }
    let bytes: Option<Vec<u8>> = (0..key.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(key.get(i..i + 2)?, 16).ok())
        .collect();
    let bytes = bytes.ok_or_else(bad)?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if v["k"] != kind {
        return Err(bad());
    }
    let mut out = Params::default();
    for pair in v["p"].as_array().ok_or_else(bad)? {
        let k = pair[0].as_str().ok_or_else(bad)?;
        let val = pair[1].as_str().ok_or_else(bad)?;
        out.pairs.push((k.to_string(), val.to_string()));
    }
    for (k, v) in &params.pairs {
        if allowed.contains(&k.as_str()) {
            out.set(k, v.clone());
        }
    }
    let offset = v["o"].as_u64().ok_or_else(bad)? as usize;
    let size = v["s"].as_u64().ok_or_else(bad)? as usize;
    Ok((out, offset, Some(size)))
}

/// Parses `pageSize` (1..=max), default `default`.
pub fn page_size(params: &Params, default: usize, max: usize) -> Result<usize, ApiError> {
    match params.get("pageSize") {
        None => Ok(default),
        Some(s) => match s.trim().parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::query(
                "pageSize",
                format!("must be an integer between 1 and {max}"),
            )),
        },
    }
}

/// splitmix64 finaliser.
pub fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A tiny deterministic hasher (FNV-1a over bytes, splitmix between fields).
#[derive(Debug, Clone, Copy)]
pub struct Hash(pub u64);

impl Hash {
    pub fn new(seed: u64) -> Hash {
        Hash(mix64(seed ^ 0xCBF2_9CE4_8422_2325))
    }
    pub fn str(mut self, s: &str) -> Hash {
        let mut h = self.0 ^ 0xCBF2_9CE4_8422_2325;
        for b in s.bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01B3);
        }
        self.0 = mix64(h ^ (s.len() as u64));
        self
    }
    pub fn num(mut self, n: u64) -> Hash {
        self.0 = mix64(self.0 ^ mix64(n));
        self
    }
    pub fn value(self) -> u64 {
        self.0
    }
    /// Uniform in [0, 1).
    pub fn unit(self) -> f64 {
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in [-1, 1].
    pub fn signed(self) -> f64 {
        self.unit() * 2.0 - 1.0
    }
}

/// Collapses runs of whitespace (for matching canned queries).
pub fn normalize_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Simple glob with `*`.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            if !rest.starts_with(part) {
                return false;
            }
            rest = &rest[part.len()..];
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else if let Some(pos) = rest.find(part) {
            rest = &rest[pos + part.len()..];
        } else {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_leniently() {
        assert_eq!(percent_decode("a%20b%2", true), "a b%2");
        assert_eq!(percent_decode("a+b%ZZ", true), "a b%ZZ");
        assert_eq!(
            percent_decode("type(\"SERVICE\")", true),
            "type(\"SERVICE\")"
        );
        let p = Params::parse(Some("metricSelector=a:avg,b&x&Api-Token=t"));
        assert_eq!(p.get("metricSelector"), Some("a:avg,b"));
        assert_eq!(p.get("x"), Some(""));
    }

    #[test]
    fn cursor_round_trip() {
        let p = Params::parse(Some("from=1&to=2&eventSelector=x"));
        let key = encode_cursor("events", &p, 10, 5);
        let q = Params::parse(Some(&format!("nextPageKey={key}&Api-Token=abc")));
        let (back, off, size) = resolve_page("events", &q, &[]).unwrap();
        assert_eq!(back.get("eventSelector"), Some("x"));
        assert_eq!((off, size), (10, Some(5)));
        let q = Params::parse(Some(&format!("nextPageKey={key}&from=3")));
        assert_eq!(resolve_page("events", &q, &[]).unwrap_err().status, 400);
        assert!(resolve_page("problems", &Params::parse(Some("nextPageKey=zz")), &[]).is_err());
    }

    #[test]
    fn globs() {
        assert!(glob_match(
            "builtin:service.*",
            "builtin:service.response.time"
        ));
        assert!(!glob_match(
            "builtin:host.*",
            "builtin:service.response.time"
        ));
        assert!(glob_match("*time", "builtin:service.response.time"));
    }

    #[test]
    fn hash_is_stable() {
        let a = Hash::new(42).str("x").num(7).value();
        let b = Hash::new(42).str("x").num(7).value();
        assert_eq!(a, b);
        assert_ne!(a, Hash::new(43).str("x").num(7).value());
        let u = Hash::new(1).str("y").signed();
        assert!((-1.0..=1.0).contains(&u));
    }
}
