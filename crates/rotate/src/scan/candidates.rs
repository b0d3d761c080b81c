//! The tokens of one file that could be a key: every `sk-` token (memchr
//! for the prefix, then the token's charset) and every exact current value
//! (memmem); each hashed the way the audit log fingerprints keys.

use super::known::Known;
use super::{State, UNKNOWN_KEY};
use memchr::memmem;

/// Shorter `sk-` tokens are words (`task-`, `sk-learn`), not keys.
const MIN_TOKEN_LEN: usize = 16;

/// `sk-` keys of other vendors (OpenAI project and service-account keys,
/// Anthropic, OpenRouter): not LiteLLM's, so never reported as unknown.
const OTHER_VENDORS: &[&[u8]] = &[b"sk-proj-", b"sk-svcacct-", b"sk-ant-", b"sk-or-"];

/// Longer tokens are another vendor's (an OpenAI key is 160+ characters);
/// LiteLLM's virtual keys are 25, master keys whatever the admin chose.
const MAX_UNKNOWN_LEN: usize = 100;

/// Shaped like a LiteLLM key: `sk-`, then letters, digits, `-` or `_`,
/// with at least one digit or capital (a kebab-case word is not a key),
/// and no other vendor's prefix.
fn looks_like_litellm(token: &[u8]) -> bool {
    token.len() <= MAX_UNKNOWN_LEN
        && !OTHER_VENDORS.iter().any(|p| token.starts_with(p))
        && token[3..]
            .iter()
            .any(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
}

/// A key found at 1-based `line`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Hit {
    pub(crate) line: usize,
    pub(crate) key: String,
    pub(crate) fingerprint: String,
    pub(crate) state: State,
}

fn token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Every key of `known` in `text`, in order of offset.
pub(crate) fn find(text: &[u8], known: &Known) -> Vec<Hit> {
    let mut at: Vec<(usize, String, String, State)> = Vec::new();
    for start in memmem::find_iter(text, b"sk-") {
        let len = text[start..].iter().take_while(|b| token_byte(**b)).count();
        if len < MIN_TOKEN_LEN {
            continue;
        }
        let token = &text[start..start + len];
        // `task-…` or `disk-…`: `sk-` inside a longer word is no key.
        if start > 0 && token_byte(text[start - 1]) {
            continue;
        }
        let fp = vault::fingerprint(token);
        if let Some((name, state)) = known.lookup(&fp) {
            at.push((start, name.to_string(), fp, state));
        } else if known.unknown && looks_like_litellm(token) {
            at.push((start, UNKNOWN_KEY.to_string(), fp, State::Unknown));
        }
    }
    for (name, value, fp) in &known.current {
        for start in memmem::find_iter(text, value.expose()) {
            at.push((start, name.clone(), fp.clone(), State::Current));
        }
    }
    at.sort_by_key(|(start, ..)| *start);
    // Lines counted once, front to back.
    let (mut line, mut counted) = (1, 0);
    let mut hits: Vec<Hit> = Vec::with_capacity(at.len());
    for (start, key, fingerprint, state) in at {
        line += memchr::memchr_iter(b'\n', &text[counted..start]).count();
        counted = start;
        let hit = Hit {
            line,
            key,
            fingerprint,
            state,
        };
        if !hits.contains(&hit) {
            hits.push(hit);
        }
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;
    use vault::Secret;

    const NOW: &str = "sk-currentcurrentcurrent0001";
    const THEN: &str = "sk-oldoldoldoldoldoldold0002";

    fn known() -> Known {
        let now = Secret::new(NOW.into());
        let fp = now.fingerprint();
        Known::new(
            vec![("LITELLM_MASTER_KEY".into(), now, fp.clone())],
            vec![
                (
                    "LITELLM_MASTER_KEY".into(),
                    vault::fingerprint(THEN.as_bytes()),
                ),
                ("LITELLM_MASTER_KEY".into(), fp),
            ],
        )
    }

    #[test]
    fn finds_current_and_old_with_their_lines() {
        let text =
            format!("a\nexport K={NOW}\n\ncurl -H 'Bearer {THEN}'\nsk-unknownunknownunknown\n");
        let hits = find(text.as_bytes(), &known());
        let got: Vec<(usize, State)> = hits.iter().map(|h| (h.line, h.state)).collect();
        assert_eq!(got, [(2, State::Current), (4, State::Old)]);
        assert_eq!(hits[1].fingerprint, vault::fingerprint(THEN.as_bytes()));
    }

    #[test]
    fn unknown_keys_only_when_asked_and_only_litellm_shaped() {
        let text = "a sk-unknownUnknown1234567 b\nsk-proj-Abc1234567890123456\n\
                    task-runner-with-a-long-name sk-only-lower-case-words\nx{NOW}\n";
        let text = text.replace("{NOW}", NOW);
        assert!(
            find(text.as_bytes(), &known())
                .iter()
                .all(|h| h.state != State::Unknown)
        );
        let hits = find(text.as_bytes(), &known().with_unknown(true));
        let got: Vec<(usize, State)> = hits.iter().map(|h| (h.line, h.state)).collect();
        assert_eq!(got, [(1, State::Unknown), (4, State::Current)]);
        assert_eq!(hits[0].key, UNKNOWN_KEY);
    }

    #[test]
    fn a_longer_token_is_another_key() {
        let text = format!("{NOW}x\n");
        let hits = find(text.as_bytes(), &known());
        // The exact value still occurs in it: reported, the sk- token is not ours.
        assert_eq!(hits.len(), 1);
    }
}
