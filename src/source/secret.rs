//! A string that never prints: tokens go through this type so no log, report or error shows them.
//! Text that may echo a token anyway (a server's error page, a query built from `$ENV.X`, a URL
//! with `user:password@`) goes through `scrub`/`redact`, which work on values, not names: a token
//! is hidden whatever variable holds it.

use std::fmt;
use std::sync::Mutex;

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret itself, for the one place that must send it (an HTTP header).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Shorter values are not hidden: replacing every `a` or `ab` in a report would make it
/// unreadable. A secret this short is named at start-up instead ([`unprotected`]), never leaked
/// silently. From this length on every secret is hidden, whatever it is.
const MIN_LEN: usize = 4;

/// The forms a secret can take in what a server echoes or a query carries: as it is,
/// percent-encoded (both hex cases, `+` or `%20` for a space), and base64 (standard and
/// URL-safe, with and without padding).
fn forms(raw: &str) -> Vec<String> {
    let mut out = vec![raw.to_string()];
    let upper = percent(raw, true);
    out.push(upper.clone());
    out.push(upper.replace("%20", "+"));
    out.push(percent(raw, false));
    let b64 = base64(raw.as_bytes());
    out.push(b64.trim_end_matches('=').to_string());
    out.push(
        b64.replace('+', "-")
            .replace('/', "_")
            .trim_end_matches('=')
            .to_string(),
    );
    out.push(b64);
    out.retain(|f| f.len() >= MIN_LEN);
    out.sort();
    out.dedup();
    // Longest first: a form that contains another is replaced whole.
    out.sort_by_key(|f| std::cmp::Reverse(f.len()));
    out
}

/// Percent-encoding of everything but RFC 3986's unreserved characters.
fn percent(raw: &str, upper: bool) -> String {
    let mut out = String::with_capacity(raw.len());
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else if upper {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push_str(&format!("%{b:02x}"));
        }
    }
    out
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (RFC 4648), as the basic-auth header carries it (RFC 7617).
pub fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Removes every occurrence of the secrets in any of their forms, credentials after an
/// authorization scheme (`Basic`, `Bearer`, `Api-Token`), and the `user:password@` part of
/// URLs, from the whole of `text`. Call it before cutting a text short: a cut can leave half a
/// token that no longer matches.
pub fn scrub(text: &str, secrets: &[&Secret]) -> String {
    let mut out = schemes_hidden(&userinfo_hidden(text));
    for s in secrets {
        for f in forms(&s.0) {
            if out.contains(&f) {
                out = out.replace(&f, "***");
            }
        }
    }
    out
}

