//! Issue 15 item 1, on the real thing: `litekeys-rotate` rotating the master
//! key of a real LiteLLM 1.102.4 with a real PostgreSQL (tests/kit/
//! litellm_db.rs) that stores a model through `/model/new`, whose `api_key`
//! the echo upstream shows (by fingerprint): a reply proves the stored
//! credential still decrypts.
//!
//! - no salt key: the rotation re-encrypts the stored credentials through
//!   `/key/regenerate` before the restart; the stored model answers with its
//!   key, the old master key is refused (401), the new one accepted;
//! - a salt key: environment + restart only, no `/key/regenerate` (LiteLLM's
//!   access log has none), the stored model still answers;
//! - a crash after `/key/regenerate`, and one after the restart, before the
//!   commit: `recover` puts the stored credentials back on the old master key
//!   before the old files, restarts the gateway on them: it answers on the
//!   old key, the stored model too;
//! - `--salt` is refused with the database (exit usage, nothing written).
//!
//! Each LiteLLM start costs ~15 s (more on a loaded machine): each test
//! shares its LiteLLM between its cases.

use litekeys_tests::litellm_db::{LiteLlmDb, fingerprint};
use litekeys_tests::{Run, Sandbox, Snapshot, Sops, Test};
use std::path::PathBuf;
use vault::Exit;

const OLD: &str = "sk-OLDmasterDB0aaaaBBBBccccDDDDeeeeFFFFgggg1234";
const SALT: &str = "sk-SALTsaltDB00aaaaBBBBccccDDDDeeeeFFFFgggg5678";
/// The provider key of the stored model, encrypted by LiteLLM in its database.
const UPSTREAM: &str = "sk-UPSTREAMprovider0aaaaBBBBccccDDDDeeee9012";
const MODEL: &str = "stored-echo";
const KILLED: i32 = 128 + 9;
/// What `recover` says it did to the stored credentials.
const BACK: &str = "the stored credentials re-encrypted back with the old master key";
const STILL: &str = "the stored credentials were still under the old master key";

/// A source on `OLD` (and `SALT`), LiteLLM on the same with a stored model,
/// litekeys.toml restarting it through the kit's control script, its
/// dotenv file the sink. Fields drop in order: the proxy and the database
/// go before the sandbox.
struct Lab {
    gw: LiteLlmDb,
    sb: Sandbox,
    sops: Sops,
    config: PathBuf,
}

impl Lab {
    fn start(salt: Option<&str>) -> Option<Lab> {
        Lab::with(salt, salt, "")
    }

    /// The source holds `source_salt`, LiteLLM runs with `litellm_salt`;
    /// `sink_extra` goes into the dotenv sink's table.
    fn with(
        source_salt: Option<&str>,
        litellm_salt: Option<&str>,
        sink_extra: &str,
    ) -> Option<Lab> {
        let salt = source_salt;
        let sops = Sops::find()?;
        let sb = Sandbox::new();
        let recipient = sb.age_keygen("home/.config/sops/age/keys.txt")?;
        let mut plain = format!("LITELLM_MASTER_KEY={OLD}\n");
        if let Some(salt) = salt {
            plain.push_str(&format!("LITELLM_SALT_KEY={salt}\n"));
        }
        sb.write(
            "repo/secrets/global.enc.env",
            sops.encrypt(&sb, &recipient, &plain),
        );
        let gw = LiteLlmDb::start(&sb, OLD, litellm_salt)?;
        eprintln!(
            "LiteLLM with a database ready in {:.1} s",
            gw.started_in.as_secs_f64()
        );
        gw.store_model(OLD, MODEL, UPSTREAM);
        let config = sb.write(
            "repo/litekeys.toml",
            format!(
                "source = \"secrets/global.enc.env\"\n\
                 [gateway]\nurl = \"{url}\"\ntimeout = 180\n\
                 [service]\nmanager = \"command\"\ncommand = [\"{ctl}\", \"restart\"]\ntimeout = 120\n\
                 [[sink]]\nkind = \"dotenv\"\npath = \"{env}\"\n{sink_extra}",
                url = gw.url(),
                ctl = gw.restart_argv()[0],
                env = gw.env_file().display(),
            ),
        );
        sb.trust("repo/litekeys.toml");
        sb.trust("repo/secrets/global.enc.env");
        Some(Lab {
            gw,
            sb,
            sops,
            config,
        })
    }

