//! `litekeys-rotate --sentinel` with `[gateway] sentinel_client =
//! "droid"` against a real LiteLLM (restarted by the `command` manager)
//! and the real droid: each Droid route of the gateway answers through
//! `droid exec`, or the rotation rolls back; `droid doctor` refuses Droid
//! settings it would drop, before anything is written. `droid` on the
//! sandbox's PATH is a wrapper that logs its argv (to prove droid ran, and
//! with no key in its argv), then runs the real one (after a test's hook,
//! when it has one).

use litekeys_tests::droid::Droid;
use litekeys_tests::litellm::{LiteLlm, MockModel};
use litekeys_tests::{Run, Sandbox, Snapshot, Sops};
use std::path::PathBuf;
use vault::Exit;

/// What the gateway models answer (`[gateway] sentinel`): only the mock
/// model can give it.
const SENTINEL: &str = "DROID_SAYS_5c1e9a";

fn key(tag: &str) -> String {
    format!("sk-{tag}{}", "Tz3Kq8Vb1Nm6Wd4F".repeat(3))
}

/// Fields drop in order: the proxy is killed before the sandbox goes.
struct Lab {
    gw: LiteLlm,
    sb: Sandbox,
    config: PathBuf,
    old: String,
}

impl Lab {
    /// LiteLLM on `old` with `models`; settings.json: a VibeProxy route,
    /// then `routes` (extra JSON fields of gateway routes, each with the
    /// old key); `droid`: put the wrapper on PATH.
    fn start(models: &[MockModel], routes: &[&str], droid: Option<&Droid>) -> Option<Lab> {
        let sops = Sops::find()?;
        let mut sb = Sandbox::new();
        let recipient = sb.age_keygen("home/.config/sops/age/keys.txt")?;
        let old = key("old");
        let source = sops.encrypt(&sb, &recipient, &format!("LITELLM_MASTER_KEY={old}\n"));
        sb.write("repo/secrets/global.enc.env", source);
        let gw = LiteLlm::start(&sb, &old, models)?;
        let mut entries = vec![
            r#"{"model": "kimi-k2.5", "displayName": "Kimi", "baseUrl": "http://localhost:8317/v1", "apiKey": "vibeproxy", "provider": "generic-chat-completion-api"}"#.to_string(),
        ];
        for fields in routes {
            entries.push(format!(
                r#"{{{fields}, "baseUrl": "{}/v1", "apiKey": "{old}", "provider": "generic-chat-completion-api"}}"#,
                gw.url()
            ));
        }
        sb.write(
            "home/.factory/settings.json",
            format!(
                "{{\n  \"customModels\": [\n    {}\n  ]\n}}\n",
                entries.join(",\n    ")
            ),
        );
        if let Some(droid) = droid {
            let wrapper = sb.write(
                "bin/droid",
                format!(
                    "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{log}'\n[ -f '{hook}' ] && . '{hook}'\nexec '{real}' \"$@\"\n",
                    log = sb.path("droid-argv.log").display(),
                    hook = sb.path("droid-hook.sh").display(),
                    real = droid.path().display()
                ),
            );
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
            let path = std::env::var("PATH").unwrap_or_default();
            sb.set_env("PATH", format!("{}:{path}", sb.path("bin").display()));
        }
        let config = sb.write(
            "repo/litekeys.toml",
            format!(
                "source = \"secrets/global.enc.env\"\n\
                 [gateway]\nurl = \"{url}\"\ntimeout = 60\nsentinel = \"{SENTINEL}\"\nsentinel_client = \"droid\"\n\
                 [service]\nmanager = \"command\"\ncommand = {ctl:?}\ntimeout = 120\n\
                 [[sink]]\nkind = \"dotenv\"\npath = \"{env}\"\nkeys = [\"LITELLM_MASTER_KEY\"]\n\
                 [[sink]]\nkind = \"droid\"\npath = \"~/.factory\"\n",
                url = gw.url(),
                ctl = gw.restart_argv(),
                env = gw.env_file().display(),
            ),
        );
        Some(Lab {
            gw,
            sb,
            config,
            old,
        })
    }

