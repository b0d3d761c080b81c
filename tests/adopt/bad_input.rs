//! adopt refuses, in one line naming the file (and line), with the exit of
//! the shared table, never a key, and nothing on disk changes: an
//! unparseable config.yaml, a key with two values, no key at all, a
//! directory already set up, no terminal to ask and no --yes.

use litekeys_tests::rotate_lab::holds_key;
use litekeys_tests::{Sandbox, Snapshot};
use vault::Exit;

fn refused(sb: &Sandbox, args: &[&str], exit: Exit, mentions: &str, keys: &[&str]) {
    let everything = Snapshot::of([sb.dir.path()]);
    let out = sb
        .cmd("litekeys-rotate")
        .current_dir(sb.path("repo"))
        .arg("adopt")
        .args(args)
        .expect(exit);
    out.one_line_error(mentions);
    for k in keys {
        out.never_shows(k);
    }
    assert!(!holds_key(out.stderr.as_bytes()), "{}", out.stderr);
    everything.assert_unchanged();
}

#[test]
fn an_unparseable_config_yaml_is_one_line_naming_it_and_its_line() {
    let Some(sb) = super::sandbox() else { return };
    let master = super::key("broken");
    sb.write(
        "home/.config/litellm/config.yaml",
        format!("general_settings:\n  master_key: {master}\nmodel_list: [\n  - {{model_name: x\n"),
    );
    let path = sb.home().join(".config/litellm/config.yaml");
    refused(
        &sb,
        &["--yes"],
        Exit::Error,
        &format!("{}:", path.display()),
        &[&master],
    );
}

#[test]
fn a_key_with_two_values_names_both_places() {
    let Some(sb) = super::sandbox() else { return };
    let (literal, other) = (super::key("literal"), super::key("other"));
    sb.write(
        "home/.config/litellm/config.yaml",
        format!("general_settings:\n  master_key: {literal}\n"),
    );
    sb.write(
        "home/.config/litellm/litellm.env",
        format!("# the old one\nLITELLM_MASTER_KEY={other}\n"),
    );
    let home = sb.home();
    let everything = Snapshot::of([sb.dir.path()]);
    let out = sb
        .cmd("litekeys-rotate")
        .current_dir(sb.path("repo"))
        .args(["adopt", "--yes"])
        .expect(Exit::Error);
    out.one_line_error("LITELLM_MASTER_KEY has two values")
        .never_shows(&literal)
        .never_shows(&other);
    for (at, key) in [
        (
            format!("{}:2", home.join(".config/litellm/config.yaml").display()),
            &literal,
        ),
        (
            format!("{}:2", home.join(".config/litellm/litellm.env").display()),
            &other,
        ),
    ] {
        let shown = format!("{at} holds {}", vault::fingerprint(key.as_bytes()));
        assert!(
            out.stderr.contains(&shown),
            "{shown:?} not in {}",
            out.stderr
        );
    }
    everything.assert_unchanged();
}

#[test]
fn no_key_anywhere_is_an_error_saying_where_it_looked() {
    let Some(sb) = super::sandbox() else { return };
    sb.write("home/.config/litellm/config.yaml", "model_list: []\n");
    refused(
        &sb,
        &["--yes"],
        Exit::Error,
        "no gateway master key found",
        &[],
    );
    // No config at all: the same.
    std::fs::remove_file(sb.home().join(".config/litellm/config.yaml")).unwrap();
    refused(
        &sb,
        &["--yes"],
        Exit::Error,
        ".config/litellm/config.yaml",
        &[],
    );
    // A --litellm-config that is not there names it.
    refused(
        &sb,
        &["--yes", "--litellm-config", "/nonexistent/config.yaml"],
        Exit::Error,
        "/nonexistent/config.yaml",
        &[],
    );
}

#[test]
fn a_directory_already_set_up_or_no_one_to_ask_is_a_usage_error() {
    let Some(sb) = super::sandbox() else { return };
    let master = super::key("usage");
    sb.write(
        "home/.config/litellm/config.yaml",
        format!("general_settings:\n  master_key: {master}\n"),
    );
    // stdin is not a terminal and no --yes: nobody to ask.
    refused(&sb, &[], Exit::Usage, "pass --yes", &[&master]);
    sb.write("repo/litekeys.toml", "# mine\n");
    refused(
        &sb,
        &["--yes"],
        Exit::Usage,
        "litekeys.toml already exists",
        &[&master],
    );
    std::fs::remove_file(sb.path("repo/litekeys.toml")).unwrap();
    // --config names the litekeys.toml to write: refused there too.
    sb.write("other/litekeys.toml", "# mine\n");
    refused(
        &sb,
        &["--yes", "--config", "../other/litekeys.toml"],
        Exit::Usage,
        "other/litekeys.toml already exists",
        &[&master],
    );
    sb.write("repo/secrets/global.enc.env", "");
    refused(
        &sb,
        &["--yes"],
        Exit::Usage,
        "global.enc.env already exists",
        &[&master],
    );
}

#[test]
fn a_key_that_cannot_be_a_gateway_key_is_bad_input() {
    let Some(sb) = super::sandbox() else { return };
    sb.write(
        "home/.config/litellm/config.yaml",
        "# the guide's placeholder, shortened\ngeneral_settings:\n  master_key: sk-1234\n",
    );
    let path = sb.home().join(".config/litellm/config.yaml");
    refused(
        &sb,
        &["--yes"],
        Exit::BadInput,
        &format!(
            "{}:3: LITELLM_MASTER_KEY is shorter than 16 characters",
            path.display()
        ),
        &["sk-1234"],
    );
}
