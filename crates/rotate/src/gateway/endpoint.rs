//! Whether a base URL reaches the gateway: same host and port as its URL or
//! an alias, the loopback names (127.0.0.1, localhost, ::1) being one host.
//! Scheme and path do not matter (`/v1`, `/v1/`, none), ports must match.

use url::{Host, Url};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    host: String,
    port: u16,
}

const LOOPBACK: &str = "loopback";

impl Endpoint {
    /// `scheme://[user@]host[:port][/path]`; `None` when it is not a URL
    /// with a host and a known or explicit port.
    pub fn parse(url: &str) -> Option<Endpoint> {
        let url = Url::parse(url.trim()).ok()?;
        let port = url.port_or_known_default()?;
        let host = match url.host()? {
            Host::Domain(d) => d.trim_end_matches('.').to_ascii_lowercase(),
            Host::Ipv4(ip) => ip.to_string(),
            Host::Ipv6(ip) => ip.to_string(),
        };
        if host.is_empty() {
            return None;
        }
        let host = match host.as_str() {
            "127.0.0.1" | "localhost" | "::1" => LOOPBACK.to_string(),
            _ => host,
        };
        Some(Endpoint { host, port })
    }
}

/// The endpoints of the gateway: its URL and its aliases.
#[derive(Clone, Debug, Default)]
pub struct Endpoints {
    endpoints: Vec<Endpoint>,
}

impl Endpoints {
    pub fn new<'a>(urls: impl IntoIterator<Item = &'a str>) -> Endpoints {
        Endpoints {
            endpoints: urls.into_iter().filter_map(Endpoint::parse).collect(),
        }
    }

    pub fn matches(&self, base_url: &str) -> bool {
        Endpoint::parse(base_url).is_some_and(|e| self.endpoints.contains(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_are_one_host_and_ports_must_match() {
        let gw = Endpoints::new(["http://127.0.0.1:4000", "http://framework:4000"]);
        for yes in [
            "http://127.0.0.1:4000/v1",
            "http://127.0.0.1:4000/v1/",
            "http://localhost:4000",
            "http://[::1]:4000/v1",
            "https://LOCALHOST:4000",
            "http://framework:4000/v1",
            "http://user@framework:4000",
        ] {
            assert!(gw.matches(yes), "{yes}");
        }
        for no in [
            "http://localhost:8317/v1",
            "http://localhost:8317",
            "https://api.z.ai/api/coding/paas/v4",
            "http://127.0.0.1:40000/v1",
            "http://framework2:4000",
            "localhost:4000",
            "",
        ] {
            assert!(!gw.matches(no), "{no}");
        }
        let default_port = Endpoints::new(["https://gw.example"]);
        assert!(default_port.matches("https://gw.example:443/v1"));
        assert!(!default_port.matches("http://gw.example/v1"));
    }
}
