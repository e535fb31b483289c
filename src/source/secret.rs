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

/// Shorter values are not hidden: replacing every `1` or `abc` in a report would make it
/// unreadable, and a token is never that short.
const MIN_LEN: usize = 8;

/// Removes every occurrence of the secrets, and the `user:password@` part of URLs, from the
/// whole of `text`. Call it before cutting a text short: a cut can leave half a token that no
/// longer matches.
pub fn scrub(text: &str, secrets: &[&Secret]) -> String {
    let mut out = userinfo_hidden(text);
    for s in secrets {
        if s.0.len() >= MIN_LEN {
            out = out.replace(&s.0, "***");
        }
    }
    out
}

/// The tokens of this process, registered when they are read, so that every output (stdout,
/// stderr, report files) can hide them whatever path a value took to get there.
static REGISTERED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Hides `secret` in everything `redact` sees from now on.
pub fn register(secret: &Secret) {
    if secret.0.len() < MIN_LEN {
        return;
    }
    let mut all = REGISTERED.lock().unwrap_or_else(|e| e.into_inner());
    if !all.contains(&secret.0) {
        all.push(secret.0.clone());
    }
}

/// `scrub` with every registered token: the last step before text leaves the process.
pub fn redact(text: &str) -> String {
    let all = REGISTERED.lock().unwrap_or_else(|e| e.into_inner());
    let mut out = userinfo_hidden(text);
    for s in all.iter() {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), "***");
        }
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
    fn registered_tokens_are_hidden_everywhere() {
        register(&Secret::new("dt0c01.REGISTERED.SECRET"));
        register(&Secret::new("short"));
        assert_eq!(
            redact("query=dt0c01.REGISTERED.SECRET&x=short"),
            "query=***&x=short"
        );
    }
}
