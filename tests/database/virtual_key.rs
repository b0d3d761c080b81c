//! Virtual keys for clients (issue 15 item 2) on the real LiteLLM 1.102.4
//! with PostgreSQL: `litekeys-rotate --key NAME` rotates a `[[virtual_key]]`
//! with no restart while a client loop, reading its key from the Droid sink
//! before every request (every 50 ms), sends chat completions through a
//! stored model: not one fails, the gateway's PID stays, the old key is
//! refused afterwards and the new one carries the alias. `--key` on a value
//! the source lacks creates it; `status` shows alias, fingerprint and
//! "accepted"; a crash after the commit and before the deletion is finished
//! by `recover` (the old key deleted), one before the commit is rolled back
//! (the new key deleted, every file on the old one).

use litekeys_tests::litellm_db::{LiteLlmDb, fingerprint, request};
use litekeys_tests::{Outcome, Run, Sandbox, Sops};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use vault::Exit;

const MASTER: &str = "sk-master-Vk4Nw8Ke2Yq6Js1DHb4Nw8Ke2Yq6Js1D";
const UPSTREAM: &str = "sk-upstream-Vk2Yq6Js1DHb4Nw8Ke2Yq6Js1DHb4Nw8";
const DROID_KEY: &str = "LITELLM_DROID_KEY";

/// LiteLLM with a database, a stored model, a virtual key `droid` in the
/// source and in Droid's settings, and litekeys.toml. Fields drop in
/// order: the proxy before the sandbox.
struct Lab {
    gw: LiteLlmDb,
    sb: Sandbox,
    sops: Sops,
    config: PathBuf,
    source: PathBuf,
    /// The virtual key the source starts with.
    first: String,
}

