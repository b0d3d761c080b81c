//! The models LiteLLM keeps in its database (added through the UI or
//! `/model/new`), as `GET /model/info` lists them (`model_info.db_model`).
//! Their `litellm_params` are encrypted with the salt key, or the master
//! key when there is none; a proxy that cannot decrypt one leaves it out of
//! its router (it then answers 400 "Invalid model name"), so the stored
//! models listed before a master-key rotation and missing after it are the
//! credentials it lost.

use super::error::GatewayError;
use super::http::{POLL, REQUEST_TIMEOUT, agent, bearer, quote, root, shown, transport_reason};
use std::time::{Duration, Instant};
use vault::Secret;

pub const MODEL_INFO: &str = "/model/info";

/// A model stored in LiteLLM's database.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredModel {
    /// `model_info.id`: the database row, the same across restarts.
    pub id: String,
    pub name: String,
}

/// The stored models the gateway serves, asked with `key` (sorted by id).
pub fn stored_models(base_url: &str, key: &Secret) -> Result<Vec<StoredModel>, GatewayError> {
    let root = root(base_url)?;
    let url = shown(&root).into_owned();
    let auth = bearer(key)?;
    let failed = |detail: String| GatewayError::ModelInfo {
        url: url.clone(),
        detail,
    };
    let text = match agent(REQUEST_TIMEOUT)
        .get(&format!("{root}{MODEL_INFO}"))
        .set("Authorization", &auth)
        .call()
    {
        Ok(response) => response
            .into_string()
            .map_err(|e| failed(format!("reading the reply: {e}")))?,
        Err(ureq::Error::Status(status, response)) => {
            let detail = response.into_string().unwrap_or_default();
            return Err(failed(format!("HTTP {status}: {}", quote(&detail, &[key]))));
        }
        Err(ureq::Error::Transport(t)) => {
            return Err(GatewayError::Unreachable {
                url,
                reason: transport_reason(&t),
            });
        }
    };
    parse(&text).ok_or_else(|| failed(format!("not a model list: {}", quote(&text, &[key]))))
}

/// The stored models of a `/model/info` reply; `None` when it is not one.
fn parse(text: &str) -> Option<Vec<StoredModel>> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let mut out: Vec<StoredModel> = value
        .get("data")?
        .as_array()?
        .iter()
        .filter(|m| m.pointer("/model_info/db_model") == Some(&serde_json::Value::Bool(true)))
        .filter_map(|m| {
            Some(StoredModel {
                id: m.pointer("/model_info/id")?.as_str()?.to_string(),
                name: m.get("model_name")?.as_str()?.to_string(),
            })
        })
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out.dedup();
    Some(out)
}

/// Those of `expected` that `now` lacks.
pub fn missing<'a>(expected: &'a [StoredModel], now: &[StoredModel]) -> Vec<&'a StoredModel> {
    expected
        .iter()
        .filter(|m| !now.iter().any(|n| n.id == m.id))
        .collect()
}

/// The names of `models`, comma-separated, for a message.
pub fn names(models: &[&StoredModel]) -> String {
    let mut names: Vec<&str> = models.iter().map(|m| m.name.as_str()).collect();
    names.dedup();
    names.join(", ")
}

/// Polls [`stored_models`] until every one of `expected` is listed, at
/// most `bound` (a proxy just restarted loads them from the database as it
/// starts); returns the last list. A gateway that keeps refusing `key`
/// fails at once.
pub fn wait_stored(
    base_url: &str,
    key: &Secret,
    expected: &[StoredModel],
    bound: Duration,
) -> Result<Vec<StoredModel>, GatewayError> {
    let deadline = Instant::now() + bound;
    loop {
        let now = stored_models(base_url, key);
        let done = match &now {
            Ok(list) => missing(expected, list).is_empty(),
            Err(GatewayError::Unreachable { .. }) => false,
            Err(_) => true,
        };
        if done || Instant::now() >= deadline {
            return now;
        }
        std::thread::sleep(POLL * 5);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_database_models_count_by_their_id() {
        let reply = r#"{"data": [
            {"model_name": "cfg", "litellm_params": {"model": "openai/x"}, "model_info": {"id": "c1", "db_model": false}},
            {"model_name": "stored", "litellm_params": {"model": "openai/y"}, "model_info": {"id": "b2", "db_model": true}},
            {"model_name": "stored", "model_info": {"id": "a1", "db_model": true}},
            {"model_name": "odd", "model_info": {"db_model": true}}
        ]}"#;
        let got = parse(reply).unwrap();
        assert_eq!(
            got,
            [
                StoredModel {
                    id: "a1".into(),
                    name: "stored".into()
                },
                StoredModel {
                    id: "b2".into(),
                    name: "stored".into()
                }
            ]
        );
        assert!(parse("{\"error\": 1}").is_none());
        assert!(parse("<html>").is_none());
        let lost = missing(&got, &got[1..]);
        assert_eq!(names(&lost), "stored");
        assert!(missing(&got, &got).is_empty());
    }
}
