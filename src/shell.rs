//! The IO shell's shared edges, used by several commands: the process environment, the CI in
//! effect, the HTTP client for a connection, the async runtime and the entity selectors of a
//! service. Commands import these from here, never from each other.

use std::collections::BTreeMap;
use std::time::Duration as StdDuration;

use crate::ci::{self, CiKind};
use crate::cli::CiArg;
use crate::diag::Problem;
use crate::event::{self, Target};
use crate::model::settings::Settings;
use crate::plan;
use crate::source::http::{Client, ClientConfig, Credentials, Tokens};
use crate::source::retry::RetryPolicy;

/// Settings of the config root, if it has a slogate.yaml (`mark` and `history` work without one).
pub fn settings_of(root: &std::path::Path) -> Result<Settings, Vec<Problem>> {
    let path = root.join(crate::model::layout::SETTINGS_FILE);
    if !path.is_file() {
        return Ok(Settings::default());
    }
    let l = crate::model::load::settings_file(&path).map_err(|p| vec![p])?;
    if l.has_errors() {
        return Err(l.problems);
    }
    Ok(l.value)
}

fn usage(message: impl Into<String>, help: &str) -> Vec<Problem> {
    vec![Problem::file("slogate::usage", "command line", message).help(help.to_string())]
}

/// The process environment, read once here at the edge.
pub fn environment() -> BTreeMap<String, String> {
    std::env::vars().collect()
}

/// The CI in effect: forced by `--ci`, else detected.
pub fn ci_kind(arg: CiArg, env: &BTreeMap<String, String>) -> Option<CiKind> {
    match arg {
        CiArg::Auto => ci::detect(env),
        CiArg::Azure => Some(CiKind::Azure),
        CiArg::Github => Some(CiKind::GitHub),
        CiArg::Gitlab => Some(CiKind::GitLab),
        CiArg::None => None,
    }
}

/// The entity selectors to mark: the one given, or one per service from the template.
pub fn selectors(
    settings: &Settings,
    explicit: Option<&str>,
    project: Option<&str>,
    stage: Option<&str>,
    services: &[Option<String>],
) -> Result<Vec<(Option<String>, String)>, Vec<Problem>> {
    if let Some(sel) = explicit {
        return Ok(vec![(None, sel.to_string())]);
    }
    let template = settings
        .dynatrace
        .as_ref()
        .and_then(|d| d.entity_selector.as_ref())
        .map(|t| t.value.clone())
        .unwrap_or_else(|| event::DEFAULT_SELECTOR_TEMPLATE.to_string());
    services
        .iter()
        .map(|service| {
            let target = Target {
                project: project.map(str::to_string),
                stage: stage.map(str::to_string),
                service: service.clone(),
            };
            event::selector(&template, &target)
                .map(|s| (service.clone(), s))
                .map_err(|m| {
                    usage(
                        m,
                        "pass --service (and --stage, --project), or --entity-selector",
                    )
                })
        })
        .collect()
}

pub fn client_for(
    conn: &plan::Connection,
    timeout: StdDuration,
    concurrency: usize,
) -> Result<Client, crate::source::http::SetupError> {
    // An `environments:` entry may lower the concurrency and set its own timeout and proxy.
    let limits = conn.environment.clone().unwrap_or_default();
    let timeout = limits.request_timeout.unwrap_or(timeout);
    let concurrency = limits
        .concurrency
        .map_or(concurrency, |c| c.min(concurrency));
    Client::new(ClientConfig {
        base_url: conn.url.clone(),
        credentials: Credentials::Dynatrace(Tokens {
            api_token: conn.token.clone(),
            api_token_env: conn.token_env.clone(),
            platform_token: conn.platform_token.clone(),
            platform_token_env: conn.platform_token_env.clone(),
        }),
        url_name: "DT_URL".into(),
        request_timeout: timeout,
        retry: RetryPolicy::default(),
        concurrency,
        proxy: limits.proxy,
        initial_concurrency: limits.start,
    })
}