/// Every form of every registered secret.
static REGISTERED: std::sync::RwLock<Registry> = std::sync::RwLock::new(Registry::new());
/// What could not be hidden, in words, for the start-up warning.
static UNPROTECTED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Up to this many forms `redact` replaces them one by one, longest first; beyond it (a fleet
/// registers a token per environment: thousands) it scans the text once, looking the forms up
/// by their first [`KEY`] bytes, so its cost does not grow with the number of secrets.
const FEW: usize = 32;
const KEY: usize = 8;

struct Registry {
    /// Longest first while there are at most [`FEW`]; in registration order beyond.
    forms: Vec<String>,
    /// Forms of at least [`KEY`] bytes by their first [`KEY`] bytes (built beyond [`FEW`]).
    by_key: Option<std::collections::HashMap<[u8; KEY], Vec<usize>>>,
    /// Forms shorter than [`KEY`] bytes (beyond [`FEW`]).
    short: Vec<usize>,
}

impl Registry {
    const fn new() -> Self {
        Registry {
            forms: Vec::new(),
            by_key: None,
            short: Vec::new(),
        }
    }

    fn add(&mut self, form: String) {
        if self.forms.len() < FEW {
            if !self.forms.contains(&form) {
                self.forms.push(form);
                self.forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
            }
            return;
        }
        if self.by_key.is_none() {
            // Switch to the indexed form: every form so far goes into the index.
            self.by_key = Some(std::collections::HashMap::new());
            for i in 0..self.forms.len() {
                self.index(i);
            }
        }
        // Known forms are found through the index itself: no second copy of every form (a
        // fleet registers thousands).
        if !self.holds(&form) {
            self.forms.push(form);
            self.index(self.forms.len() - 1);
        }
    }

    /// Whether `form` is registered (indexed form only).
    fn holds(&self, form: &str) -> bool {
        let same = |i: &usize| self.forms[*i] == form;
        match (form.as_bytes().get(..KEY), &self.by_key) {
            (Some(k), Some(map)) => map.get(k).is_some_and(|v| v.iter().any(same)),
            _ => self.short.iter().any(same),
        }
    }

    fn index(&mut self, i: usize) {
        let f = self.forms[i].as_bytes();
        match (f.get(..KEY), self.by_key.as_mut()) {
            (Some(k), Some(map)) => {
                let mut key = [0u8; KEY];
                key.copy_from_slice(k);
                map.entry(key).or_default().push(i);
            }
            _ => self.short.push(i),
        }
    }

    fn redact(&self, text: String) -> String {
        let Some(map) = &self.by_key else {
            let mut out = text;
            for s in &self.forms {
                if out.contains(s.as_str()) {
                    out = out.replace(s.as_str(), "***");
                }
            }
            return out;
        };
        let b = text.as_bytes();
        let mut out = String::new();
        let (mut i, mut last) = (0, 0);
        while i + MIN_LEN <= b.len() {
            let mut best = 0;
            let mut check = |idx: &usize| {
                let f = self.forms[*idx].as_bytes();
                if f.len() > best && b[i..].starts_with(f) {
                    best = f.len();
                }
            };
            if let Some(k) = b.get(i..i + KEY)
                && let Some(found) = map.get(k)
            {
                found.iter().for_each(&mut check);
            }
            self.short.iter().for_each(&mut check);
            if best > 0 {
                // A form is valid UTF-8 and starts on a character, so both cuts are on one.
                out.push_str(&text[last..i]);
                out.push_str("***");
                i += best;
                last = i;
            } else {
                i += 1;
            }
        }
        if last == 0 {
            return text;
        }
        out.push_str(&text[last..]);
        out
    }
}

/// Hides `secret` (in every form) in everything `redact` sees from now on. `what` names it for
/// the warning when it is too short to be hidden (e.g. "the password in PROMETHEUS_PASSWORD").
pub fn register_named(secret: &Secret, what: &str) {
    if secret.0.len() < MIN_LEN {
        let mut u = UNPROTECTED.lock().unwrap_or_else(|e| e.into_inner());
        let line = format!(
            "{what} is {} characters long: too short to be hidden reliably in what servers answer; use a longer one",
            secret.0.chars().count()
        );
        if !u.contains(&line) {
            u.push(line);
        }
        return;
    }
    let mut all = REGISTERED.write().unwrap_or_else(|e| e.into_inner());
    for f in forms(&secret.0) {
        all.add(f);
    }
}

/// [`register_named`] for a token.
pub fn register(secret: &Secret) {
    register_named(secret, "a token");
}

/// Registers the basic-auth pair: the password alone and the header's `user:password` value.
pub fn register_basic(user: &str, password: &Secret, what: &str) {
    register_named(password, what);
    let pair = Secret::new(format!("{user}:{}", password.0));
    register_named(&pair, what);
}

/// The secrets that are too short to hide, in words, each once; emptied by the call.
pub fn unprotected() -> Vec<String> {
    std::mem::take(&mut *UNPROTECTED.lock().unwrap_or_else(|e| e.into_inner()))
}

/// `scrub` with every registered secret: the last step before text leaves the process.
pub fn redact(text: &str) -> String {
    let out = schemes_hidden(&userinfo_hidden(text));
    REGISTERED
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .redact(out)
}

/// The credential after `Basic `, `Bearer ` or `Api-Token ` (any case), as an `Authorization`
/// header or a server quoting one shows it, becomes `***`, whoever's it is.
pub fn schemes_hidden(text: &str) -> String {
    const SCHEMES: [&str; 3] = ["basic ", "bearer ", "api-token "];
    let lower = text.to_ascii_lowercase();
    if !SCHEMES.iter().any(|s| lower.contains(s)) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let hit = SCHEMES.iter().find(|s| {
            lower[i..].starts_with(**s)
                && (i == 0 || !lower.as_bytes()[i - 1].is_ascii_alphanumeric())
        });
        if let Some(scheme) = hit {
            let start = i + scheme.len();
            let len = text[start..]
                .bytes()
                .take_while(|b| {
                    b.is_ascii_alphanumeric()
                        || matches!(b, b'+' | b'/' | b'=' | b'.' | b'_' | b'-' | b'~')
                })
                .count();
            // "Basic auth", "bearer of": a credential is longer than a word.
            if len >= 8 {
                out.push_str(&text[i..start]);
                out.push_str("***");
                i = start + len;
                continue;
            }
        }
        let c = text[i..].chars().next().unwrap_or('\0');
        out.push(c);
        i += c.len_utf8().max(1);
    }
    out
}

