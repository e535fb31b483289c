//! A small fluent runner for the `slogate` binary, in the spirit of just's `Test` and ruff's
//! `CliTest`: build the command line, run it in a chosen folder, check the exit code, look at
//! stdout and stderr.
//!
//! Every run passes `--color never` and sets `NO_COLOR=1`, so diagnostics are plain text and
//! snapshots are stable. Run it with `current_dir` at the fixture folder and relative paths:
//! the paths in diagnostics and reports are then the same on every machine.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The repository root (where Cargo.toml is).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/fixtures/<sub>`.
pub fn fixtures(sub: &str) -> PathBuf {
    root().join("tests").join("fixtures").join(sub)
}

/// `slo-examples/`, the ready SLO sets shipped with the project.
pub fn examples() -> PathBuf {
    root().join("slo-examples")
}

/// One invocation of `slogate`, built step by step.
#[must_use]
pub struct Slogate {
    args: Vec<OsString>,
    cwd: Option<PathBuf>,
    stderr: Option<Stdio>,
    stdout: Option<Stdio>,
    envs: Vec<(String, String)>,
}

impl Slogate {
    pub fn new() -> Self {
        Slogate {
            args: Vec::new(),
            cwd: None,
            stderr: None,
            stdout: None,
            envs: Vec::new(),
        }
    }

    /// Sets an environment variable for the run (Dynatrace URL and tokens).
    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.envs.push((key.to_string(), value.into()));
        self
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    /// The folder the command runs in; give paths relative to it.
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.cwd = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Sends stderr somewhere else than a captured pipe (e.g. a pipe nobody reads).
    pub fn stderr_to(mut self, stdio: Stdio) -> Self {
        self.stderr = Some(stdio);
        self
    }

    /// Sends stdout somewhere else than a captured pipe.
    pub fn stdout_to(mut self, stdio: Stdio) -> Self {
        self.stdout = Some(stdio);
        self
    }

    /// Runs the binary to completion.
    pub fn run(self) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_slogate"));
        cmd.arg("--color").arg("never").args(&self.args);
        cmd.env("NO_COLOR", "1");
        // Nothing from the developer's shell may change the output.
        for var in [
            "CLICOLOR_FORCE",
            "FORCE_COLOR",
            "COLUMNS",
            "RUST_BACKTRACE",
            "RUST_LIB_BACKTRACE",
            "DT_URL",
            "DT_TENANT",
            "DT_API_TOKEN",
            "DT_PLATFORM_TOKEN",
            "PROMETHEUS_URL",
            "PROMETHEUS_USER",
            "PROMETHEUS_PASSWORD",
            "SLOGATE_HISTORY",
            "TF_BUILD",
            "GITHUB_ACTIONS",
            "GITLAB_CI",
            "GITHUB_STEP_SUMMARY",
            "GITHUB_OUTPUT",
            "HTTP_PROXY",
            "http_proxy",
            "HTTPS_PROXY",
            "https_proxy",
            "ALL_PROXY",
            "all_proxy",
            "NO_PROXY",
            "no_proxy",
        ] {
            cmd.env_remove(var);
        }
        // Every run gets its own history file unless the test names one: runs must not see each
        // other's verdicts, and nothing may be written into the repository's examples.
        static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let history = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("history-{}-{n}.sqlite", std::process::id()));
        cmd.env("SLOGATE_HISTORY", history);
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        if let Some(dir) = &self.cwd {
            cmd.current_dir(dir);
        }
        cmd.stdin(Stdio::null());
        cmd.stdout(self.stdout.unwrap_or_else(Stdio::piped));
        cmd.stderr(self.stderr.unwrap_or_else(Stdio::piped));
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start slogate: {e}"));
        let out = child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("slogate did not finish: {e}"));
        let args: Vec<String> = self
            .args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        Output {
            // A signal (abort, stack overflow) has no code; -1 makes every assert_code fail.
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            command: format!("slogate --color never {}", args.join(" ")),
        }
    }
}

