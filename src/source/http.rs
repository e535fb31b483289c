//! The HTTP layer every source shares: base URL, auth, timeouts, the retry policy and an
//! adaptive concurrency limit (`source::limit`). It knows nothing about SLIs.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::query::{Method, Request};
use crate::source::limit::{AdaptiveLimit, GlobalLimit, LimitConfig, Signal, signal_of_status};
use crate::source::retry::{Action, Attempt, RetryPolicy, parse_retry_after, rate_limit_reset};
use crate::source::secret::{Secret, redact, scrub};

/// How to authenticate: Dynatrace's tokens, HTTP basic auth (Prometheus behind a proxy), or none.
#[derive(Clone, Debug)]
pub enum Credentials {
    Dynatrace(Tokens),
    /// Sent as `Authorization: Basic`, the user and password exactly as given.
    Basic {
        user: String,
        password: Secret,
    },
    None,
}

/// Dynatrace: classic API tokens go in `Api-Token`, platform tokens are Bearer.
#[derive(Clone, Debug)]
pub struct Tokens {
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
    /// Where the URL is set, for messages: `DT_URL`, `PROMETHEUS_URL`.
    pub url_name: String,
    pub request_timeout: Duration,
    pub retry: RetryPolicy,
    /// The most requests in flight at once against this environment (`--concurrency`): a hard
    /// ceiling; below it the limit adapts to the environment (`source::limit`).
    pub concurrency: usize,
    /// A proxy set for this server in slogate.yaml (`environments.<name>.proxy`), over the
    /// proxy variables.
    pub proxy: Option<String>,
    /// The adaptive limit's start, below its default (a fleet's environments start modestly:
    /// the fleet's width comes from many environments, not from depth in one).
    pub initial_concurrency: Option<usize>,
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
    /// Attempts answered 429.
    pub throttled: AtomicU64,
}

pub struct Client {
    http: reqwest::Client,
    /// For POSTs: the same client, but 301/302/303 come back to [`Client::post`].
    post_http: reqwest::Client,
    config: ClientConfig,
    limit: Arc<AdaptiveLimit>,
    pub stats: Arc<Stats>,
}

/// Larger answers are refused unread. The largest answers slogate asks for are a page of
/// problems (at most 500, about 1 MiB) and a chart's metrics batch (10 series of ~60 points, tens
/// of KiB); a value needs a single series. 32 MiB leaves a wide margin for verbose answers while
/// a runaway or hostile server can no longer fill the memory.
pub const MAX_BODY: usize = 32 * 1024 * 1024;

/// Same-origin redirects followed at most (a load balancer adding a slash, a path moved once).
pub const MAX_REDIRECTS: usize = 3;

/// Why a redirect was not followed; found again in the error's source chain by `describe`.
#[derive(Debug)]
struct RedirectRefused(String);

impl std::fmt::Display for RedirectRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RedirectRefused {}

fn other_origin(to: &str, url_name: &str) -> String {
    format!(
        "the server redirected to {to}, another origin than the configured environment; slogate follows redirects only within the same scheme, host and port (set {url_name} to the address the redirect names if it is right)"
    )
}

/// Scheme, host and port: what a redirect must keep for the token to go on.
/// What makes two of this thread's clients able to share their connections: the origin, the
/// URL's variable name (in redirect messages), the timeout and the proxy.
type PoolKey = (
    (String, Option<String>, Option<u16>),
    String,
    Duration,
    Option<String>,
);

