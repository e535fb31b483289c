//! `slogate eval` and `slogate gate`: flags → a [`Job`], run by the pipeline.

use crate::cli::{BaselineArg, EvalArgs, GateArgs, OutputArgs, SinceEventArg};
use crate::clock::{Clock, SystemClock};
use crate::context::AnchorKind;
use crate::pipeline::{BaselineMode, Job, Stop, When, run, stop, usage};
use crate::ui::{Exit, Ui};
use crate::window::{self};
use chrono::Duration;

pub fn run_eval(args: &EvalArgs, ui: &Ui) -> Exit {
    let clock = SystemClock;
    let when = match window::resolve(
        args.from.as_deref(),
        args.to.as_deref(),
        args.timeframe.as_deref(),
        clock.now(),
    ) {
        Ok(w) => When::Fixed(w),
        Err(m) => {
            return invalid(
                ui,
                &args.output,
                m,
                "e.g. --from 2026-11-17T10:00:00Z --to 2026-11-17T11:00:00Z, or --timeframe 30m",
            );
        }
    };
    let job = Job {
        record: args.record,
        select: args.select.scope(),
        source: &args.source,
        output: &args.output,
        when,
        wait: None,
        baseline: BaselineMode::History,
        pinned: false,
        judge: None,
        warm_up_minutes: None,
        dashboard: None,
        control: None,
        fleet: None,
    };
    if args.fleet.environments.is_some() {
        return crate::fleet::run(job, &args.fleet, ui);
    }
    run(job, ui, &clock)
}

pub fn run_gate(args: &GateArgs, ui: &Ui) -> Exit {
    let clock = SystemClock;
    let parse = |s: &str, flag: &str| {
        window::parse_duration(s).map_err(|m| (m, format!("e.g. --{flag} 30m")))
    };
    let durations = (|| {
        let length = parse(&args.timeframe, "timeframe")?;
        let delay = parse(&args.delay, "delay")?;
        let lookback = parse(&args.lookback, "lookback")?;
        let event_wait = parse(&args.event_wait, "event-wait")?;
        let wait = args.wait.as_deref().map(|w| parse(w, "wait")).transpose()?;
        Ok::<_, (String, String)>((length, delay, lookback, event_wait, wait))
    })();
    let (length, delay, lookback, event_wait, wait) = match durations {
        Ok(d) => d,
        Err((m, h)) => return invalid(ui, &args.output, m, &h),
    };
    if length <= Duration::zero() {
        return invalid(
            ui,
            &args.output,
            "--timeframe must be longer than 0".into(),
            "e.g. --timeframe 30m",
        );
    }
    let deployment = match &args.deployment_time {
        Some(t) => match window::parse_time(t, clock.now()) {
            Ok(t) => Some(t),
            Err(m) => {
                return invalid(
                    ui,
                    &args.output,
                    m,
                    "e.g. --deployment-time 2026-11-17T10:00:00Z",
                );
            }
        },
        None => None,
    };
    let kind = match args.since_event {
        Some(SinceEventArg::Configuration) => AnchorKind::Configuration,
        Some(SinceEventArg::Any) => AnchorKind::Any,
        Some(SinceEventArg::Deployment) | None => AnchorKind::Deployment,
    };
    let anchored = args.since_deployment || args.since_event.is_some() || deployment.is_some();
    let when = if anchored {
        When::Anchored {
            deployment,
            kind,
            event_wait,
            lookback,
            delay,
            length,
        }
    } else {
        When::EndingNow(length)
    };
    let control = match control_of(args) {
        Ok(c) => c,
        Err((m, h)) => return invalid(ui, &args.output, m, &h),
    };
    let baseline = match args.baseline {
        _ if control.is_some() => BaselineMode::Window,
        Some(BaselineArg::Window) => BaselineMode::Window,
        Some(BaselineArg::History | BaselineArg::Pinned) => BaselineMode::History,
        None if anchored => BaselineMode::Window,
        None => BaselineMode::History,
    };
    let job = Job {
        record: true,
        select: args.select.scope(),
        source: &args.source,
        output: &args.output,
        when,
        wait,
        baseline,
        pinned: args.baseline == Some(BaselineArg::Pinned),
        judge: args
            .judge
            .map(|j| match j {
                crate::cli::JudgeArg::Keptn => crate::judge::JudgeMode::Keptn,
                crate::cli::JudgeArg::Statistical => crate::judge::JudgeMode::Statistical,
            })
            // Only the statistical judge compares with a control minute by minute.
            .or(control
                .as_ref()
                .map(|_| crate::judge::JudgeMode::Statistical)),
        warm_up_minutes: args.warm_up_minutes,
        dashboard: args
            .publish_dashboard
            .then_some(crate::pipeline::release_dashboard::Publish {
                keep_releases: args.keep_releases.map(usize::from),
            }),
        control,
        fleet: None,
    };
    if args.fleet.environments.is_some() {
        return crate::fleet::run(job, &args.fleet, ui);
    }
    run(job, ui, &clock)
}