thread_local! {
    /// A fleet worker's runtime, kept for every environment it runs.
    static KEPT: std::cell::RefCell<Option<std::rc::Rc<tokio::runtime::Runtime>>> =
        const { std::cell::RefCell::new(None) };
    static KEEP: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Makes this thread a fleet worker: one runtime for all the runs it makes (their HTTP
/// connections outlive each run and serve the next, see
/// [`crate::source::http::share_connections_on_this_thread`]).
pub fn fleet_worker() {
    KEEP.with(|k| k.set(true));
    crate::source::http::share_connections_on_this_thread();
}

/// The end of a fleet worker: its pooled connections and runtime are dropped here, while the
/// thread is whole, not among its thread-local destructors (whose order is unspecified).
pub fn end_fleet_worker() {
    crate::source::http::drop_shared_connections();
    let kept = KEPT.with(|k| k.borrow_mut().take());
    drop(kept);
    KEEP.with(|k| k.set(false));
}

/// The runtime of one pipeline run: a new one, or on a fleet worker the thread's own.
pub fn run_runtime() -> Result<std::rc::Rc<tokio::runtime::Runtime>, Vec<Problem>> {
    if !KEEP.with(|k| k.get()) {
        return runtime().map(std::rc::Rc::new);
    }
    if let Some(rt) = KEPT.with(|k| k.borrow().clone()) {
        return Ok(rt);
    }
    let rt = std::rc::Rc::new(runtime()?);
    KEPT.with(|k| *k.borrow_mut() = Some(rt.clone()));
    Ok(rt)
}

pub fn runtime() -> Result<tokio::runtime::Runtime, Vec<Problem>> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            usage(
                format!("cannot start the async runtime: {e}"),
                "check the system's thread and file limits",
            )
        })
}

/// The exit code of a run stopped by Ctrl-C (or a cancelled pipeline job): 128 + SIGINT, what a
/// Unix shell reports for a process that SIGINT ended. No verdict, no reports.
pub const EXIT_INTERRUPTED: i32 = 130;

/// Makes Ctrl-C and Ctrl-Break end the process with [`EXIT_INTERRUPTED`] and a line on stderr,
/// on Windows as on Unix. Unix needs nothing: the default SIGINT action ends the process, and the
/// shell and CI agents report 130. On Windows the default handler exits with
/// `STATUS_CONTROL_C_EXIT` (0xC000013A), and under Wine with 0 -- an interrupted gate would pass.
/// Two malloc arenas for the whole process, set before any thread exists. glibc gives threads
/// up to 8 × cores arenas and fixes that limit when the first extra arena is made, so this
/// must run first in `main`. A fleet's hundred workers each build and drop one environment's
/// run after another; with 16 arenas the pages they free stay scattered over all of them and
/// the peak RSS of 10,000 environments was 215 MiB in most runs (and those runs were slower,
/// paging), with two it is 90 MiB like any other run (docs/performance.md). The workers mostly
/// wait on the network, so two arenas cost no speed. Other platforms' allocators: unchanged.
pub fn few_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter, and no other thread exists yet.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Gives the memory freed so far back to the system (glibc keeps freed pages for reuse by the
/// same arena). A fleet calls it after reading its files: the parse of a slogate.yaml with
/// 10,000 environments peaks at about 15 MB of syntax tree, which the workers, allocating from
/// the other arena, would never reuse (docs/performance.md).
pub fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free pages of the allocator's own heaps.
    unsafe {
        libc::malloc_trim(0);
    }
}

pub fn exit_130_on_interrupt() {
    #[cfg(windows)]
    windows_console::install();
}

#[cfg(windows)]
mod windows_console {
    use windows_sys::Win32::System::Console::{
        CTRL_BREAK_EVENT, CTRL_C_EVENT, SetConsoleCtrlHandler,
    };
    use windows_sys::core::BOOL;

    /// Runs on a thread of its own that Windows starts for the event.
    unsafe extern "system" fn on_ctrl(kind: u32) -> BOOL {
        if kind == CTRL_C_EVENT || kind == CTRL_BREAK_EVENT {
            use std::io::Write;
            // Waits for a write of the main thread in progress, if any; never panics.
            let _ = writeln!(
                std::io::stderr(),
                "slogate: interrupted; no verdict (exit {})",
                super::EXIT_INTERRUPTED
            );
            std::process::exit(super::EXIT_INTERRUPTED);
        }
        0 // not handled: the next handler (the default one) decides
    }

    pub(super) fn install() {
        // SAFETY: registers a handler with the signature the API requires; it shares no state
        // with the main thread but stderr, whose lock it takes.
        unsafe {
            SetConsoleCtrlHandler(Some(on_ctrl), 1);
        }
    }
}
