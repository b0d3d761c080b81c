//! After a restart: the gateway is live (`GET /health/liveliness` = 200) and
//! accepts the source's master key (`GET /v1/models` = 200), polled until a
//! bound — a restart command may return before the old process is gone.
//!
//! Stop-gap until the rotate crate's `gateway` module is stable.

use std::time::{Duration, Instant};
use vault::Secret;
use zeroize::Zeroizing;

const POLL: Duration = Duration::from_millis(200);

pub fn verify(base_url: &str, key: &Secret, bound: Duration) -> Result<(), String> {
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(2))
        .timeout(Duration::from_secs(10))
        .build();
    let deadline = Instant::now() + bound;
    let mut last;
    loop {
        last = match status(&agent, &format!("{base_url}/health/liveliness"), None) {
            Ok(200) => match status(&agent, &format!("{base_url}/v1/models"), Some(key)) {
                Ok(200) => return Ok(()),
                Ok(code) => format!(
                    "GET {base_url}/v1/models with the source's key ({}) answers {code}",
                    key.fingerprint()
                ),
                Err(e) => e,
            },
            Ok(code) => format!("GET {base_url}/health/liveliness answers {code}"),
            Err(e) => e,
        };
        if Instant::now() + POLL >= deadline {
            return Err(format!("{last} (after {bound:?})"));
        }
        std::thread::sleep(POLL);
    }
}

fn status(agent: &ureq::Agent, url: &str, key: Option<&Secret>) -> Result<u16, String> {
    let mut req = agent.get(url);
    if let Some(key) = key {
        let value = key.as_str().ok_or("the master key is not valid UTF-8")?;
        let header = Zeroizing::new(format!("Bearer {value}"));
        req = req.set("Authorization", &header);
    }
    match req.call() {
        Ok(resp) => Ok(resp.status()),
        Err(ureq::Error::Status(code, _)) => Ok(code),
        Err(ureq::Error::Transport(t)) => Err(format!("GET {url}: {}", t.kind())),
    }
}
