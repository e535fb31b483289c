//! `dtsim --scenario FILE [--port 0] [--host 127.0.0.1] [--max-seconds N]`
//!
//! Prints `listening on http://HOST:PORT` as its first line, then serves until SIGINT/SIGTERM
//! or until `--max-seconds` have elapsed.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: dtsim --scenario FILE [--port N] [--host 127.0.0.1] [--max-seconds N]";

struct Args {
    scenario: String,
    port: u16,
    host: IpAddr,
    max_seconds: Option<u64>,
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let mut scenario = None;
    let mut port = 0;
    let mut host: IpAddr = [127, 0, 0, 1].into();
    let mut max_seconds = None;
    while let Some(a) = it.next() {
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        if name == "-h" || name == "--help" {
            return Err(USAGE.into());
        }
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
        };
        match name.as_str() {
            "--scenario" => scenario = Some(value()?),
            "--port" => {
                port = value()?
                    .parse()
                    .map_err(|_| "--port needs a number".to_string())?
            }
            "--host" => {
                let v = value()?;
                host = if v == "localhost" {
                    [127, 0, 0, 1].into()
                } else {
                    v.parse()
                        .map_err(|_| format!("--host: invalid address '{v}'"))?
                };
                if !host.is_loopback() {
                    return Err(format!(
                        "--host: dtsim listens on loopback addresses only, not {host}"
                    ));
                }
            }
            "--max-seconds" => {
                max_seconds = Some(
                    value()?
                        .parse()
                        .map_err(|_| "--max-seconds needs a number".to_string())?,
                )
            }
            other => return Err(format!("unknown argument '{other}'\n{USAGE}")),
        }
    }
    Ok(Args {
        scenario: scenario.ok_or_else(|| format!("--scenario is required\n{USAGE}"))?,
        port,
        host,
        max_seconds,
    })
}

async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let text = match std::fs::read_to_string(&args.scenario) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("dtsim: cannot read {}: {e}", args.scenario);
            return ExitCode::from(2);
        }
    };
    let scenario = match dtsim::scenario_from_json(&text) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("dtsim: {}: {e}", args.scenario);
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("dtsim: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async move {
        let sim = match dtsim::Sim::start_on(scenario, SocketAddr::new(args.host, args.port)).await
        {
            Ok(s) => s,
            Err(e) => {
                eprintln!("dtsim: cannot listen on {}:{}: {e}", args.host, args.port);
                return ExitCode::FAILURE;
            }
        };
        {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "listening on {}", sim.url());
            let _ = out.flush();
        }
        match args.max_seconds {
            Some(n) => {
                tokio::select! {
                    _ = stop_signal() => {}
                    _ = tokio::time::sleep(Duration::from_secs(n)) => {}
                }
            }
            None => stop_signal().await,
        }
        // What benchmarks read: how much the environments' limits throttled.
        let st = sim.fleet_stats();
        if st.requests > 0 {
            eprintln!(
                "dtsim: environments answered {} requests, {} of them 429 (concurrency limit), peak {} in flight in one environment",
                st.requests, st.throttled, st.peak_in_flight
            );
        }
        sim.shutdown().await;
        ExitCode::SUCCESS
    })
}