/// `--control-service` / `--control-label` and the flags they cannot go with.
fn control_of(args: &GateArgs) -> Result<Option<crate::plan::Control>, (String, String)> {
    use crate::plan::Control;
    let control = match (&args.control_service, &args.control_label) {
        (None, None) => return Ok(None),
        (Some(_), Some(_)) => {
            return Err((
                "--control-service and --control-label name two different controls".into(),
                "pass one: --control-service checkout, or --control-label version=stable".into(),
            ));
        }
        (Some(s), None) if s.trim().is_empty() => {
            return Err((
                "--control-service needs a service name".into(),
                "e.g. --control-service checkout".into(),
            ));
        }
        (Some(s), None) => Control::Service(s.trim().to_string()),
        (None, Some(l)) => match l.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() && !v.is_empty() => {
                Control::Label(k.trim().to_string(), v.to_string())
            }
            _ => {
                return Err((
                    format!("`--control-label {l}` is not KEY=VALUE"),
                    "e.g. --control-label version=stable (and --label version=canary for the canary)"
                        .into(),
                ));
            }
        },
    };
    let flag = match &control {
        Control::Service(_) => "--control-service",
        Control::Label(..) => "--control-label",
    };
    if args.judge == Some(crate::cli::JudgeArg::Keptn) {
        return Err((
            format!(
                "{flag} needs the statistical judge: Keptn's judge compares two point values, not a canary with its control minute by minute"
            ),
            format!("drop --judge keptn ({flag} implies --judge statistical)"),
        ));
    }
    if matches!(
        args.baseline,
        Some(BaselineArg::History | BaselineArg::Pinned)
    ) {
        return Err((
            format!(
                "{flag} compares with the control over the same window, not with earlier evaluations"
            ),
            format!("drop --baseline, or drop {flag}"),
        ));
    }
    if args.select.service.len() > 1 {
        return Err((
            format!(
                "{flag} compares one canary with its control; {} services were selected",
                args.select.service.len()
            ),
            "gate one --service at a time".into(),
        ));
    }
    if let Control::Label(k, v) = &control {
        let canary = args
            .select
            .labels
            .iter()
            .filter_map(|l| l.split_once('='))
            .find(|(key, _)| key.trim() == k)
            .map(|(_, value)| value);
        match canary {
            None => {
                return Err((
                    format!(
                        "--control-label {k}={v} needs the canary's own {k}: it fills $LABEL.{k} on the canary side"
                    ),
                    format!("add --label {k}=<the canary's value>"),
                ));
            }
            Some(c) if c == v => {
                return Err((
                    format!("the canary and the control are both {k}={v}"),
                    format!(
                        "pass the canary with --label {k}=… and the control with --control-label {k}=…"
                    ),
                ));
            }
            _ => {}
        }
    }
    if let Control::Service(s) = &control
        && args.select.service.iter().any(|c| c == s)
    {
        return Err((
            format!("the canary and the control are both `{s}`"),
            "pass the canary with --service and the control with --control-service".into(),
        ));
    }
    Ok(Some(control))
}

fn invalid(ui: &Ui, output: &OutputArgs, message: String, help: &str) -> Exit {
    stop(ui, output, Stop::Invalid(usage(message, help)))
}