/// `scheme://user:password@host` → `scheme://***@host`, wherever a URL appears in `text`.
pub fn userinfo_hidden(text: &str) -> String {
    if !text.contains("://") {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        // The authority ends at the first `/ ? #`, a blank or a quote; userinfo is what comes
        // before its last `@`.
        let end = tail
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | '"' | '\'' | '`' | '<' | '>') || c.is_whitespace()
            })
            .unwrap_or(tail.len());
        match tail[..end].rfind('@') {
            Some(userinfo_end) => {
                out.push_str("***");
                rest = &tail[userinfo_end..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_as_rfc_4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"keptn:s3cr3t!"), "a2VwdG46czNjcjN0IQ==");
        assert_eq!(base64(b"keptn:pa ss"), "a2VwdG46cGEgc3M=");
    }

    #[test]
    fn every_form_of_a_secret_is_hidden_whatever_its_length() {
        let pw = Secret::new("p@ss w/d");
        let pair = Secret::new("keptn:p@ss w/d");
        for text in [
            "echo p@ss w/d",
            "q=p%40ss%20w%2Fd",
            "q=p%40ss+w%2Fd",
            "q=p%40ss%20w%2fd",
            "cA==",
            "Authorization: Basic a2VwdG46cEBzcyB3L2Q=",
            "a2VwdG46cEBzcyB3L2Q",
        ] {
            let out = scrub(text, &[&pw, &pair]);
            assert!(
                !out.contains("p@ss")
                    && !out.contains("a2VwdG46cEBzcyB3L2Q")
                    && !out.contains("%40ss"),
                "{text} -> {out}"
            );
        }
        // Seven characters: hidden (the old limit was eight).
        assert_eq!(
            scrub("the password s3cr3t! is wrong", &[&Secret::new("s3cr3t!")]),
            "the password *** is wrong"
        );
    }

    #[test]
    fn credentials_after_a_scheme_are_hidden_whoever_they_belong_to() {
        for (text, want) in [
            (
                "Authorization: Basic a2VwdG46czNjcjN0IQ==",
                "Authorization: Basic ***",
            ),
            (
                "header api-token dt0c01.ABC.DEF was refused",
                "header api-token *** was refused",
            ),
            ("BEARER eyJhbGciOi.x.y;", "BEARER ***;"),
            ("Basic auth is off", "Basic auth is off"),
            ("a basic query", "a basic query"),
        ] {
            assert_eq!(schemes_hidden(text), want, "{text}");
        }
    }

    #[test]
    fn never_prints() {
        let s = Secret::new("dt0c01.ABC.DEF");
        assert_eq!(format!("{s} {s:?}"), "*** Secret(***)");
        assert_eq!(
            scrub("token dt0c01.ABC.DEF refused", &[&s]),
            "token *** refused"
        );
    }

    #[test]
    fn urls_lose_their_userinfo() {
        for (text, want) in [
            (
                "https://u:dt0c01.X.Y@h.example/e/1",
                "https://***@h.example/e/1",
            ),
            (
                "see `http://tok@127.0.0.1:9/api` now",
                "see `http://***@127.0.0.1:9/api` now",
            ),
            ("a https://x/y?q=a@b c", "a https://x/y?q=a@b c"),
            ("mail a@b and https://h", "mail a@b and https://h"),
            (
                "https://a:b@c and https://d:e@f",
                "https://***@c and https://***@f",
            ),
            ("://@", "://***@"),
            ("https://p@ss:w@rd@host/x", "https://***@host/x"),
        ] {
            assert_eq!(userinfo_hidden(text), want, "{text}");
        }
    }

    #[test]
    fn many_secrets_are_hidden_by_the_indexed_scan() {
        let mut r = Registry::new();
        for i in 0..500 {
            for f in forms(&format!("dt0c01.FLEET.env{i:04}")) {
                r.add(f);
            }
        }
        r.add("abcde".into()); // shorter than the key
        assert!(r.by_key.is_some());
        let text =
            "a dt0c01.FLEET.env0042 b ZHQwYzAxLkZMRUVULmVudjA0OTk c abcde, dt0c01.FLEET.env99 ü"
                .to_string();
        assert_eq!(r.redact(text), "a *** b *** c ***, dt0c01.FLEET.env99 ü");
        // The longest form at a place wins: `dt0c01.FLEET.env0042` inside a longer secret.
        r.add("dt0c01.FLEET.env0042.MORE".into());
        assert_eq!(r.redact("x dt0c01.FLEET.env0042.MORE y".into()), "x *** y");
        let clean = "nothing secret here".to_string();
        assert_eq!(r.redact(clean.clone()), clean);
    }

    #[test]
    fn registered_tokens_are_hidden_everywhere() {
        register(&Secret::new("dt0c01.REGISTERED.SECRET"));
        register_named(&Secret::new("ab"), "the password in P");
        assert_eq!(
            redact("query=dt0c01.REGISTERED.SECRET&x=ab"),
            "query=***&x=ab"
        );
        assert_eq!(
            unprotected(),
            [
                "the password in P is 2 characters long: too short to be hidden reliably in what servers answer; use a longer one"
            ]
        );
        assert!(unprotected().is_empty());
    }
}
