//! A real Prometheus for the tests: the Debian `prometheus` package's server and `promtool`,
//! backfilled with OpenMetrics data that has a known regression at a known deployment time.
//!
//! The server listens on 127.0.0.1 on a free port, keeps its data in a temporary folder, scrapes
//! nothing, and is killed (by its PID) when the handle is dropped. Without the binaries a test
//! is skipped with a message (a bare `cargo test` on a laptop), except where every test must run:
//! in CI (`CI=true`) and under `tests/run.sh`, the README's test command, which installs them
//! and sets `SLOGATE_TEST_REQUIRE_PROMETHEUS`. There a missing binary fails the test.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// 2026-11-17T10:00:00Z: the first sample.
pub const START: i64 = 1_794_909_600;
/// 2026-11-17T11:00:00Z: the release that doubled the response times.
pub const REGRESSION: i64 = START + 3600;
/// 2026-11-17T12:00:00Z: the last sample.
pub const END: i64 = START + 7200;
/// The job the data carries: what Keptn's built-in SLIs select for service `checkout` of
/// project `shop` in stage `production`.
pub const JOB: &str = "checkout-shop-production-canary";

const STEP: i64 = 15;
const LE: [&str; 6] = ["50", "100", "200", "500", "1000", "+Inf"];
/// Increments per 15 s step of each bucket (cumulative over `le`), before and after 11:00.
const BUCKETS_BEFORE: [u64; 6] = [30, 90, 135, 147, 150, 150];
const BUCKETS_AFTER: [u64; 6] = [0, 60, 150, 270, 300, 300];

/// The OpenMetrics text: per 15 s step, `http_requests_total` grows by 135 (status 200) and 15
/// (status 500) until 11:00 and by twice that after, and the response-time histogram moves from
/// mostly under 100 ms to mostly over 200 ms. Timestamps in seconds; each series contiguous.
pub fn openmetrics() -> String {
    let steps = (END - START) / STEP;
    let after = |i: i64| START + i * STEP > REGRESSION;
    let mut out = String::from("# TYPE http_requests counter\n");
    for (status, per_step) in [("200", 135u64), ("500", 15u64)] {
        let mut v = 0u64;
        for i in 0..=steps {
            if i > 0 {
                v += if after(i) { 2 * per_step } else { per_step };
            }
            out.push_str(&format!(
                "http_requests_total{{job=\"{JOB}\",status=\"{status}\"}} {v} {}\n",
                START + i * STEP
            ));
        }
    }
    out.push_str("# TYPE http_response_time_milliseconds histogram\n");
    for (b, le) in LE.iter().enumerate() {
        let mut v = 0u64;
        for i in 0..=steps {
            if i > 0 {
                v += if after(i) {
                    BUCKETS_AFTER[b]
                } else {
                    BUCKETS_BEFORE[b]
                };
            }
            out.push_str(&format!(
                "http_response_time_milliseconds_bucket{{job=\"{JOB}\",le=\"{le}\"}} {v} {}\n",
                START + i * STEP
            ));
        }
    }
    let mut v = 0u64;
    for i in 0..=steps {
        if i > 0 {
            v += if after(i) { 300 } else { 150 };
        }
        out.push_str(&format!(
            "http_response_time_milliseconds_count{{job=\"{JOB}\"}} {v} {}\n",
            START + i * STEP
        ));
    }
    out.push_str("# EOF\n");
    out
}

/// A running Prometheus server holding [`openmetrics`].
pub struct PromServer {
    pub url: String,
    child: Child,
    // Removed after the server is gone (field order: dropped after `child` is killed in Drop).
    _dir: tempfile::TempDir,
}

/// Whether a missing server fails the test instead of skipping it: `CI` set to anything but
/// `false`/`0`, or `SLOGATE_TEST_REQUIRE_PROMETHEUS` set.
fn required() -> bool {
    let set = |k: &str| {
        std::env::var(k).is_ok_and(|v| {
            let v = v.trim();
            !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false")
        })
    };
    set("CI") || set("SLOGATE_TEST_REQUIRE_PROMETHEUS")
}

fn on_path(bin: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|p| p.join(bin).is_file()))
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local address").port()
}

/// `GET path` on 127.0.0.1:port; the status code, if the server answered.
fn get_status(port: u16, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).ok()?;
    let head = String::from_utf8_lossy(&buf[..n]);
    head.split_whitespace().nth(1)?.parse().ok()
}

impl PromServer {
    /// Backfills the data and starts the server; `None` (with a message) when the binaries are
    /// not installed here.
    pub fn start() -> Option<PromServer> {
        if !on_path("prometheus") || !on_path("promtool") {
            assert!(
                !required(),
                "prometheus/promtool are not installed; tests/run.sh installs the Debian package `prometheus`"
            );
            eprintln!(
                "SKIPPED: a real Prometheus is needed: run the tests with `bash tests/run.sh`, which installs it"
            );
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let om = dir.path().join("data.om");
        std::fs::write(&om, openmetrics()).expect("write OpenMetrics");
        let data = dir.path().join("data");
        let backfill = Command::new("promtool")
            .args(["tsdb", "create-blocks-from", "openmetrics"])
            .arg(&om)
            .arg(&data)
            .stdout(Stdio::null())
            .output()
            .expect("run promtool");
        assert!(
            backfill.status.success(),
            "promtool failed: {}",
            String::from_utf8_lossy(&backfill.stderr)
        );
        let config = dir.path().join("prometheus.yml");
        std::fs::write(&config, "global: {}\nscrape_configs: []\n").expect("write config");
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("log")).expect("log file");
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start prometheus");
        let server = PromServer {
            url: format!("http://127.0.0.1:{port}"),
            child,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while get_status(port, "/-/ready") != Some(200) {
            assert!(
                Instant::now() < deadline,
                "prometheus was not ready within 30 s; log:\n{}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(server)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("log")).unwrap_or_default()
    }

    /// The folder the server's files live in.
    pub fn dir(&self) -> &Path {
        self._dir.path()
    }
}

impl Drop for PromServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