thread_local! {
    /// Set on a fleet's worker threads ([`share_connections_on_this_thread`]).
    static SHARING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// The HTTP clients (GET, POST) this thread made, by [`PoolKey`].
    static POOLS: std::cell::RefCell<std::collections::HashMap<PoolKey, (reqwest::Client, reqwest::Client)>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// Clients made on this thread from now on share one connection pool per origin (and
/// timeout, proxy): a fleet worker runs environment after environment on one runtime, and the
/// tenants of a Managed cluster live on one host, so their requests reuse the connections
/// (and TLS sessions) of the tenants before them instead of opening a few new ones per tenant.
/// Each client keeps its own token, limit and statistics. Only for threads that keep one
/// runtime for all their runs (a pooled connection is driven by the runtime that opened it).
pub fn share_connections_on_this_thread() {
    SHARING.with(|s| s.set(true));
}

/// Ends [`share_connections_on_this_thread`]: the pooled clients are dropped.
pub fn drop_shared_connections() {
    SHARING.with(|s| s.set(false));
    let pools = POOLS.with(|p| std::mem::take(&mut *p.borrow_mut()));
    drop(pools);
}

fn origin(url: &reqwest::Url) -> (String, Option<String>, Option<u16>) {
    (
        url.scheme().to_string(),
        url.host_str().map(str::to_ascii_lowercase),
        url.port_or_known_default(),
    )
}

/// The redirect rule: never to another scheme, host or port (the token and the data would come
/// from somewhere else than the configured environment), and at most `MAX_REDIRECTS` hops.
/// `keep_body`: for POSTs, a 301, 302 or 303 is handed back instead of followed, because
/// following it re-sends the request as a GET without its body (Prometheus then answers "no
/// expression found"); [`Client::post`] re-sends it intact.
fn redirect_policy(base: &str, url_name: &str, keep_body: bool) -> reqwest::redirect::Policy {
    let home = reqwest::Url::parse(base).ok().map(|u| origin(&u));
    let url_name = url_name.to_string();
    reqwest::redirect::Policy::custom(move |attempt| {
        let to = crate::source::secret::userinfo_hidden(attempt.url().as_str());
        if home.as_ref() != Some(&origin(attempt.url())) {
            attempt.error(RedirectRefused(other_origin(&to, &url_name)))
        } else if attempt.previous().len() > MAX_REDIRECTS {
            let reason =
                format!("the server redirected more than {MAX_REDIRECTS} times (last to {to})");
            attempt.error(RedirectRefused(reason))
        } else if keep_body && matches!(attempt.status().as_u16(), 301..=303) {
            attempt.stop()
        } else {
            attempt.follow()
        }
    })
}

/// The proxy for requests to `base`: none for loopback addresses (a local simulator or tunnel
/// is never behind the corporate proxy) or for hosts `NO_PROXY` lists, else `https_proxy` /
/// `http_proxy` by the scheme, then `all_proxy` (lower case first, as curl).
pub fn proxy_for(base: &str, env: &std::collections::BTreeMap<String, String>) -> Option<String> {
    proxy_setting(base, env).map(|(_, proxy)| proxy)
}

/// The variables [`proxy_setting`] reads (lower case; the upper-case forms too).
const PROXY_VARS: [&str; 4] = ["no_proxy", "https_proxy", "http_proxy", "all_proxy"];

/// [`proxy_for`] with the name of the variable it came from.
fn proxy_setting(
    base: &str,
    env: &std::collections::BTreeMap<String, String>,
) -> Option<(String, String)> {
    let url = reqwest::Url::parse(base).ok()?;
    let host = url
        .host_str()?
        .trim_matches(['[', ']'])
        .to_ascii_lowercase();
    if is_loopback(&host) {
        return None;
    }
    let get = |name: &str| {
        [name.to_ascii_lowercase(), name.to_ascii_uppercase()]
            .into_iter()
            .find_map(|var| {
                let v = env.get(&var)?.trim();
                (!v.is_empty()).then(|| (var, v.to_string()))
            })
    };
    if let Some((_, list)) = get("no_proxy")
        && list
            .split(',')
            .any(|entry| no_proxy_matches(entry.trim(), &host, url.port_or_known_default()))
    {
        return None;
    }
    let by_scheme = if url.scheme() == "https" {
        get("https_proxy")
    } else {
        get("http_proxy")
    };
    by_scheme.or_else(|| get("all_proxy"))
}

/// A server's base URL as a user wrote it, before each source's own rules: trimmed, `https://`
/// added to a bare host (Keptn's form), no user name or password in it (`credentials` says where
/// they go instead). Returns the URL, the text with the scheme, and the text with any userinfo
/// hidden for messages.
pub fn base_url(raw: &str, credentials: &str) -> Result<(reqwest::Url, String, String), String> {
    let raw = raw.trim();
    let shown = crate::source::secret::userinfo_hidden(raw);
    let with_scheme = if raw.contains("://") {
        raw.to_string()
    } else {
        format!("https://{raw}")
    };
    let url =
        reqwest::Url::parse(&with_scheme).map_err(|e| format!("`{shown}` is not a URL ({e})"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "`{shown}` holds a user name or password; {credentials}"
        ));
    }
    Ok((url, with_scheme, shown))
}