impl Lab {
    fn start() -> Option<Lab> {
        let sops = Sops::find()?;
        let sb = Sandbox::new();
        let recipient = sb.age_keygen("home/.config/sops/age/keys.txt")?;
        let gw = LiteLlmDb::start(&sb, MASTER, None)?;
        gw.store_model(MASTER, "stored", UPSTREAM);
        let first = gw.generate_key(MASTER, "droid");
        let source = sb.write(
            "repo/secrets/global.enc.env",
            sops.encrypt(
                &sb,
                &recipient,
                &format!("LITELLM_MASTER_KEY={MASTER}\n{DROID_KEY}={first}\n"),
            ),
        );
        sb.write(
            "home/.factory/settings.json",
            format!(
                "{{\n  \"customModels\": [\n    {{\"model\": \"stored\", \"baseUrl\": \"{}/v1\", \"apiKey\": \"{first}\", \"provider\": \"generic-chat-completion-api\"}}\n  ]\n}}\n",
                gw.url()
            ),
        );
        let restart = gw
            .restart_argv()
            .iter()
            .map(|a| format!("\"{a}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let config = sb.write(
            "repo/litekeys.toml",
            format!(
                "source = \"secrets/global.enc.env\"\n\
                 [gateway]\nurl = \"{url}\"\ntimeout = 120\n\
                 [service]\nmanager = \"command\"\ncommand = [{restart}]\ntimeout = 120\n\
                 [[sink]]\nkind = \"dotenv\"\npath = \"{env}\"\nkeys = [\"LITELLM_MASTER_KEY\"]\n\
                 [[sink]]\nkind = \"droid\"\npath = \"~/.factory\"\nkey = \"{DROID_KEY}\"\n\
                 [[sink]]\nkind = \"dotenv\"\npath = \"~/clients/claude.env\"\nkeys = [\"CLAUDE_KEY\"]\n\
                 [[virtual_key]]\nname = \"{DROID_KEY}\"\nalias = \"droid\"\ngrace = \"0s\"\n\
                 [[virtual_key]]\nname = \"CLAUDE_KEY\"\nalias = \"claude\"\ngrace = \"2s\"\n",
                url = gw.url(),
                env = gw.env_file().display(),
            ),
        );
        Some(Lab {
            gw,
            sb,
            sops,
            config,
            source,
            first,
        })
    }

    fn cmd(&self) -> Run {
        self.sb
            .cmd("litekeys-rotate")
            .current_dir(self.sb.path("repo"))
            .arg("--config")
            .arg(&self.config)
    }

    fn rotate(&self, name: &str) -> Run {
        self.cmd().args(["--key", name, "--yes"])
    }

    /// The key Droid's gateway route holds.
    fn droid_key(&self) -> String {
        let v: Value =
            serde_json::from_slice(&self.sb.read("home/.factory/settings.json")).unwrap();
        v["customModels"][0]["apiKey"].as_str().unwrap().to_string()
    }

    fn source_value(&self, name: &str) -> Option<String> {
        let out = self.sops.decrypt(&self.sb, &self.source).success();
        out.stdout_str()
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")).map(str::to_string))
    }

    /// A chat completion through the stored model: 200 with the stored
    /// upstream key's fingerprint, or the status.
    fn chat(&self, key: &str) -> u16 {
        let reply = self.gw.chat(key, "stored");
        if reply.status == 200 {
            assert_eq!(
                reply.content.as_deref(),
                Some(fingerprint(UPSTREAM).as_str())
            );
        }
        reply.status
    }

    /// The gateway's `key_alias` of `key` (`/key/info` by its token).
    fn alias(&self, key: &str) -> Option<String> {
        let token = rotate::virtual_key::token(&vault::Secret::from(key.to_string()));
        let (status, body) =
            self.gw
                .call("GET", &format!("/key/info?key={token}"), Some(MASTER), None);
        assert_eq!(status, 200, "/key/info: {body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        v["info"]["key_alias"].as_str().map(str::to_string)
    }

    /// `recover`, which succeeds and says each of `says`.
    fn recover(&self, says: &[&str]) -> Outcome {
        let out = self.cmd().arg("recover").success();
        let said = out.stdout_str();
        for part in says {
            assert!(said.contains(part), "{said}");
        }
        out
    }

    fn audit(&self) -> String {
        std::fs::read_to_string(self.sb.path("home/.local/state/litekeys/audit.log"))
            .unwrap_or_default()
    }
}

/// `out` shows none of `keys`, nor the master key.
fn never_shows_a_key(out: &Outcome, keys: &[&str]) {
    for k in keys.iter().chain([&MASTER]) {
        out.never_shows(k);
    }
}

/// What the client loop saw.
struct Seen {
    requests: usize,
    failed: Vec<(u16, String)>,
}

/// A client that reads its key from the Droid sink before every request,
/// every 50 ms, until `stop`.
fn client_loop(
    settings: PathBuf,
    port: u16,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Seen> {
    std::thread::spawn(move || {
        let mut seen = Seen {
            requests: 0,
            failed: Vec::new(),
        };
        let body = json!({ "model": "stored", "messages": [{ "role": "user", "content": "hi" }] });
        while !stop.load(Ordering::SeqCst) {
            // Droid replaces the file atomically; so does litekeys.
            let key = std::fs::read(&settings)
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                .and_then(|v| v["customModels"][0]["apiKey"].as_str().map(str::to_string))
                .expect("the Droid sink is readable, with a key, at every moment");
            let status = request(
                port,
                "POST",
                "/v1/chat/completions",
                Some(&key),
                Some(&body),
            )
            .map_or(0, |(s, _)| s);
            seen.requests += 1;
            if status != 200 {
                seen.failed.push((status, fingerprint(&key)));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        seen
    })
}

#[test]
fn a_client_loop_sees_no_failed_request_while_its_virtual_key_rotates() {
    let Some(lab) = Lab::start() else {
        return;
    };
    let pid = lab.gw.pid().expect("LiteLLM's pid");
    assert_eq!(lab.chat(&lab.first), 200);

    let stop = Arc::new(AtomicBool::new(false));
    let client = client_loop(
        lab.sb.path("home/.factory/settings.json"),
        lab.gw.port(),
        stop.clone(),
    );
    std::thread::sleep(Duration::from_millis(500));
    let start = Instant::now();
    let out = lab.rotate(DROID_KEY).output();
    let took = start.elapsed();
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::SeqCst);
    let seen = client.join().expect("client loop");
    eprintln!(
        "virtual-key rotation: {:.0} ms, {} client request(s), {} failed\n{}{}",
        took.as_secs_f64() * 1000.0,
        seen.requests,
        seen.failed.len(),
        out.stdout_str(),
        out.stderr
    );
    assert_eq!(
        out.exit(),
        Some(Exit::Ok),
        "{}\n{}",
        out.stderr,
        lab.gw.log_tail(40)
    );
    assert!(
        seen.failed.is_empty(),
        "failed requests during the rotation: {:?}",
        seen.failed
    );
    assert!(
        seen.requests >= 10,
        "the client loop ran {} request(s)",
        seen.requests
    );
    assert_eq!(lab.gw.pid(), Some(pid), "the gateway was restarted");

    let new = lab.droid_key();
    assert_ne!(new, lab.first);
    assert_eq!(lab.source_value(DROID_KEY).as_deref(), Some(new.as_str()));
    assert_eq!(
        lab.chat(&lab.first),
        401,
        "the old virtual key is still accepted"
    );
    assert_eq!(lab.chat(&new), 200);
    assert_eq!(lab.alias(&new).as_deref(), Some("droid"));
    never_shows_a_key(&out, &[&lab.first, &new]);
    let (old_fp, new_fp) = (fingerprint(&lab.first), fingerprint(&new));
    let said = out.stdout_str();
    assert!(
        said.contains(&format!("rotated {DROID_KEY} {old_fp} -> {new_fp}")),
        "{said}"
    );
    assert!(
        said.contains("no restart") && said.contains("deleted at the gateway"),
        "{said}"
    );
    assert!(
        lab.audit()
            .contains(&format!("{DROID_KEY}={old_fp}->{new_fp} verified")),
        "{}",
        lab.audit()
    );
    // The master key and its sink were left alone.
    assert!(
        std::fs::read_to_string(lab.gw.env_file())
            .unwrap()
            .contains(MASTER)
    );
    assert_eq!(lab.chat(MASTER), 200);

    // A value the source does not hold yet is created at the gateway.
    assert_eq!(lab.source_value("CLAUDE_KEY"), None);
    let out = lab.rotate("CLAUDE_KEY").success();
    let claude = lab.source_value("CLAUDE_KEY").expect("CLAUDE_KEY created");
    let env = String::from_utf8(lab.sb.read("home/clients/claude.env")).unwrap();
    assert!(
        env.contains(&format!("CLAUDE_KEY={claude}")),
        "the sink does not hold it"
    );
    assert_eq!(lab.chat(&claude), 200);
    assert_eq!(lab.alias(&claude).as_deref(), Some("claude"));
    assert!(
        out.stdout_str().contains("CLAUDE_KEY none -> "),
        "{}",
        out.stdout_str()
    );
    never_shows_a_key(&out, &[&claude, &new]);
    assert_eq!(lab.droid_key(), new, "another virtual key's sink changed");
    assert_eq!(lab.gw.pid(), Some(pid));

    let out = lab.cmd().arg("status").output();
    let text = out.stdout_str();
    eprint!("{text}");
    assert!(
        text.contains(&format!(
            "virtual {DROID_KEY}  alias droid  {new_fp}  accepted"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "virtual CLAUDE_KEY  alias claude  {}  accepted",
            fingerprint(&claude)
        )),
        "{text}"
    );
    assert!(text.contains("key_alias \"droid\""), "{text}");
    never_shows_a_key(&out, &[&claude, &new]);
    let json: Value =
        serde_json::from_slice(&lab.cmd().args(["status", "--json"]).output().stdout).unwrap();
    assert_eq!(json["virtual_keys"][0]["alias"], "droid");
    assert_eq!(json["virtual_keys"][0]["state"], "accepted");

    // With a grace the old key keeps working once the sinks hold the new
    // one, until the grace is over.
    let rotation = {
        let run = lab.rotate("CLAUDE_KEY");
        std::thread::spawn(move || run.output())
    };
    let start = Instant::now();
    let sink_key = || {
        String::from_utf8(lab.sb.read("home/clients/claude.env"))
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("CLAUDE_KEY=").map(str::to_string))
            .unwrap()
    };
    while sink_key() == claude && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let next = sink_key();
    assert_ne!(next, claude, "the sink never got the new key");
    assert_eq!(
        lab.chat(&claude),
        200,
        "the old key went before its grace was over"
    );
    assert!(
        !rotation.is_finished(),
        "the rotation did not wait for the grace"
    );
    let out = rotation.join().unwrap();
    assert_eq!(out.exit(), Some(Exit::Ok), "{}", out.stderr);
    assert!(start.elapsed() >= Duration::from_secs(2));
    assert!(
        out.stdout_str().contains(" s of grace"),
        "{}",
        out.stdout_str()
    );
    assert_eq!(lab.chat(&claude), 401, "the old key outlived its grace");
    assert_eq!(lab.chat(&next), 200);
    assert_eq!(lab.alias(&next).as_deref(), Some("claude"));

    // Killed during the grace (committed, the old key not yet deleted):
    // recover waits out the rest of it, then deletes the old key.
    let mut child = lab
        .sb
        .process("litekeys-rotate")
        .current_dir(lab.sb.path("repo"))
        .arg("--config")
        .arg(&lab.config)
        .args(["--key", "CLAUDE_KEY", "--yes"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("litekeys-rotate");
    let start = Instant::now();
    let committed = |key: &str| {
        lab.audit()
            .contains(&format!("CLAUDE_KEY={}->", fingerprint(key)))
    };
    while !committed(&next) && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(committed(&next), "the rotation never committed");
    child.kill().expect("SIGKILL by PID");
    let _ = child.wait();
    let last = sink_key();
    assert_ne!(last, next);
    assert_eq!(
        lab.chat(&next),
        200,
        "the old key went before its grace was over"
    );
    lab.recover(&[
        "it had committed",
        &format!("old virtual key {} deleted", fingerprint(&next)),
    ]);
    assert_eq!(lab.chat(&next), 401, "recover left the old key");
    assert_eq!(lab.chat(&last), 200);
    assert_eq!(lab.alias(&last).as_deref(), Some("claude"));

    // Only declared virtual keys: refused before anything is read or sent.
    let out = lab.rotate("NOT_DECLARED").output();
    assert_eq!(out.exit(), Some(Exit::Usage), "{}", out.stderr);
    out.one_line_error("not a [[virtual_key]]");
}

#[test]
fn a_crash_after_the_commit_is_finished_by_recover_and_one_before_it_rolls_back() {
    let Some(lab) = Lab::start() else {
        return;
    };
    let pid = lab.gw.pid().expect("LiteLLM's pid");

    // Killed after the commit, before the old key's deletion: both work.
    let out = lab
        .rotate(DROID_KEY)
        .env("LITEKEYS_FAULT", "committed")
        .output();
    assert_eq!(out.exit(), None, "not killed: {}", out.stderr);
    let new = lab.droid_key();
    assert_ne!(new, lab.first);
    assert_eq!(lab.source_value(DROID_KEY).as_deref(), Some(new.as_str()));
    assert_eq!(
        lab.chat(&lab.first),
        200,
        "the old key went before the deletion"
    );
    assert_eq!(lab.chat(&new), 200);
    // The journal names the keys by LiteLLM's token, which the gateway
    // refuses as a bearer; it holds no key.
    let journal = std::fs::read_dir(lab.sb.path("home/.local/state/litekeys/tx"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect::<String>();
    let token = rotate::virtual_key::token(&vault::Secret::from(new.clone()));
    assert!(journal.contains(&token), "{journal}");
    for key in [&lab.first, &new, MASTER] {
        assert!(!journal.contains(key), "a key in plaintext in the journal");
    }
    assert_eq!(lab.chat(&token), 401, "the token works as a key");
    let out = lab.recover(&[
        "it had committed",
        &format!("old virtual key {} deleted", fingerprint(&lab.first)),
    ]);
    never_shows_a_key(&out, &[&lab.first, &new]);
    assert_eq!(
        lab.chat(&lab.first),
        401,
        "recover did not delete the old key"
    );
    assert_eq!(lab.chat(&new), 200);
    assert_eq!(lab.alias(&new).as_deref(), Some("droid"));

    // Killed with every sink written, before the commit: the new key was
    // made (the client could use it); recover rolls everything back.
    let out = lab
        .rotate(DROID_KEY)
        .env("LITEKEYS_FAULT", "sinks-written")
        .output();
    assert_eq!(out.exit(), None, "not killed: {}", out.stderr);
    let never = lab.droid_key();
    assert_ne!(never, new);
    assert_eq!(
        lab.chat(&never),
        200,
        "the sinks name a key the gateway does not know"
    );
    lab.recover(&[
        "rolled back",
        &format!("new virtual key {} was deleted", fingerprint(&never)),
    ]);
    assert_eq!(lab.droid_key(), new);
    assert_eq!(lab.source_value(DROID_KEY).as_deref(), Some(new.as_str()));
    assert_eq!(
        lab.chat(&never),
        401,
        "the never-committed key is still valid"
    );
    assert_eq!(lab.chat(&new), 200);
    assert_eq!(lab.alias(&new).as_deref(), Some("droid"));
    assert_eq!(lab.gw.pid(), Some(pid), "the gateway was restarted");
    // Killed right after /key/generate, before any file changed: the new
    // key exists only at the gateway (under its provisional alias) until
    // recover deletes it.
    let provisional = || {
        lab.gw.postgres().psql(
            "SELECT count(*) FROM \"LiteLLM_VerificationToken\" WHERE key_alias LIKE 'droid.litekeys-%'",
        )
    };
    let out = lab
        .rotate(DROID_KEY)
        .env("LITEKEYS_FAULT", "key-generated")
        .output();
    assert_eq!(out.exit(), None, "not killed: {}", out.stderr);
    assert_eq!(provisional().trim(), "1", "the new key was not made first");
    assert_eq!(
        lab.droid_key(),
        new,
        "a sink changed before the crash point"
    );
    lab.recover(&["rolled back"]);
    assert_eq!(
        provisional().trim(),
        "0",
        "recover left the never-named key"
    );
    assert_eq!(lab.chat(&new), 200);

    lab.recover(&["nothing to recover"]);

    // A master-key rotation (a restart) leaves the virtual key alone.
    let out = lab.cmd().arg("--yes").output();
    assert_eq!(
        out.exit(),
        Some(Exit::Ok),
        "{}\n{}",
        out.stderr,
        lab.gw.log_tail(40)
    );
    assert_ne!(
        lab.gw.pid(),
        Some(pid),
        "the master key changed without a restart"
    );
    assert_eq!(
        lab.droid_key(),
        new,
        "the Droid sink changed with the master key"
    );
    assert_eq!(lab.source_value(DROID_KEY).as_deref(), Some(new.as_str()));
    assert_eq!(
        lab.chat(&new),
        200,
        "the virtual key did not survive the master key's rotation"
    );
    assert_eq!(lab.chat(MASTER), 401);
}
