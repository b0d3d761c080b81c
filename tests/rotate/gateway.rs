//! `litekeys-rotate` restarting and verifying the real LiteLLM
//! (tests/kit/litellm.rs): the `command` manager runs the fixture's control
//! script, which starts the proxy with the key of its dotenv file — the
//! dotenv sink — the way systemd's `EnvironmentFile=` does. A rotation is
//! done only when the gateway accepts the new key and refuses the old one;
//! otherwise every file goes back and the gateway runs on the old key
//! again (exit rolled-back). Also the gateway lines of `status`.

use litekeys_tests::litellm::{LiteLlm, MockModel, free_port};
use litekeys_tests::{Outcome, Run, Sandbox, Snapshot, Sops};
use rotate::gateway;
use std::path::PathBuf;
use vault::Exit;
use vault::Secret;

const SALT: &str = "sk-saltSaltSaltSaltSaltSaltSaltSaltSaltSaltSalt01";
/// `[gateway] sentinel` of the sentinel tests: what the mock model replies.
const SENTINEL: &str = "LITEKEYS_SENTINEL_fixture";

fn key(tag: &str) -> String {
    format!("sk-{tag}{}", "Hb4Nw8Ke2Yq6Js1D".repeat(3))
}

/// What the restart command does.
enum Restart {
    /// The fixture's `ctl.sh restart`.
    Works,
    /// Exits 1 with a message, touching nothing (a unit that fails).
    Fails,
    /// The first restart kills the proxy (it exits and stays down), the
    /// next ones restart it.
    DiesOnce,
    /// Restarts the proxy, but on the old key (a unit that reads another
    /// file): live, the new key refused, the old one accepted.
    OnOldKey,
}

/// A LiteLLM, the sandbox it reads its key from, and litekeys.toml.
/// Fields drop in order: the proxy is killed before the sandbox goes.
struct Lab {
    gw: LiteLlm,
    sb: Sandbox,
    config: PathBuf,
    old: String,
}