pub fn is_loopback(host: &str) -> bool {
    let host = host.trim_matches(['[', ']']);
    host.eq_ignore_ascii_case("localhost")
        || host.to_ascii_lowercase().ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// One `NO_PROXY` entry: `*`, a domain (matching its subdomains, with or without a leading
/// dot), an IP address or IPv4 network (`10.0.0.0/8`), each optionally with `:port`.
fn no_proxy_matches(entry: &str, host: &str, port: Option<u16>) -> bool {
    let entry = entry.to_ascii_lowercase();
    if entry.is_empty() {
        return false;
    }
    if entry == "*" {
        return true;
    }
    // `host:port` (an IPv6 entry needs brackets for a port).
    let (name, want_port) = match entry.rsplit_once(':') {
        Some((n, p)) if !n.contains(':') || n.ends_with(']') => match p.parse::<u16>() {
            Ok(p) => (n.to_string(), Some(p)),
            Err(_) => (entry.clone(), None),
        },
        _ => (entry.clone(), None),
    };
    if want_port.is_some_and(|p| Some(p) != port) {
        return false;
    }
    let name = name.trim_matches(['[', ']']);
    if let Some((net, bits)) = name.split_once('/') {
        let (Ok(net), Ok(bits), Ok(ip)) = (
            net.parse::<std::net::Ipv4Addr>(),
            bits.parse::<u32>(),
            host.parse::<std::net::Ipv4Addr>(),
        ) else {
            return false;
        };
        if bits > 32 {
            return false;
        }
        let mask = if bits == 0 {
            0
        } else {
            u32::MAX << (32 - bits)
        };
        return u32::from(net) & mask == u32::from(ip) & mask;
    }
    let name = name.trim_start_matches("*.").trim_start_matches('.');
    !name.is_empty() && (host == name || host.ends_with(&format!(".{name}")))
}

/// Why no HTTP client could be set up: a proxy variable that holds no URL, or (never seen) the
/// TLS backend failing to start.
#[derive(Debug)]
pub struct SetupError {
    /// The environment variable at fault, if any.
    pub variable: Option<String>,
    pub message: String,
}

impl SetupError {
    /// The diagnostic: labelled with the variable (`environment HTTPS_PROXY: …`) when one is at
    /// fault.
    pub fn problem(self) -> crate::diag::Problem {
        use crate::diag::Problem;
        match self.variable {
            Some(var) => Problem::env(&var, self.message)
                .help("set it to the proxy's URL, e.g. http://proxy.example:3128, or unset it"),
            None => Problem::usage(self.message),
        }
    }
}

impl std::fmt::Display for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.variable {
            Some(v) => write!(f, "{v}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl Client {
    pub fn new(config: ClientConfig) -> Result<Self, SetupError> {
        // Only the proxy variables: a fleet's process holds thousands of token variables, and
        // copying them all for every client would cost a fleet time quadratic in its size.
        let env: std::collections::BTreeMap<String, String> = PROXY_VARS
            .iter()
            .flat_map(|n| [n.to_string(), n.to_ascii_uppercase()])
            .filter_map(|n| std::env::var(&n).ok().map(|v| (n, v)))
            .collect();
        // System proxies off: the one proxy (or none) is chosen by `proxy_for`.
        let configured = config
            .proxy
            .clone()
            .map(|p| ("slogate.yaml `environments.proxy`".to_string(), p));
        let chosen = configured.or_else(|| proxy_setting(&config.base_url, &env));
        let proxy_text = chosen.as_ref().map(|(_, p)| p.clone());
        let proxy = match chosen {
            Some((var, proxy)) => {
                let p = reqwest::Proxy::all(&proxy).map_err(|e| SetupError {
                    message: crate::source::secret::userinfo_hidden(&format!(
                        "the proxy `{proxy}` is not a URL ({e})"
                    )),
                    variable: Some(var),
                })?;
                crate::verbose::note(|| {
                    format!(
                        "requests to {} go through the proxy {}",
                        host_of(&config.base_url),
                        crate::source::secret::userinfo_hidden(&proxy)
                    )
                });
                Some(p)
            }
            None => None,
        };
        let build = |keep_body: bool| {
            let mut builder = reqwest::Client::builder()
                .timeout(config.request_timeout)
                .connect_timeout(config.request_timeout.min(Duration::from_secs(10)))
                .user_agent(concat!("slogate/", env!("CARGO_PKG_VERSION")))
                .redirect(redirect_policy(
                    &config.base_url,
                    &config.url_name,
                    keep_body,
                ))
                .no_proxy();
            if let Some(p) = &proxy {
                builder = builder.proxy(p.clone());
            }
            builder.build().map_err(|e| SetupError {
                variable: None,
                message: format!("cannot set up the HTTP client: {e}"),
            })
        };
        let key = reqwest::Url::parse(&config.base_url).ok().map(|u| {
            (
                origin(&u),
                config.url_name.clone(),
                config.request_timeout,
                proxy_text,
            )
        });
        let shared = match &key {
            Some(k) if SHARING.with(|s| s.get()) => POOLS.with(|p| p.borrow().get(k).cloned()),
            _ => None,
        };
        let (http, post_http) = match shared {
            Some(pair) => pair,
            None => {
                let pair = (build(false)?, build(true)?);
                if let Some(k) = key.filter(|_| SHARING.with(|s| s.get())) {
                    POOLS.with(|p| p.borrow_mut().insert(k, pair.clone()));
                }
                pair
            }
        };
        Ok(Client {
            http,
            post_http,
            limit: Arc::new({
                let host = host_of(&config.base_url);
                let mut cfg = LimitConfig::with_max(config.concurrency);
                // Start no higher than asked; what other environments on this host admitted
                // is this one's ceiling from the start (a fleet's tenants on one Managed
                // cluster: one 429 teaches them all, none probes past it again).
                let learned = crate::source::limit::learned(&host);
                cfg.ceiling = learned;
                for start in [config.initial_concurrency, learned].into_iter().flatten() {
                    cfg.initial = cfg.initial.min(start.max(1));
                }
                // A caller that chose the start (a fleet's environments) grows from it by one
                // a round trip: a fleet's width comes from its many environments, and a short
                // run's doubling past the start meets 429s once the global cap stops binding
                // (the end of a fleet run), each costing a `Retry-After`.
                cfg.slow_start = config.initial_concurrency.is_none();
                AdaptiveLimit::new(cfg, GlobalLimit::process(), host)
            }),
            config,
            stats: Arc::new(Stats::default()),
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Shares `global` as the cap on requests in flight over all clients that take it (a fleet
    /// run's environments), instead of the process-wide [`GlobalLimit::process`]. Call before
    /// the first request.
    pub fn with_global_limit(mut self, global: GlobalLimit) -> Client {
        if let Some(l) = Arc::get_mut(&mut self.limit) {
            l.set_global(global);
        }
        self
    }

    /// Requests this client lets into flight now (the adaptive limit).
    pub fn current_limit(&self) -> usize {
        self.limit.limit()
    }

    /// Sends one request with the shared retry policy. Non-2xx statuses other than 401/403 are
    /// returned as responses: what they mean depends on the API.
    pub async fn send(&self, req: &Request) -> Result<Response, SendError> {
        let body = match &req.body {
            Some(b) => Body::Json(b),
            None => Body::None,
        };
        self.exchange(req.method, &req.path_and_query(), &req.path, body)
            .await
    }

    /// Sends `form` as `application/x-www-form-urlencoded`: in the body of a POST, in the URL of
    /// a GET (Prometheus' query API takes both). Same retries and auth as [`Client::send`].
    pub async fn send_form(
        &self,
        method: Method,
        path: &str,
        form: &[(String, String)],
    ) -> Result<Response, SendError> {
        let encoded = crate::query::encode::query_string(form);
        match method {
            Method::Get => {
                let url = if encoded.is_empty() {
                    path.to_string()
                } else {
                    format!("{path}?{encoded}")
                };
                self.exchange(method, &url, path, Body::None).await
            }
            Method::Post | Method::Put => {
                self.exchange(method, path, path, Body::Form(&encoded))
                    .await
            }
        }
    }

    /// The `Authorization` header for a request to `path` (`None`: send none), and the secret it
    /// holds, to be scrubbed from whatever comes back.
    fn authorization(&self, path: &str) -> Result<(Option<String>, Option<&Secret>), SendError> {
        let tokens = match &self.config.credentials {
            Credentials::None => return Ok((None, None)),
            Credentials::Basic { user, password } => {
                let pair = format!("{user}:{}", password.expose());
                return Ok((
                    Some(format!(
                        "Basic {}",
                        crate::source::secret::base64(pair.as_bytes())
                    )),
                    Some(password),
                ));
            }
            Credentials::Dynatrace(t) => t,
        };
        if path.starts_with("/platform/") {
            match &tokens.platform_token {
                Some(t) => Ok((Some(format!("Bearer {}", t.expose())), Some(t))),
                None => Err(SendError::MissingToken {
                    message: format!(
                        "this query needs a Dynatrace platform token (Bearer); set {} or `dynatrace.platform_token_env` in slogate.yaml",
                        tokens.platform_token_env
                    ),
                }),
            }
        } else {
            match &tokens.api_token {
                Some(t) => Ok((Some(format!("Api-Token {}", t.expose())), Some(t))),
                None => Err(SendError::MissingToken {
                    message: format!("no Dynatrace API token: set {}", tokens.api_token_env),
                }),
            }
        }
    }

    async fn exchange(
        &self,
        method: Method,
        url_text: &str,
        path: &str,
        body: Body<'_>,
    ) -> Result<Response, SendError> {
        let (header, secret) = match self.authorization(path) {
            Ok(a) => a,
            Err(e) => {
                if let SendError::MissingToken { message } = &e {
                    crate::verbose::skipped(
                        &format!("{} {url_text}", method_name(method)),
                        message,
                    );
                }
                return Err(e);
            }
        };
        let secrets: Vec<&Secret> = secret.into_iter().collect();
        let url_text = url_text.to_string();
        let url = format!("{}{}", self.config.base_url, url_text);
        let url_name = self.config.url_name.as_str();
        let start = Instant::now();
        let mut attempt = 0u32;
        let mut throttled = 0u32;
        loop {
            attempt += 1;
            let permit = self.limit.acquire().await;
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let sent = Instant::now();
            let host = host_of(&self.config.base_url);
            let result = match method {
                Method::Get | Method::Put => self
                    .request(&self.http, method, &url, header.as_deref(), body)
                    .send()
                    .await
                    .map_err(|e| describe(&e, &host, url_name)),
                Method::Post => self.post(&url, header.as_deref(), body, &host).await,
            };
            let outcome = match result {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let header = |name: &str| {
                        resp.headers()
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_string)
                    };
                    // `Retry-After`; else, on a 429, the Cluster API's `X-RateLimit-Reset`.
                    let retry_after = header("retry-after")
                        .as_deref()
                        .and_then(parse_retry_after)
                        .or_else(|| {
                            let reset = header("x-ratelimit-reset").filter(|_| status == 429)?;
                            let now = std::time::SystemTime::now()
                                .duration_since(std::time::UNIX_EPOCH)
                                .ok()?;
                            rate_limit_reset(&reset, now)
                        });
                    match read_body(resp, MAX_BODY, &host, url_name).await {
                        Ok(body) => Ok((status, retry_after, body)),
                        Err(e) => Err(e),
                    }
                }
                Err(t) => Err(t),
            };
            permit.done(match &outcome {
                Ok((status, _, _)) => signal_of_status(*status),
                // No answer (timeout, refused, reset): the environment may be overloaded.
                Err(t) if t.retryable => Signal::Overloaded,
                Err(_) => Signal::Ignored,
            });
            if matches!(&outcome, Ok((429, _, _))) {
                throttled += 1;
                self.stats.throttled.fetch_add(1, Ordering::Relaxed);
            }
            let attempt_kind = match &outcome {
                Ok((status, retry_after, _)) => Attempt::Status {
                    status: *status,
                    retry_after: *retry_after,
                },
                Err(_) => Attempt::Transport,
            };
            // A refused redirect, a certificate or an oversized answer stays so on retry.
            let permanent = matches!(&outcome, Err(t) if !t.retryable);
            let action = if permanent {
                Action::Stop
            } else {
                let counted = self.config.retry.counted(attempt, throttled);
                self.config
                    .retry
                    .decide(counted, &attempt_kind, start.elapsed(), fastrand::f64())
            };
            crate::verbose::note(|| {
                use crate::verbose::{Outcome, request_line};
                let answer = match &outcome {
                    Ok((status, _, _)) => Outcome::Status(*status),
                    Err(t) => Outcome::Failed(&t.message),
                };
                let retry = match action {
                    Action::RetryAfter(d) => Some(d),
                    Action::Stop | Action::GiveUp => None,
                };
                let shown = match body {
                    // Prometheus' query in a POST body is what the reader is looking for.
                    Body::Form(f) => scrub(&format!("{url_text} (form {f})"), &secrets),
                    Body::None | Body::Json(_) => scrub(&url_text, &secrets),
                };
                request_line(method_name(method), &shown, &answer, sent.elapsed(), retry)
            });
            match action {
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
                    // Scrubbed whole, then cut: a cut first can leave part of
                    // the token, which then no longer matches.
                    message: error_message(&scrub(&redact(&body), &secrets)),
                }),
                Ok((status, _, body)) => Ok(Response {
                    status,
                    body: scrub(&redact(&body), &secrets),
                    url: url_text,
                }),
                Err(t) => Err(SendError::Transport {
                    message: scrub(
                        &format!(
                            "{} (after {attempt} attempt{})",
                            t.message,
                            if attempt == 1 { "" } else { "s" }
                        ),
                        &secrets,
                    ),
                    url: url_text,
                }),
            };
        }
    }
}

impl Client {
    fn request(
        &self,
        http: &reqwest::Client,
        method: Method,
        url: &str,
        header: Option<&str>,
        body: Body<'_>,
    ) -> reqwest::RequestBuilder {
        let mut builder = match method {
            Method::Get => http.get(url),
            Method::Post => http.post(url),
            Method::Put => http.put(url),
        }
        .header("Accept", "application/json");
        if let Some(h) = header {
            builder = builder.header("Authorization", h);
        }
        match body {
            Body::None => builder,
            Body::Json(b) => builder.json(b),
            Body::Form(f) => builder
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(f.to_string()),
        }
    }

    /// One POST. A 307/308 is followed by reqwest with the body; a 301, 302 or 303 (a proxy adding
    /// a slash) comes back here and the same POST, body and all, goes to the new address (307
    /// semantics), within the origin and at most [`MAX_REDIRECTS`] times: an answer to a request
    /// that lost its query is never read.
    async fn post(
        &self,
        url: &str,
        header: Option<&str>,
        body: Body<'_>,
        host: &str,
    ) -> Result<reqwest::Response, TransportError> {
        let url_name = self.config.url_name.as_str();
        let home = reqwest::Url::parse(&self.config.base_url)
            .ok()
            .map(|u| origin(&u));
        let mut url = url.to_string();
        let mut hops = 0;
        loop {
            let resp = self
                .request(&self.post_http, Method::Post, &url, header, body)
                .send()
                .await
                .map_err(|e| describe(&e, host, url_name))?;
            if !matches!(resp.status().as_u16(), 301..=303) {
                return Ok(resp);
            }
            let next = resp
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .and_then(|l| resp.url().join(l).ok());
            let Some(next) = next else {
                // No usable Location: the 3xx is the answer (its status says what went wrong).
                return Ok(resp);
            };
            let to = crate::source::secret::userinfo_hidden(next.as_str());
            if home.as_ref() != Some(&origin(&next)) {
                return Err(permanent(other_origin(&to, url_name)));
            }
            hops += 1;
            if hops > MAX_REDIRECTS {
                return Err(permanent(format!(
                    "the server redirected more than {MAX_REDIRECTS} times (last to {to})"
                )));
            }
            url = next.to_string();
        }
    }
}

fn method_name(method: Method) -> &'static str {
    match method {
        Method::Get => "GET",
        Method::Post => "POST",
        Method::Put => "PUT",
    }
}

/// What a request carries.
#[derive(Clone, Copy)]
enum Body<'a> {
    None,
    Json(&'a serde_json::Value),
    /// Already encoded.
    Form(&'a str),
}

/// A failed attempt in words (without the URL, which the caller adds), and whether another
/// attempt could end differently.
#[derive(Clone, Debug, PartialEq)]
struct TransportError {
    message: String,
    retryable: bool,
}

fn transient(message: String) -> TransportError {
    TransportError {
        message,
        retryable: true,
    }
}

fn permanent(message: String) -> TransportError {
    TransportError {
        message,
        retryable: false,
    }
}

/// `host[:port]` of the environment URL, for messages (never its userinfo).
fn host_of(base: &str) -> String {
    reqwest::Url::parse(base)
        .ok()
        .and_then(|u| {
            u.host_str().map(|h| match u.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_string(),
            })
        })
        .unwrap_or_else(|| "the Dynatrace environment".into())
}

/// Reads the body up to `limit` bytes; a longer one is refused without reading the rest.
async fn read_body(
    mut resp: reqwest::Response,
    limit: usize,
    host: &str,
    url_name: &str,
) -> Result<String, TransportError> {
    let too_large = || {
        permanent(format!(
            "response larger than {} MiB; slogate reads at most that much from one answer",
            limit / (1024 * 1024)
        ))
    };
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut bytes: Vec<u8> = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if bytes.len() + chunk.len() > limit {
                    return Err(too_large());
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => return Err(describe(&e, host, url_name)),
        }
    }
    // Without a copy when the answer is UTF-8, as it should be: a large answer is held once.
    Ok(String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// Says which transport problem it was: refused connection, unknown name, TLS (with the
/// certificate problem), timeout, a refused redirect. reqwest's own text is generic, so the
/// error's source chain (hyper, rustls, io) is read.
fn describe(e: &reqwest::Error, host: &str, url_name: &str) -> TransportError {
    let mut chain: Vec<String> = Vec::new();
    let mut io_kind = None;
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(r) = s.downcast_ref::<RedirectRefused>() {
            return permanent(r.0.clone());
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            io_kind.get_or_insert(io.kind());
        }
        chain.push(s.to_string());
        source = s.source();
    }
    classify(
        &chain,
        io_kind,
        e.is_timeout(),
        e.is_connect(),
        e.is_body() || e.is_decode(),
        host,
        url_name,
    )
}

/// The pure part of `describe`: the texts of the source chain (outermost first) and what reqwest
/// and io say about the error.
fn classify(
    chain: &[String],
    io_kind: Option<std::io::ErrorKind>,
    timeout: bool,
    connect: bool,
    body: bool,
    host: &str,
    url_name: &str,
) -> TransportError {
    use std::io::ErrorKind;
    let all = chain.join(": ").to_ascii_lowercase();
    let innermost = chain.last().cloned().unwrap_or_default();
    if timeout || io_kind == Some(ErrorKind::TimedOut) {
        let what = if connect {
            "connecting to"
        } else {
            "waiting for"
        };
        return transient(format!("timed out {what} {host} (see --request-timeout)"));
    }
    if all.contains("dns error")
        || all.contains("failed to lookup address")
        || all.contains("name or service not known")
        || all.contains("no address associated")
        || all.contains("nodename nor servname")
    {
        return transient(format!(
            "name not resolved: {host} (check the host name in {url_name} and the DNS)"
        ));
    }
    let certificate = all.contains("certificate") || all.contains("unknownissuer");
    if certificate {
        return permanent(format!(
            "TLS: the certificate of {host} was not accepted ({innermost}); check {url_name}'s host name and that the certificate is issued by a trusted CA"
        ));
    }
    if all.contains("tls")
        || all.contains("handshake")
        || all.contains("invalidcontenttype")
        || all.contains("corrupt message")
    {
        // A server that does not speak TLS (or not our versions) will not start within seconds.
        return permanent(format!(
            "TLS: the secure connection to {host} failed ({innermost})"
        ));
    }
    match io_kind {
        Some(ErrorKind::ConnectionRefused) => {
            return transient(format!(
                "connection refused by {host} (nothing listens there: check {url_name}'s host and port)"
            ));
        }
        Some(ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe) => {
            return transient(format!("the connection to {host} was closed unexpectedly"));
        }
        Some(ErrorKind::NetworkUnreachable | ErrorKind::HostUnreachable) => {
            return transient(format!("{host} is unreachable from here (network)"));
        }
        _ => {}
    }
    if all.contains("connection refused") {
        return transient(format!(
            "connection refused by {host} (nothing listens there: check {url_name}'s host and port)"
        ));
    }
    if connect {
        transient(format!("could not connect to {host} ({innermost})"))
    } else if body {
        transient(format!("the response body from {host} could not be read"))
    } else if innermost.is_empty() {
        transient(format!("the request to {host} failed"))
    } else {
        transient(format!("the request to {host} failed ({innermost})"))
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::io::ErrorKind;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn loopback_never_goes_through_a_proxy() {
        let e = env(&[
            ("HTTP_PROXY", "http://proxy:3128"),
            ("HTTPS_PROXY", "http://proxy:3128"),
            ("ALL_PROXY", "http://proxy:3128"),
        ]);
        for base in [
            "http://127.0.0.1:8080",
            "http://127.1.2.3:1",
            "http://localhost:9",
            "http://[::1]:9",
            "https://localhost",
        ] {
            assert_eq!(proxy_for(base, &e), None, "{base}");
        }
        assert_eq!(
            proxy_for("https://abc.live.dynatrace.com", &e).as_deref(),
            Some("http://proxy:3128")
        );
    }

    #[test]
    fn no_proxy_is_honoured() {
        let proxy = "http://proxy:3128";
        for (no_proxy, base, direct) in [
            ("dynatrace.com", "https://abc.live.dynatrace.com", true),
            (".dynatrace.com", "https://abc.live.dynatrace.com", true),
            ("*.dynatrace.com", "https://abc.live.dynatrace.com", true),
            ("*", "https://abc.live.dynatrace.com", true),
            (
                "other.com, ABC.live.dynatrace.com ",
                "https://abc.live.dynatrace.com",
                true,
            ),
            ("10.0.0.0/8", "https://10.1.2.3", true),
            ("10.0.0.0/8", "https://11.1.2.3", false),
            ("dt.example:443", "https://dt.example", true),
            ("dt.example:8443", "https://dt.example", false),
            ("namatrace.com", "https://abc.live.dynatrace.com", false),
            ("", "https://abc.live.dynatrace.com", false),
            ("10.0.0.0/99", "https://10.1.2.3", false),
        ] {
            let e = env(&[("https_proxy", proxy), ("no_proxy", no_proxy)]);
            assert_eq!(
                proxy_for(base, &e).is_none(),
                direct,
                "NO_PROXY={no_proxy} {base}"
            );
        }
        // Scheme-specific variables, lower case first, ALL_PROXY last.
        let e = env(&[("http_proxy", "http://a:1"), ("HTTP_PROXY", "http://b:1")]);
        assert_eq!(
            proxy_for("http://dt.example", &e).as_deref(),
            Some("http://a:1")
        );
        assert_eq!(proxy_for("https://dt.example", &e), None);
        let e = env(&[("ALL_PROXY", "socks5://c:1")]);
        assert_eq!(
            proxy_for("https://dt.example", &e).as_deref(),
            Some("socks5://c:1")
        );
    }

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let o = |u: &str| origin(&reqwest::Url::parse(u).unwrap());
        assert_eq!(o("https://a.example/x"), o("https://A.example:443/y"));
        assert_ne!(o("https://a.example"), o("http://a.example"));
        assert_ne!(o("https://a.example"), o("https://b.example"));
        assert_ne!(o("http://127.0.0.1:1"), o("http://127.0.0.1:2"));
    }

    fn kinds(chain: &[&str], io: Option<ErrorKind>, timeout: bool, connect: bool) -> String {
        let chain: Vec<String> = chain.iter().map(|s| s.to_string()).collect();
        classify(
            &chain,
            io,
            timeout,
            connect,
            false,
            "dt.example:443",
            "DT_URL",
        )
        .message
    }

    #[test]
    fn transport_errors_say_which() {
        let refused = kinds(
            &[
                "client error (Connect)",
                "tcp connect error",
                "Connection refused (os error 111)",
            ],
            Some(ErrorKind::ConnectionRefused),
            false,
            true,
        );
        assert!(
            refused.starts_with("connection refused by dt.example:443"),
            "{refused}"
        );
        let dns = kinds(
            &[
                "client error (Connect)",
                "dns error",
                "failed to lookup address information: Name or service not known",
            ],
            None,
            false,
            true,
        );
        assert!(
            dns.starts_with("name not resolved: dt.example:443"),
            "{dns}"
        );
        let cert = kinds(
            &[
                "client error (Connect)",
                "invalid peer certificate: UnknownIssuer",
            ],
            Some(ErrorKind::InvalidData),
            false,
            true,
        );
        assert!(
            cert.starts_with("TLS: the certificate of dt.example:443"),
            "{cert}"
        );
        assert!(cert.contains("UnknownIssuer"), "{cert}");
        let tls = kinds(
            &[
                "client error (Connect)",
                "received corrupt message of type InvalidContentType",
            ],
            Some(ErrorKind::InvalidData),
            false,
            true,
        );
        assert!(tls.starts_with("TLS: the secure connection"), "{tls}");
        let slow = kinds(&["operation timed out"], None, true, false);
        assert!(
            slow.starts_with("timed out waiting for dt.example:443"),
            "{slow}"
        );
        let slow = kinds(&[], Some(ErrorKind::TimedOut), false, true);
        assert!(slow.starts_with("timed out connecting to"), "{slow}");
        assert_eq!(
            kinds(&[], None, false, false),
            "the request to dt.example:443 failed"
        );
    }
}