    fn rotate(&self) -> Run {
        self.sb
            .cmd("litekeys-rotate")
            .current_dir(self.sb.path("repo"))
            .arg("--config")
            .arg(&self.config)
            .args(["--yes", "--sentinel"])
    }

    fn settings(&self) -> serde_json::Value {
        serde_json::from_slice(&self.sb.read("home/.factory/settings.json")).unwrap()
    }

    fn argv_log(&self) -> String {
        std::fs::read_to_string(self.sb.path("droid-argv.log")).unwrap_or_default()
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot::ignoring([self.sb.dir.path()], &["droid-argv.log", "doctor-count"])
    }
}

#[test]
fn a_rotation_is_proven_by_droid_exec_through_each_gateway_route() {
    let Some(droid) = Droid::find() else { return };
    let Some(lab) = Lab::start(
        &[
            MockModel::new("gw-one", SENTINEL),
            MockModel::new("gw-two", SENTINEL),
        ],
        &[
            r#""model": "gw-one", "displayName": "Gw One""#,
            r#""model": "gw-two", "id": "custom:gw-two-id""#,
            // Listed by droid, refused by `droid exec -m`: asked over HTTP.
            r#""model": "gw-one", "id": "plain-id""#,
        ],
        Some(&droid),
    ) else {
        return;
    };
    let out = lab.rotate().output();
    eprintln!("{}\n{}", out.stdout_str(), out.stderr);
    assert_eq!(
        out.exit(),
        Some(Exit::Ok),
        "{}\n--- LiteLLM\n{}",
        out.stderr,
        lab.gw.log_tail(30)
    );
    assert!(
        out.stdout_str()
            .contains("sentinel replied through droid exec on 2 Droid route(s), over HTTP on 1 model(s) of 1 route(s) droid does not select by an id"),
        "{}",
        out.stdout_str()
    );
    assert!(
        out.stdout_str().contains("droid doctor passed"),
        "{}",
        out.stdout_str()
    );
    out.never_shows(&lab.old);
    let new = lab.settings()["customModels"][1]["apiKey"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(new, lab.old);
    assert_eq!(lab.settings()["customModels"][2]["apiKey"], new.as_str());
    assert_eq!(lab.settings()["customModels"][3]["apiKey"], new.as_str());
    assert_eq!(lab.settings()["customModels"][0]["apiKey"], "vibeproxy");
    out.never_shows(&new);
    // The real droid ran: doctor before and after, the listing, one exec
    // per route by the ids it gives them; never a key in its argv.
    let log = lab.argv_log();
    let execs: Vec<&str> = log.lines().filter(|l| l.starts_with("exec -m ")).collect();
    assert_eq!(
        execs,
        [
            format!("exec -m custom:Gw-One-0 --auto low -o json Reply exactly: {SENTINEL}"),
            format!("exec -m custom:gw-two-id --auto low -o json Reply exactly: {SENTINEL}"),
        ],
        "{log}"
    );
    assert_eq!(
        log.lines()
            .filter(|l| l.starts_with("doctor --config --json"))
            .count(),
        2,
        "{log}"
    );
    assert!(!log.contains(&new) && !log.contains(&lab.old), "{log}");
}

#[test]
fn a_route_whose_model_does_not_answer_the_sentinel_rolls_the_rotation_back() {
    let Some(droid) = Droid::find() else { return };
    let Some(lab) = Lab::start(
        &[
            MockModel::new("gw-one", SENTINEL),
            MockModel::new("gw-odd", "SOMETHING_ELSE"),
        ],
        &[r#""model": "gw-one""#, r#""model": "gw-odd""#],
        Some(&droid),
    ) else {
        return;
    };
    let before = lab.snapshot();
    let out = lab.rotate().output();
    eprintln!("{}", out.stderr);
    assert_eq!(out.exit(), Some(Exit::RolledBack), "{}", out.stderr);
    out.one_line_error("custom:gw-odd-0").never_shows(&lab.old);
    assert!(
        out.stderr.contains("SOMETHING_ELSE") && out.stderr.contains("rolled back"),
        "{}",
        out.stderr
    );
    assert!(
        !litekeys_tests::rotate_lab::holds_key(out.stderr.as_bytes()),
        "{}",
        out.stderr
    );
    before.assert_unchanged();
    // The first route answered through droid before the second failed.
    assert!(
        lab.argv_log().contains("exec -m custom:gw-one-0 "),
        "{}",
        lab.argv_log()
    );
}

#[test]
fn settings_droid_would_drop_are_refused_before_anything_is_written() {
    let Some(droid) = Droid::find() else { return };
    let Some(lab) = Lab::start(
        &[MockModel::new("gw-one", SENTINEL)],
        &[
            r#""model": "gw-one""#,
            r#""model": "gw-bad", "maxOutputTokens": "many""#,
        ],
        Some(&droid),
    ) else {
        return;
    };
    let before = lab.snapshot();
    let out = lab.rotate().output();
    eprintln!("{}", out.stderr);
    assert_eq!(out.exit(), Some(Exit::BadInput), "{}", out.stderr);
    out.one_line_error("droid doctor").never_shows(&lab.old);
    assert!(
        out.stderr.contains("customModels.2.maxOutputTokens"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains(&lab.sb.home().join(".factory").display().to_string()),
        "{}",
        out.stderr
    );
    before.assert_unchanged();
    assert!(!lab.argv_log().contains("exec -m"), "{}", lab.argv_log());
}

#[test]
fn without_droid_on_path_the_droid_client_is_refused_and_doctor_is_said_not_to_have_run() {
    let Some(mut lab) = Lab::start(
        &[MockModel::new("gw-one", SENTINEL)],
        &[r#""model": "gw-one""#],
        None,
    ) else {
        return;
    };
    // A PATH with the shell tools and no droid.
    lab.sb.set_env("PATH", "/usr/local/bin:/usr/bin:/bin");
    let before = lab.snapshot();
    let out = lab.rotate().output();
    assert_eq!(out.exit(), Some(Exit::Usage), "{}", out.stderr);
    out.one_line_error("`droid` is not on PATH");
    before.assert_unchanged();

    // Without --sentinel the rotation goes on; the Droid settings it
    // writes are said not to have been checked.
    let out = lab
        .sb
        .cmd("litekeys-rotate")
        .current_dir(lab.sb.path("repo"))
        .arg("--config")
        .arg(&lab.config)
        .arg("--yes")
        .output();
    assert_eq!(out.exit(), Some(Exit::Ok), "{}", out.stderr);
    assert!(
        out.stdout_str()
            .contains("Droid settings not checked by droid doctor: droid is not on PATH"),
        "{}",
        out.stdout_str()
    );
    assert_ne!(
        lab.settings()["customModels"][1]["apiKey"],
        lab.old.as_str()
    );
}

#[test]
fn settings_droid_rejects_once_written_roll_the_rotation_back() {
    let Some(droid) = Droid::find() else { return };
    let Some(lab) = Lab::start(
        &[MockModel::new("gw-one", SENTINEL)],
        &[r#""model": "gw-one""#],
        Some(&droid),
    ) else {
        return;
    };
    // The second doctor run (after the write) sees an invalid provider in
    // the Droid settings, as if Droid itself had rewritten them since: the
    // copy it checks is edited, then the real doctor judges it.
    lab.sb.write(
        "droid-hook.sh",
        format!(
            "if [ \"$1\" = doctor ]; then\n  n=$(($(cat '{count}' 2>/dev/null || echo 0) + 1)); echo $n > '{count}'\n  [ $n -eq 2 ] && sed -i '0,/generic-chat-completion-api/s//nope/' \"$HOME/.factory/settings.json\"\nfi\n",
            count = lab.sb.path("doctor-count").display()
        ),
    );
    let before = lab.snapshot();
    let out = lab.rotate().output();
    eprintln!("{}", out.stderr);
    assert_eq!(out.exit(), Some(Exit::RolledBack), "{}", out.stderr);
    out.one_line_error("refuses the settings as written")
        .never_shows(&lab.old);
    assert!(
        out.stderr.contains("customModels.0.provider") && out.stderr.contains("rolled back"),
        "{}",
        out.stderr
    );
    assert!(
        !litekeys_tests::rotate_lab::holds_key(out.stderr.as_bytes()),
        "{}",
        out.stderr
    );
    before.assert_unchanged();
    assert!(!lab.argv_log().contains("exec -m"), "{}", lab.argv_log());
}