impl Lab {
    /// The source holds `old` (and a salt); LiteLLM runs on `old` with
    /// `models`; settings.json has a VibeProxy route and one gateway route
    /// per name in `routes` (alternately `127.0.0.1:PORT/v1` and
    /// `localhost:PORT`); `gateway_extra` goes into `[gateway]`.
    fn start(
        models: &[MockModel],
        routes: &[&str],
        restart: Restart,
        timeout: u32,
        gateway_extra: &str,
    ) -> Option<Lab> {
        let sops = Sops::find()?;
        let sb = Sandbox::new();
        let recipient = sb.age_keygen("home/.config/sops/age/keys.txt")?;
        let old = key("old");
        let source = sops.encrypt(
            &sb,
            &recipient,
            &format!("LITELLM_MASTER_KEY={old}\nLITELLM_SALT_KEY={SALT}\n"),
        );
        sb.write("repo/secrets/global.enc.env", source);
        let gw = LiteLlm::start(&sb, &old, models)?;

        let mut entries = vec![
            r#"    {"model": "kimi-k2.5", "baseUrl": "http://localhost:8317/v1", "apiKey": "vibeproxy", "provider": "generic-chat-completion-api"}"#.to_string(),
        ];
        for (i, model) in routes.iter().enumerate() {
            let base = if i % 2 == 0 {
                format!("{}/v1", gw.url())
            } else {
                format!("http://localhost:{}", gw.port())
            };
            entries.push(format!(
                r#"    {{"model": "{model}", "baseUrl": "{base}", "apiKey": "{old}", "provider": "generic-chat-completion-api", "futureField": [1, 2.50]}}"#
            ));
        }
        sb.write(
            "home/.factory/settings.json",
            format!(
                "{{\n  \"customModels\": [\n{}\n  ]\n}}\n",
                entries.join(",\n")
            ),
        );

        let ctl = gw.restart_argv()[0].clone();
        let count = format!("echo restart >> '{}'\n", sb.path("restarts").display());
        let body = match restart {
            Restart::Works => format!("exec '{ctl}' restart\n"),
            Restart::Fails => {
                "echo 'litellm.service: start request repeated too quickly' >&2\nexit 1\n".into()
            }
            Restart::DiesOnce => format!(
                "if [ ! -e '{died}' ]; then touch '{died}'; exec '{ctl}' kill; fi\nexec '{ctl}' restart\n",
                died = sb.path("died").display()
            ),
            // The sink is put back once the proxy has read the old key
            // (ctl.sh returns when it runs; it reads the file right then).
            Restart::OnOldKey => format!(
                "cp '{env}' '{env}.new'\nprintf 'LITELLM_MASTER_KEY=%s\\n' '{old}' > '{env}'\n'{ctl}' restart\nsleep 2\ncat '{env}.new' > '{env}'\nrm -f '{env}.new'\n",
                env = gw.env_file().display(),
            ),
        };
        let script = sb.write("restart.sh", format!("#!/bin/sh\n{count}{body}"));
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();

        let config = sb.write(
            "repo/litekeys.toml",
            format!(
                "source = \"secrets/global.enc.env\"\n\
                 [gateway]\nurl = \"{url}\"\ntimeout = {timeout}\n{gateway_extra}\n\
                 [service]\nmanager = \"command\"\ncommand = [\"{script}\"]\ntimeout = 120\n\
                 [[sink]]\nkind = \"dotenv\"\npath = \"{env}\"\nkeys = [\"LITELLM_MASTER_KEY\"]\n\
                 [[sink]]\nkind = \"droid\"\npath = \"~/.factory\"\n",
                url = gw.url(),
                script = script.display(),
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
    }

    /// HTTP status of `GET /v1/models` with `key` (0: no answer).
    fn models(&self, key: Option<&str>) -> u16 {
        let key = key.map(|k| Secret::from(k.to_string()));
        gateway::probe(&self.gw.url(), key.as_ref()).unwrap_or(0)
    }

    /// The master key litellm.env (the dotenv sink) holds.
    fn env_key(&self) -> String {
        std::fs::read_to_string(self.gw.env_file())
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("LITELLM_MASTER_KEY="))
            .expect("LITELLM_MASTER_KEY in litellm.env")
            .to_string()
    }

    fn settings(&self) -> serde_json::Value {
        serde_json::from_slice(&self.sb.read("home/.factory/settings.json")).unwrap()
    }

    fn audit(&self) -> Vec<String> {
        std::fs::read_to_string(self.sb.path("home/.local/state/litekeys/audit.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn restarts(&self) -> usize {
        std::fs::read_to_string(self.sb.path("restarts"))
            .map(|s| s.lines().count())
            .unwrap_or(0)
    }

    /// Every file of the sandbox (the restart bookkeeping excepted).
    fn snapshot(&self) -> Snapshot {
        Snapshot::ignoring([self.sb.dir.path()], &["restarts", "died"])
    }

    /// A failed rotation: exit rolled-back, one line naming `what`, no key shown,
    /// every file as before, no audit line, the gateway on the old key.
    fn assert_rolled_back(&self, out: &Outcome, before: &Snapshot, what: &str) {
        eprintln!("litekeys-rotate: {}", out.stderr.trim_end());
        assert_eq!(out.exit(), Some(Exit::RolledBack), "stderr: {}", out.stderr);
        out.one_line_error(what).never_shows(&self.old);
        // Nor the new key, which the test never sees: no key at all.
        assert!(
            !litekeys_tests::rotate_lab::holds_key(out.stderr.as_bytes()),
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains("rolled back"), "{}", out.stderr);
        before.assert_unchanged();
        assert!(self.audit().is_empty(), "{:?}", self.audit());
        assert_eq!(self.models(Some(&self.old)), 200, "the old key works again");
        assert_eq!(self.env_key(), self.old);
    }
}

fn is_refused(status: u16) -> bool {
    !(200..300).contains(&status) && status != 0
}

#[test]
fn a_rotation_restarts_litellm_and_proves_the_new_key() {
    let Some(lab) = Lab::start(
        &[MockModel::new("gpt-lab", "ok")],
        &["gpt-lab", "gpt-lab"],
        Restart::Works,
        120,
        "",
    ) else {
        return;
    };
    let out = lab.rotate().arg("--yes").output();
    assert_eq!(
        out.exit(),
        Some(Exit::Ok),
        "{}\n{}",
        out.stderr,
        lab.gw.log_tail(30)
    );
    let new = lab.env_key();
    assert_ne!(new, lab.old);
    eprint!("{}", out.stdout_str());
    out.never_shows(&lab.old).never_shows(&new);
    assert!(
        out.stdout_str()
            .contains("; verified: restarted (manager \"command\")"),
        "{}",
        out.stdout_str()
    );
    assert_eq!(lab.restarts(), 1);

    assert_eq!(lab.models(Some(&new)), 200, "new key accepted");
    assert!(is_refused(lab.models(Some(&lab.old))), "old key refused");
    assert!(is_refused(lab.models(None)), "no key refused");

    let settings = lab.settings();
    assert_eq!(settings["customModels"][0]["apiKey"], "vibeproxy");
    assert_eq!(settings["customModels"][1]["apiKey"], new.as_str());
    assert_eq!(settings["customModels"][2]["apiKey"], new.as_str());

    let audit = lab.audit();
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert!(
        audit[0].split_whitespace().any(|w| w == "verified"),
        "{}",
        audit[0]
    );
    let (old_fp, new_fp) = (
        vault::fingerprint(lab.old.as_bytes()),
        vault::fingerprint(new.as_bytes()),
    );
    assert!(
        audit[0].contains(&format!("LITELLM_MASTER_KEY={old_fp}->{new_fp}")),
        "{}",
        audit[0]
    );

    // status: in sync, and the gateway lines say what was just proven.
    let status = lab.rotate().arg("status").success();
    status.never_shows(&new).never_shows(&lab.old);
    let text = status.stdout_str();
    eprint!("{text}");
    assert!(text.contains("gateway reachable    yes"), "{text}");
    assert!(
        text.contains(&format!(
            "gateway current key  accepted  LITELLM_MASTER_KEY {new_fp}"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("gateway old key      unknown   {old_fp}: ")),
        "{text}"
    );
}

#[test]
fn a_restart_command_that_fails_rolls_back_and_the_old_key_still_works() {
    let Some(lab) = Lab::start(
        &[MockModel::new("gpt-lab", "ok")],
        &["gpt-lab"],
        Restart::Fails,
        120,
        "",
    ) else {
        return;
    };
    let before = lab.snapshot();
    let out = lab.rotate().arg("--yes").output();
    lab.assert_rolled_back(&out, &before, "restart through manager \"command\" failed");
    assert!(
        out.stderr.contains("start request repeated too quickly"),
        "the command's stderr: {}",
        out.stderr
    );
    // Restarted once more after the rollback (the attempt to go back),
    // which fails the same way; the gateway, never touched, answers on
    // the old key, and that verification is what decides: rolled back.
    assert_eq!(lab.restarts(), 2);
    assert!(
        out.stderr.contains(
            "the restart failed again (the same error), but the gateway answers on the old key, verified: "
        ),
        "{}",
        out.stderr
    );
    // Said once.
    assert_eq!(
        out.stderr
            .matches("start request repeated too quickly")
            .count(),
        1,
        "{}",
        out.stderr
    );
}

#[test]
fn a_gateway_restarted_on_the_old_key_is_rolled_back_without_waiting_out_the_timeout() {
    let timeout = 120;
    let Some(lab) = Lab::start(
        &[MockModel::new("gpt-lab", "ok")],
        &["gpt-lab"],
        Restart::OnOldKey,
        timeout,
        "",
    ) else {
        return;
    };
    let before = lab.snapshot();
    let started = std::time::Instant::now();
    let out = lab.rotate().arg("--yes").output();
    let took = started.elapsed();
    lab.assert_rolled_back(&out, &before, "still accepts the old key");
    assert_eq!(lab.restarts(), 2, "restarted, then again on the old key");
    // A behavioural bound, not a benchmark: two LiteLLM starts (~5-10 s
    // each here) and the few seconds of refusals, far below the timeout
    // the verification would otherwise have waited out.
    assert!(
        took < std::time::Duration::from_secs(u64::from(timeout) / 2),
        "took {took:?} with [gateway] timeout = {timeout}"
    );
}

#[test]
fn a_gateway_that_exits_on_restart_is_rolled_back_and_brought_back_on_the_old_key() {
    let Some(lab) = Lab::start(
        &[MockModel::new("gpt-lab", "ok")],
        &["gpt-lab"],
        Restart::DiesOnce,
        45,
        "",
    ) else {
        return;
    };
    let before = lab.snapshot();
    let out = lab.rotate().arg("--yes").output();
    lab.assert_rolled_back(&out, &before, "not live after 45s");
    assert_eq!(lab.restarts(), 2, "restarted again on the old key");
    assert!(is_refused(lab.models(None)));
}

#[test]
fn sentinel_passes_when_each_route_model_replies_exactly() {
    let Some(lab) = Lab::start(
        &[
            MockModel::new("gpt-lab", SENTINEL),
            MockModel::new("qwen-lab", SENTINEL),
        ],
        &["gpt-lab", "qwen-lab", "gpt-lab"],
        Restart::Works,
        120,
        &format!("sentinel = \"{SENTINEL}\""),
    ) else {
        return;
    };
    let out = lab.rotate().args(["--yes", "--sentinel"]).output();
    assert_eq!(out.exit(), Some(Exit::Ok), "{}", out.stderr);
    let new = lab.env_key();
    out.never_shows(&new).never_shows(&lab.old);
    assert!(
        out.stdout_str().contains("sentinel replied on 2 model(s)"),
        "{}",
        out.stdout_str()
    );
    assert_eq!(lab.models(Some(&new)), 200);
    assert_eq!(lab.audit().len(), 1);
}

#[test]
fn sentinel_with_another_reply_rolls_back_to_the_old_key() {
    let Some(lab) = Lab::start(
        &[
            MockModel::new("gpt-lab", SENTINEL),
            MockModel::new("chatty-lab", "Sure! Here is the text you asked for."),
        ],
        &["gpt-lab", "chatty-lab"],
        Restart::Works,
        120,
        &format!("sentinel = \"{SENTINEL}\""),
    ) else {
        return;
    };
    let before = lab.snapshot();
    let out = lab.rotate().args(["--yes", "--sentinel"]).output();
    lab.assert_rolled_back(&out, &before, "model `chatty-lab`");
    assert!(out.stderr.contains("expected the reply"), "{}", out.stderr);
    assert!(out.stderr.contains("customModels[2]"), "{}", out.stderr);
    // Restarted on the new key, then again on the old one.
    assert_eq!(lab.restarts(), 2);
}

#[test]
fn status_gateway_lines_follow_the_gateway_and_leave_the_exit_code_to_the_sinks() {
    let Some(lab) = Lab::start(
        &[MockModel::new("gpt-lab", "ok")],
        &["gpt-lab"],
        Restart::Works,
        120,
        "",
    ) else {
        return;
    };
    let status = lab.rotate().arg("status").success();
    let text = status.stdout_str();
    assert!(text.contains("gateway reachable    yes"), "{text}");
    assert!(text.contains("gateway current key  accepted"), "{text}");
    assert!(
        text.contains("gateway old key      unknown   no previous key in the audit log"),
        "{text}"
    );

    // Rotated without a restart: every sink in sync (exit 0), but the
    // gateway still runs on the old key and refuses the source's.
    lab.rotate().args(["--yes", "--no-restart"]).success();
    let new = lab.env_key();
    let status = lab.rotate().arg("status").success();
    let text = status.stdout_str();
    assert!(text.contains("gateway current key  refused"), "{text}");
    let json: serde_json::Value =
        serde_json::from_slice(&lab.rotate().args(["status", "--json"]).success().stdout).unwrap();
    assert_eq!(json["in_sync"], true);
    assert_eq!(json["gateway"]["reachable"]["state"], "yes");
    assert_eq!(json["gateway"]["current_key"]["state"], "refused");

    // A sink drifted back to the old key: exit drift for the sink, and the old
    // key (found there, its fingerprint the audit log's) is probed.
    lab.gw.set_master_key(&lab.old);
    let status = lab.rotate().arg("status").expect(Exit::Drift);
    status.never_shows(&lab.old).never_shows(&new);
    let text = status.stdout_str();
    assert!(text.contains("drifted"), "{text}");
    assert!(text.contains("gateway old key      accepted"), "{text}");

    // sync writes the source's key again, restarts and verifies.
    let out = lab.rotate().args(["--yes", "sync"]).output();
    assert_eq!(out.exit(), Some(Exit::Ok), "{}", out.stderr);
    assert!(
        out.stdout_str().contains("verified: restarted"),
        "{}",
        out.stdout_str()
    );
    let text = lab
        .rotate()
        .arg("status")
        .success()
        .stdout_str()
        .to_string();
    assert!(text.contains("gateway current key  accepted"), "{text}");
    assert!(is_refused(lab.models(Some(&lab.old))));
}

/// No LiteLLM needed: a port nothing listens on, and one that accepts
/// connections but never answers. Both are "not reachable"; the exit code
/// stays the sinks' (0, in sync); each request is bounded (2 s).
#[test]
fn status_with_the_gateway_down_or_hung_says_so_and_keeps_exit_0() {
    let down = free_port();
    let hung = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hung_port = hung.local_addr().unwrap().port();
    for port in [down, hung_port] {
        let Some(s) = litekeys_tests::rotate_lab::Seeds::with_config(|toml| {
            toml.replace(
                "url = \"http://127.0.0.1:4000\"",
                &format!("url = \"http://127.0.0.1:{port}\""),
            )
        }) else {
            return;
        };
        // Every route in step with the source first (manager none).
        s.cmd().args(["--yes", "sync"]).success();
        let status = s.cmd().arg("status").success();
        let text = status.stdout_str();
        assert!(text.contains("gateway reachable    no"), "{text}");
        assert!(
            text.contains("gateway current key  unknown   not checked:"),
            "{text}"
        );
        let json: serde_json::Value =
            serde_json::from_slice(&s.cmd().args(["status", "--json"]).success().stdout).unwrap();
        assert_eq!(json["gateway"]["reachable"]["state"], "no");
        assert_eq!(json["in_sync"], true);
    }
    drop(hung);
}

/// No LiteLLM needed: a restart command that always fails, and nothing on
/// the gateway's port. Every file goes back; the restart back fails the
/// same way and the old key cannot be verified: rollback incomplete, in
/// one line that says the command's stderr once, within seconds (a
/// restart back that exited with an error started nothing to wait for).
#[test]
fn a_failing_restart_with_no_gateway_is_an_incomplete_rollback_said_once() {
    let port = free_port();
    let Some(s) = litekeys_tests::rotate_lab::Seeds::with_config(|toml| {
        toml.replace(
            "url = \"http://127.0.0.1:4000\"",
            &format!("url = \"http://127.0.0.1:{port}\""),
        )
        .replace("[gateway]", "[gateway]\ntimeout = 60")
        .replace(
            "manager = \"none\"",
            "manager = \"command\"\ncommand = [\"/bin/sh\", \"restart.sh\"]",
        )
    }) else {
        return;
    };
    s.sb.write(
        "repo/restart.sh",
        "echo 'litellm.service: start request repeated too quickly' >&2\nexit 1\n",
    );
    let started = std::time::Instant::now();
    let out = s
        .test()
        .arg("--yes")
        .status(Exit::RollbackIncomplete)
        .one_line_error("every file was restored to the old keys, but the restart failed again (the same error); the gateway does not answer on the old key")
        .never_shows(litekeys_tests::rotate_lab::OLD_MASTER)
        .files_unchanged([""])
        .run();
    eprintln!("{} chars: {}", out.stderr.len(), out.stderr.trim_end());
    assert_eq!(
        out.stderr
            .matches("start request repeated too quickly")
            .count(),
        1,
        "{}",
        out.stderr
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}