/// What a run produced.
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// The command line, for failure messages.
    pub command: String,
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` exited with {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command,
            self.code,
            shorten(&self.stdout),
            shorten(&self.stderr)
        )
    }
}

/// Keeps failure messages readable when an output echoes a huge generated line.
fn shorten(s: &str) -> String {
    const MAX: usize = 6000;
    if s.len() <= MAX {
        return s.to_string();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n[... {} more bytes]", &s[..end], s.len() - end)
}

impl Output {
    /// Fails with the whole output when the exit code is not `code`.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "unexpected exit code\n{self:?}");
        self
    }

    /// Fails when the process panicked (exit 101, or a panic message on stderr).
    #[track_caller]
    pub fn assert_no_panic(&self) -> &Self {
        assert!(
            self.code != 101 && !self.stderr.contains("panicked"),
            "slogate panicked\n{self:?}"
        );
        assert!(self.code >= 0, "slogate was killed by a signal\n{self:?}");
        self
    }

    #[track_caller]
    pub fn assert_stderr_contains(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}\n{self:?}"
        );
        self
    }

    #[track_caller]
    pub fn assert_stdout_contains(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}\n{self:?}"
        );
        self
    }

    /// stdout parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON: {e}\n{self:?}"))
    }

    /// The diagnostic codes on stderr (`slogate::xyz` lines), in order.
    pub fn codes(&self) -> Vec<String> {
        self.stderr
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("slogate::") && !l.contains(' '))
            .map(str::to_string)
            .collect()
    }
}

/// The requests a run sent for its data: without the preflight token lookup, the entity
/// lookups that explain an empty answer and the context (problems and events in the windows,
/// asked with an entity selector and no problem or event selector; tests of those look at
/// `sim.requests()` itself).
pub fn data_requests(sim: &dtsim::BlockingSim) -> Vec<dtsim::RecordedRequest> {
    sim.requests()
        .into_iter()
        .filter(|r| !is_context_request(r))
        .filter(|r| {
            !r.path.ends_with("/apiTokens/lookup")
                && !r.path.ends_with("/api/v2/entities")
                && !r
                    .query
                    .as_deref()
                    .is_some_and(|q| q.contains("fields=unit"))
        })
        .collect()
}

/// A request for the verdict's context (docs/context.md), not for an SLI's value.
pub fn is_context_request(r: &dtsim::RecordedRequest) -> bool {
    let q = r.query.as_deref().unwrap_or_default();
    (r.path.ends_with("/api/v2/problems")
        && q.contains("pageSize=500")
        && !q.contains("problemSelector"))
        || (r.path.ends_with("/api/v2/events")
            && q.contains("pageSize=1000")
            && !q.contains("eventSelector"))
}

/// A scripted HTTP/1.1 server on 127.0.0.1: each connection gets `reply(n, request head)` and
/// is closed. It stops after `max` connections or 60 s, whichever comes first.
pub struct Script {
    pub port: u16,
    seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Script {
    pub fn start(max: usize, reply: impl Fn(usize, &str) -> Vec<u8> + Send + 'static) -> Script {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let record = seen.clone();
        std::thread::spawn(move || {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            let mut n = 0;
            while n < max && std::time::Instant::now() < deadline {
                let Ok((mut conn, _)) = listener.accept() else {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    continue;
                };
                let _ = conn.set_nonblocking(false);
                let _ = conn.set_read_timeout(Some(std::time::Duration::from_secs(1)));
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65536 {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(k) => head.extend_from_slice(&buf[..k]),
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                record.lock().unwrap().push(head.clone());
                let _ = conn.write_all(&reply(n, &head));
                let _ = conn.flush();
                n += 1;
            }
        });
        Script { port, seen }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

pub fn response(status: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 {status}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    r.push_str("\r\n");
    r.push_str(body);
    r.into_bytes()
}