    fn cmd(&self) -> Run {
        self.sb
            .cmd("litekeys-rotate")
            .current_dir(self.sb.path("repo"))
            .arg("--config")
            .arg(&self.config)
    }

    /// The master key the source holds (decrypted by the real sops).
    fn master(&self) -> String {
        let out = self
            .sops
            .decrypt(&self.sb, &self.sb.path("repo/secrets/global.enc.env"))
            .success();
        out.stdout_str()
            .lines()
            .find_map(|l| l.strip_prefix("LITELLM_MASTER_KEY="))
            .expect("LITELLM_MASTER_KEY in the source")
            .to_string()
    }

    /// The master key the dotenv sink (LiteLLM's env file) holds.
    fn sink_master(&self) -> String {
        std::fs::read_to_string(self.gw.env_file())
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("LITELLM_MASTER_KEY="))
            .expect("LITELLM_MASTER_KEY in litellm.env")
            .to_string()
    }

    /// The stored model answers with `key`, through the echo upstream with
    /// its stored (decrypted) provider key.
    fn assert_stored_answers(&self, key: &str) {
        let reply = self.gw.chat(key, MODEL);
        assert_eq!(
            reply.status,
            200,
            "{}\n--- log\n{}",
            reply.body,
            self.gw.log_tail(30)
        );
        assert_eq!(
            reply.content.as_deref(),
            Some(fingerprint(UPSTREAM).as_str()),
            "the stored api_key did not reach the upstream"
        );
    }

    /// `key` is refused by the gateway (401, LiteLLM with a database).
    fn assert_refused(&self, key: &str) {
        let reply = self.gw.chat(key, MODEL);
        assert_eq!(reply.status, 401, "{}", reply.body);
    }

    /// How many `/key/regenerate` requests LiteLLM's access log shows.
    fn regenerates(&self) -> usize {
        std::fs::read_to_string(self.gw.log_file())
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("POST /key/regenerate"))
            .count()
    }

    /// A rotation killed by fault injection at `step`, then `recover`: the
    /// gateway, the stored credentials and every file back on `current`.
    /// `done` is how recovery words what it did to the stored credentials.
    fn crash_and_recover(&self, step: &str, current: &str, done: &str) {
        let out = self.cmd().arg("--yes").env("LITEKEYS_FAULT", step).output();
        assert_eq!(
            out.code, KILLED,
            "not killed at {step} (the fault-injection build?): {}",
            out.stderr
        );
        assert_ne!(
            self.sink_master(),
            current,
            "killed before the sink was written"
        );
        let out = self.cmd().arg("recover").success();
        let said = out.stdout_str();
        eprintln!("recover after {step}: {said}");
        out.never_shows(current);
        assert!(said.contains("every file holds the OLD keys"), "{said}");
        assert!(
            said.contains(&format!("stored credentials: {done}")),
            "{said}"
        );
        assert_eq!(self.master(), current);
        assert_eq!(self.sink_master(), current);
        self.assert_stored_answers(current);
        assert_eq!(
            self.gw.call("GET", "/v1/models", Some(current), None).0,
            200
        );
        let again = self.cmd().arg("recover").success();
        assert!(again.stdout_str().contains("nothing to recover"));
    }
}

