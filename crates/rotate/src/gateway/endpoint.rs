//! Whether a base URL reaches the gateway: same host and port as its URL or
//! an alias, the loopback names (127.0.0.1, localhost, ::1) being one host.
//! Scheme and path do not matter (`/v1`, `/v1/`, none), ports must match.

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
        let url = url.trim();
        let (scheme, rest) = url.split_once("://")?;
        let authority = rest.split(['/', '?', '#']).next()?;
        let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']')?;
            (host, after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        let port = match port {
            Some(p) => p.parse().ok()?,
            None => match scheme.to_ascii_lowercase().as_str() {
                "http" => 80,
                "https" => 443,
                _ => return None,
            },
        };
        let host = host.trim_end_matches('.').to_ascii_lowercase();
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
