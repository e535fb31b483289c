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
    };
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
    let baseline = match args.baseline {
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
        judge: args.judge.map(|j| match j {
            crate::cli::JudgeArg::Keptn => crate::judge::JudgeMode::Keptn,
            crate::cli::JudgeArg::Statistical => crate::judge::JudgeMode::Statistical,
        }),
        warm_up_minutes: args.warm_up_minutes,
        dashboard: args
            .publish_dashboard
            .then_some(crate::pipeline::release_dashboard::Publish {
                keep_releases: args.keep_releases.map(usize::from),
            }),
    };
    run(job, ui, &clock)
}

fn invalid(ui: &Ui, output: &OutputArgs, message: String, help: &str) -> Exit {
    stop(ui, output, Stop::Invalid(usage(message, help)))
}