/// No salt key: `--salt` refused; the plan names the /key/regenerate path;
/// the rotation re-encrypts and the stored model answers on the new key,
/// the old one refused; then a crash after /key/regenerate (the gateway
/// still on the old key, the credentials already under the new one) and a
/// crash after the restart (the gateway on the new key), both before the
/// commit, are recovered to the old key with the stored model answering;
/// and so is a crash between journaling the /key/regenerate and sending it.
#[test]
fn no_salt_key_rotation_re_encrypts_and_a_crash_is_recovered_to_the_old_key() {
    let Some(lab) = Lab::start(None) else { return };
    lab.assert_stored_answers(OLD);

    // --salt with the database: refused, nothing written.
    Test::of(lab.cmd().args(["--salt", "--yes"]), lab.sb.path(""))
        .status(Exit::Usage)
        .one_line_error("--salt refused")
        .one_line_error("sets DATABASE_URL")
        .never_shows(OLD)
        .files_unchanged([""])
        .run();
    assert_eq!(lab.regenerates(), 0);

    let plan = lab.cmd().arg("--dry-run").success();
    assert!(
        plan.stdout_str().contains("database without salt key (")
            && plan
                .stdout_str()
                .contains("stored credentials re-encrypted through /key/regenerate"),
        "{}",
        plan.stdout_str()
    );

    let out = lab.cmd().arg("--yes").success();
    out.never_shows(OLD).never_shows(UPSTREAM);
    let new = lab.master();
    assert_ne!(new, OLD);
    out.never_shows(&new);
    assert!(
        out.stdout_str()
            .contains("1 stored model(s) served with the new key"),
        "{}",
        out.stdout_str()
    );
    assert_eq!(lab.sink_master(), new);
    assert_eq!(lab.regenerates(), 1, "one /key/regenerate");
    lab.assert_stored_answers(&new);
    lab.assert_refused(OLD);

    // Killed right after LiteLLM answered the /key/regenerate, before the
    // restart: the gateway runs on `new`, the credentials are under the
    // key the crash never committed.
    lab.crash_and_recover("regenerated", &new, BACK);
    // Killed after the restart onto the new key, before the commit.
    lab.crash_and_recover("activated", &new, BACK);
    // Killed once the /key/regenerate is journaled, before it is sent: the
    // credentials never moved. Recovery finds that out on a proxy running
    // the new key (restarted onto the new files) and sends nothing back,
    // which would encrypt them a second time.
    let regenerates = lab.regenerates();
    lab.crash_and_recover("regenerate-recorded", &new, STILL);
    assert_eq!(lab.regenerates(), regenerates, "nothing was sent back");
    let before = Snapshot::of([lab.sb.path("repo")]);
    lab.cmd().arg("status").success();
    before.assert_unchanged();
}

/// A salt key: the master key changes by the restart only, never
/// /key/regenerate (none in LiteLLM's access log), and the stored model
/// keeps answering: its credentials are under the salt key.
#[test]
fn salt_key_rotation_restarts_only_and_stored_credentials_keep_working() {
    let Some(lab) = Lab::start(Some(SALT)) else {
        return;
    };
    let plan = lab.cmd().arg("--dry-run").success();
    assert!(
        plan.stdout_str().contains("database with a salt key (")
            && plan.stdout_str().contains("never /key/regenerate"),
        "{}",
        plan.stdout_str()
    );
    let out = lab.cmd().arg("--yes").success();
    out.never_shows(OLD).never_shows(SALT);
    let new = lab.master();
    assert_ne!(new, OLD);
    assert!(
        out.stdout_str()
            .contains("1 stored model(s) served with the new key"),
        "{}",
        out.stdout_str()
    );
    lab.assert_stored_answers(&new);
    lab.assert_refused(OLD);
    assert_eq!(lab.regenerates(), 0, "no /key/regenerate with a salt key");
    // The log does show requests: the stored model's chat is in it.
    assert!(
        std::fs::read_to_string(lab.gw.log_file())
            .unwrap()
            .contains("POST /v1/chat/completions"),
        "LiteLLM's access log is not on: the absence of /key/regenerate proves nothing"
    );
}

/// The safety net: the source holds a salt key that never reaches LiteLLM
/// (the dotenv sink writes the master key only), so litekeys takes the
/// salt-key path (restart only) while LiteLLM encrypts with the master key.
/// After the restart the stored model is gone: the rotation fails naming
/// it, every file goes back, the gateway is restarted on the old key, and
/// the stored model answers again (exit rolled-back).
#[test]
fn a_rotation_that_would_lose_a_stored_model_rolls_back_naming_it() {
    let Some(lab) = Lab::with(Some(SALT), None, "keys = [\"LITELLM_MASTER_KEY\"]\n") else {
        return;
    };
    let before = Snapshot::of([lab.sb.path("repo"), lab.gw.env_file()]);
    let out = lab.cmd().arg("--yes").output();
    eprintln!("litekeys-rotate: {}", out.stderr.trim_end());
    assert_eq!(out.exit(), Some(Exit::RolledBack), "{}", out.stderr);
    out.one_line_error(&format!("lost stored model(s) {MODEL}"))
        .never_shows(OLD)
        .never_shows(SALT);
    assert!(out.stderr.contains("rolled back"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("1 stored model(s) served with the old key again"),
        "{}",
        out.stderr
    );
    before.assert_unchanged();
    assert_eq!(lab.master(), OLD);
    assert_eq!(lab.regenerates(), 0);
    lab.assert_stored_answers(OLD);
}
