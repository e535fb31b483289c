//! The HTTP layer every source shares: base URL, auth, timeouts, the retry policy and a
//! concurrency limit. It knows nothing about SLIs.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use crate::query::{Method, Request};
use crate::source::retry::{Action, Attempt, RetryPolicy, parse_retry_after};
use crate::source::secret::{Secret, scrub};

/// How to authenticate: classic API tokens go in `Api-Token`, platform tokens are Bearer.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub api_token: Option<Secret>,
    /// The environment variable the API token came from, for messages.
    pub api_token_env: String,
    pub platform_token: Option<Secret>,
    pub platform_token_env: String,
}

#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// `https://abc12345.live.dynatrace.com` without a trailing slash.
    pub base_url: String,
    pub credentials: Credentials,
    pub request_timeout: Duration,
    pub retry: RetryPolicy,
    /// Requests in flight at once against this environment.
    pub concurrency: usize,
}

/// A response as the sources need it.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub body: String,
    /// The request's `path?query`, for messages (never holds a token).
    pub url: String,
}

impl Response {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Why a request produced no response worth reading.
#[derive(Clone, Debug, PartialEq)]
pub enum SendError {
    /// 401 or 403: the whole evaluation stops (exit 3).
    Auth { status: u16, message: String },
    /// Connection or timeout problems that outlasted the retries.
    Transport { message: String, url: String },
    /// The request needs a token that is not configured.
    MissingToken { message: String },
}

#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
}

pub struct Client {
    http: reqwest::Client,
    config: ClientConfig,
    limit: Arc<Semaphore>,
    pub stats: Arc<Stats>,
}

impl Client {
    pub fn new(config: ClientConfig) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("slogate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot set up the HTTP client: {e}"))?;
        Ok(Client {
            http,
            limit: Arc::new(Semaphore::new(config.concurrency.max(1))),
            config,
            stats: Arc::new(Stats::default()),
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Sends one request with the shared retry policy. Non-2xx statuses other than 401/403 are
    /// returned as responses: what they mean depends on the API.
    pub async fn send(&self, req: &Request) -> Result<Response, SendError> {
        let platform = req.path.starts_with("/platform/");
        let creds = &self.config.credentials;
        let (token, header) = if platform {
            match &creds.platform_token {
                Some(t) => (t, format!("Bearer {}", t.expose())),
                None => {
                    return Err(SendError::MissingToken {
                        message: format!(
                            "this query needs a Dynatrace platform token (Bearer); set {} or `dynatrace.platform_token_env` in slogate.yaml",
                            creds.platform_token_env
                        ),
                    });
                }
            }
        } else {
            match &creds.api_token {
                Some(t) => (t, format!("Api-Token {}", t.expose())),
                None => {
                    return Err(SendError::MissingToken {
                        message: format!("no Dynatrace API token: set {}", creds.api_token_env),
                    });
                }
            }
        };
        let url_text = req.path_and_query();
        let url = format!("{}{}", self.config.base_url, url_text);
        let start = Instant::now();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let permit = self.limit.acquire().await;
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let mut builder = match req.method {
                Method::Get => self.http.get(&url),
                Method::Post => self.http.post(&url),
            }
            .header("Authorization", &header)
            .header("Accept", "application/json");
            if let Some(body) = &req.body {
                builder = builder.json(body);
            }
            let result = builder.send().await;
            let outcome = match result {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let retry_after = resp
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(parse_retry_after);
                    match resp.text().await {
                        Ok(body) => Ok((status, retry_after, body)),
                        Err(e) => Err(describe(&e)),
                    }
                }
                Err(e) => Err(describe(&e)),
            };
            drop(permit);
            let attempt_kind = match &outcome {
                Ok((status, retry_after, _)) => Attempt::Status {
                    status: *status,
                    retry_after: *retry_after,
                },
                Err(_) => Attempt::Transport,
            };
            match self
                .config
                .retry
                .decide(attempt, &attempt_kind, start.elapsed(), fastrand::f64())
            {
                Action::RetryAfter(delay) => {
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(delay).await;
                    continue;
                }
                Action::Stop | Action::GiveUp => {}
            }
            return match outcome {
                Ok((status @ (401 | 403), _, body)) => Err(SendError::Auth {
                    status,
                    message: scrub(&error_message(&body), &[token]),
                }),
                Ok((status, _, body)) => Ok(Response {
                    status,
                    body: scrub(&body, &[token]),
                    url: url_text,
                }),
                Err(message) => Err(SendError::Transport {
                    message: format!(
                        "{message} (after {attempt} attempt{})",
                        if attempt == 1 { "" } else { "s" }
                    ),
                    url: url_text,
                }),
            };
        }
    }
}

/// A transport error in words, without the URL (which the caller adds).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "the request timed out".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else if e.is_body() || e.is_decode() {
        "the response body could not be read".into()
    } else {
        "the request failed".into()
    }
}

/// `error.message` of Dynatrace's error envelope, or the body itself.
pub fn error_message(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .and_then(|m| m.as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| body.chars().take(300).collect())
}
