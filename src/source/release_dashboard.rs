//! The release comparison dashboard through the Configuration API v1 (classic dashboards):
//! find it by its tag and name (`ReadConfig`), create it (`POST`) or update it (`PUT`,
//! `WriteConfig`). Every failure comes back as a sentence: publishing is a side effect and never
//! changes the verdict.

use serde_json::Value;

use crate::query::{Method, Request};
use crate::report::release_dashboard::TAG;
use crate::source::http::{Client, SendError, error_message};

const PATH: &str = "/api/config/v1/dashboards";

fn failed(e: SendError) -> String {
    match e {
        SendError::Auth {
            status: 403,
            message,
        } => format!(
            "the token lacks a scope the dashboard needs (ReadConfig, WriteConfig): {message} (docs/token-scopes.md)"
        ),
        SendError::Auth { status, message } => {
            format!("the token was refused ({status}): {message}")
        }
        SendError::Transport { message, .. } | SendError::MissingToken { message } => message,
    }
}

async fn send(client: &Client, req: Request) -> Result<(u16, String), String> {
    let resp = client.send(&req).await.map_err(failed)?;
    if !resp.is_success() {
        return Err(format!(
            "Dynatrace answered {} to {} {}: {}",
            resp.status,
            match req.method {
                Method::Post => "POST",
                Method::Put => "PUT",
                _ => "GET",
            },
            req.path,
            error_message(&resp.body)
        ));
    }
    Ok((resp.status, resp.body))
}

fn json(body: &str, what: &str) -> Result<Value, String> {
    serde_json::from_str(body).map_err(|_| format!("the answer to {what} is not JSON"))
}

/// The release dashboard named `name` (with slogate's tag), as Dynatrace holds it; of several
/// with that name, the one with the smallest id, so every run picks the same.
pub async fn find(client: &Client, name: &str) -> Result<Option<Value>, String> {
    let (_, body) = send(
        client,
        Request {
            method: Method::Get,
            path: PATH.into(),
            query: vec![("tags".into(), TAG.into())],
            body: None,
        },
    )
    .await?;
    let list = json(&body, "the dashboard list")?;
    let mut ids: Vec<&str> = list
        .get("dashboards")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|d| d.get("name").and_then(Value::as_str) == Some(name))
        .filter_map(|d| d.get("id").and_then(Value::as_str))
        .collect();
    ids.sort_unstable();
    let Some(id) = ids.first() else {
        return Ok(None);
    };
    let (_, body) = send(
        client,
        Request {
            method: Method::Get,
            path: format!("{PATH}/{}", crate::query::encode::path_escape(id)),
            query: Vec::new(),
            body: None,
        },
    )
    .await?;
    json(&body, "the dashboard").map(Some)
}

/// Creates the dashboard (no `id`) or updates it (with its `id`); returns the id.
pub async fn save(client: &Client, dashboard: &Value) -> Result<String, String> {
    match dashboard.get("id").and_then(Value::as_str) {
        Some(id) => {
            send(
                client,
                Request {
                    method: Method::Put,
                    path: format!("{PATH}/{}", crate::query::encode::path_escape(id)),
                    query: Vec::new(),
                    body: Some(dashboard.clone()),
                },
            )
            .await?;
            Ok(id.to_string())
        }
        None => {
            let (_, body) = send(
                client,
                Request {
                    method: Method::Post,
                    path: PATH.into(),
                    query: Vec::new(),
                    body: Some(dashboard.clone()),
                },
            )
            .await?;
            json(&body, "the new dashboard")?
                .get("id")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| "Dynatrace created the dashboard but sent no id".into())
        }
    }
}
