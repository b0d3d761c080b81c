//! The tokens of one file that could be a key: every `sk-` token (memchr
//! for the prefix, then the token's charset) and every exact current value
//! (memmem); each hashed the way the audit log fingerprints keys.

use super::State;
use super::known::Known;
use memchr::memmem;

/// Shorter `sk-` tokens are words (`task-`, `sk-learn`), not keys.
const MIN_TOKEN_LEN: usize = 16;

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
        let fp = vault::fingerprint(&text[start..start + len]);
        if let Some((name, state)) = known.lookup(&fp) {
            at.push((start, name.to_string(), fp, state));
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
    fn a_longer_token_is_another_key() {
        let text = format!("{NOW}x\n");
        let hits = find(text.as_bytes(), &known());
        // The exact value still occurs in it: reported, the sk- token is not ours.
        assert_eq!(hits.len(), 1);
    }
}
