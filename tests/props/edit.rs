//! `set`/`unset` against a model: whatever the changes, the new file
//! decrypts (its MAC is the reader's) to what the model says, and every line
//! no change touched keeps its bytes.

use proptest::prelude::*;
use std::path::Path;
use std::sync::OnceLock;
use vault::DataKey;
use vault::Rule;
use vault::identity::{Identities, Source};
use vault::{Change, EncryptOptions, encrypt};
use vault::{Document, Secret};

const KEYS: &[&str] = &["A", "B", "C_unencrypted", "D", "ENC_X"];
const VALUES: &[&str] = &["", "x", "y", "sk-1", "a b", "line\nbreak"];

#[derive(Clone, Debug)]
enum Line {
    Comment(&'static str),
    Pair(&'static str, &'static str),
}

fn line() -> impl Strategy<Value = Line> {
    prop_oneof![
        prop::sample::select(vec!["c", "enc here", "clear here", ""]).prop_map(Line::Comment),
        (prop::sample::select(KEYS), prop::sample::select(VALUES))
            .prop_map(|(k, v)| Line::Pair(k, v)),
    ]
}

fn change() -> impl Strategy<Value = (bool, &'static str, &'static str)> {
    (
        any::<bool>(),
        prop::sample::select(KEYS),
        prop::sample::select(VALUES),
    )
}

fn rule() -> impl Strategy<Value = Rule> {
    prop::sample::select(vec![
        Rule::default(),
        Rule::EncryptedRegex("^[AB]".into()),
        Rule::UnencryptedRegex("^D".into()),
        Rule::EncryptedSuffix("_X".into()),
        Rule::EncryptedCommentRegex("enc".into()),
        Rule::UnencryptedCommentRegex("clear".into()),
    ])
}

fn identity() -> &'static (String, String) {
    static ID: OnceLock<(String, String)> = OnceLock::new();
    ID.get_or_init(|| {
        use age::secrecy::ExposeSecret;
        let id = age::x25519::Identity::generate();
        (
            id.to_public().to_string(),
            id.to_string().expose_secret().to_string(),
        )
    })
}

fn render(lines: &[Line]) -> String {
    let mut out = String::new();
    for line in lines {
        match line {
            Line::Comment(c) => out.push_str(&format!("#{c}\n")),
            Line::Pair(k, v) => out.push_str(&format!("{k}={}\n", v.replace('\n', "\\n"))),
        }
    }
    out
}

fn open(bytes: &[u8]) -> (Document, DataKey) {
    let doc = Document::parse(Path::new("p.env"), bytes).unwrap();
    let ids = Identities::from_text(Source::Env, &identity().1);
    let key = doc.data_key(&ids).unwrap();
    (doc, key)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn set_and_unset_follow_the_model(
        lines in proptest::collection::vec(line(), 0..10),
        changes in proptest::collection::vec(change(), 1..4),
        rule in rule(),
        mac_only in any::<bool>(),
    ) {
        // Every reader refuses a key set twice: the model starts without.
        let mut seen = std::collections::HashSet::new();
        let lines: Vec<Line> = lines
            .into_iter()
            .filter(|l| !matches!(l, Line::Pair(k, _) if !seen.insert(*k)))
            .collect();
        let options = EncryptOptions {
            recipients: vec![identity().0.clone()],
            rule,
            mac_only_encrypted: mac_only,
            pin: None,
        };
        let encrypted = encrypt(Path::new("p.env"), render(&lines).as_bytes(), &options)
            .unwrap()
            .to_bytes();
        let (doc, key) = open(&encrypted);

        // Under a comment rule, removing a value merges the comments around
        // it, which can change whether the lines below count as encrypted;
        // their lines are kept as they are (a known limit): sets only.
        let comment_rule = matches!(
            options.rule,
            Rule::EncryptedCommentRegex(_) | Rule::UnencryptedCommentRegex(_)
        );
        let mut model = lines.clone();
        let mut edits = Vec::new();
        let mut touched = Vec::new();
        for (is_set, k, v) in changes {
            let is_set = is_set || comment_rule;
            touched.push(k);
            if is_set {
                edits.push(Change::Set(k.to_string(), Secret::from(v.to_string())));
                match model.iter_mut().find(|l| matches!(l, Line::Pair(key, _) if *key == k)) {
                    Some(l) => *l = Line::Pair(k, v),
                    None => model.push(Line::Pair(k, v)),
                }
            } else {
                edits.push(Change::Unset(k.to_string()));
                model.retain(|l| !matches!(l, Line::Pair(key, _) if *key == k));
            }
        }
        let written = doc.apply(&key, &edits).unwrap().to_bytes();
        let (new, _) = open(&written);
        let plain = new.decrypt(&key).expect("the new MAC verifies");
        prop_assert_eq!(
            String::from_utf8(plain.to_dotenv().to_vec()).unwrap(),
            render(&model)
        );
        // Lines of keys no change named are still there, byte for byte.
        let written = String::from_utf8(written).unwrap();
        for old in String::from_utf8(encrypted).unwrap().lines() {
            let untouched = !old.starts_with("sops_")
                && !touched.iter().any(|k| old.starts_with(&format!("{k}=")));
            if untouched {
                prop_assert!(written.lines().any(|l| l == old), "{old:?} lost");
            }
        }
    }
}
