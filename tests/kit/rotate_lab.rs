//! A sandbox HOME shaped like the seeds, for the `litekeys-rotate` suites
//! (`tests/rotate/`):
//! the encrypted source made by the real `sops encrypt --age`, a Droid
//! settings.json (VibeProxy :8317, Z.AI, two LiteLLM routes, a
//! `${LITELLM_MASTER_KEY}` route, a route elsewhere holding the old key,
//! unknown fields), a legacy config.json (an
//! `env:` key and a literal one), a generated config.d file, a symlinked
//! litellm.env, a 0640 docker `.env`, a systemd drop-in and its unit.

use crate::{Run, Sandbox, Snapshot, Sops, Test, walk};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

pub const OLD_MASTER: &str = "sk-OLDmasterKEY0000aaaaBBBBccccDDDDeeeeFFFFgggg1234";
pub const OLD_SALT: &str = "sk-OLDsaltKEY00000aaaaBBBBccccDDDDeeeeFFFFgggg5678";
/// A stale literal key on one LiteLLM route (drifted before the rotation).
pub const STALE: &str = "sk-STALEkey0000000aaaaBBBBccccDDDDeeeeFFFFgggg9999";

/// The seeds' Droid settings, the file the droid sink's unit tests and
/// `litekeys-rotate demo` use too.
pub const SETTINGS: &str =
    include_str!("../../crates/rotate/src/sinks/testdata/droid-settings.json");

pub const LEGACY: &str = include_str!("../fixtures/seeds/config.json");

pub const GENERATED: &str = include_str!("../fixtures/seeds/lab-litellm.json");

/// The seeds' litekeys.toml: two dotenv sinks (litellm.env, the docker
/// `.env` at `DOCKER_ENV`), Droid, the systemd drop-in; no service manager.
/// scripts/bench.d/40-rotate.sh builds its sandbox from the same files.
pub const CONFIG: &str = include_str!("../fixtures/seeds/litekeys.toml");

pub const UNIT: &str = "[Unit]\nDescription=LiteLLM gateway\n\n[Service]\nType=simple\nEnvironmentFile=-%h/.config/lab-secrets/litellm.env\nExecStart=/bin/true\n\n[Install]\nWantedBy=default.target\n";

pub struct Seeds {
    pub sb: Sandbox,
    pub sops: Sops,
    pub recipient: String,
    pub repo: PathBuf,
    pub source: PathBuf,
    pub config: PathBuf,
}

/// The seeds' route that points elsewhere (not the gateway) yet holds the
/// old master key: routes get the key by URL only, so it keeps it.
pub const ELSEWHERE: &str = r#""baseUrl": "http://10.0.0.5:4000/v1", "apiKey": "OLD_MASTER""#;

/// A Droid text (template or filled) after a rotation to `new`: every
/// gateway route holds `new`, the route elsewhere keeps the old key.
pub fn rotated_droid(text: &str, new: &str) -> String {
    let kept = fill(ELSEWHERE);
    // A filled text must not be filled again (STALE's value holds "STALE").
    let filled = if text.contains(OLD_MASTER) || text.contains(STALE) {
        text.to_string()
    } else {
        fill(text)
    };
    filled
        .replace(&kept, "\u{0}")
        .replace(OLD_MASTER, new)
        .replace(STALE, new)
        .replace('\u{0}', &kept)
}

/// A template of this lab with its keys: `OLD_MASTER` and `STALE`.
pub fn fill(template: &str) -> String {
    template
        .replace("OLD_MASTER", OLD_MASTER)
        .replace("STALE", STALE)
}

impl Seeds {
    /// The sandbox, or `None` (test skipped) when sops or age is missing.
    pub fn new() -> Option<Seeds> {
        Seeds::with_config(|toml| toml)
    }

    /// The sandbox with litekeys.toml passed through `edit`.
    pub fn with_config(edit: impl FnOnce(String) -> String) -> Option<Seeds> {
        let sops = Sops::find()?;
        let sb = Sandbox::new();
        let recipient = sb.age_keygen("home/.config/sops/age/keys.txt")?;
        let home = sb.home();
        let repo = sb.path("repo");
        let encrypted = sops.encrypt(
            &sb,
            &recipient,
            &format!(
                "LITELLM_MASTER_KEY={OLD_MASTER}\nLITELLM_SALT_KEY={OLD_SALT}\nOTHER_VAR=kept\n"
            ),
        );
        let source = sb.write("repo/secrets/global.enc.env", encrypted);

        sb.write("home/.factory/settings.json", fill(SETTINGS));
        sb.write("home/.factory/config.json", fill(LEGACY));
        sb.write("home/.factory/config.d/lab-litellm.json", fill(GENERATED));
        sb.write(
            "home/dotfiles/litellm.env",
            format!("# LiteLLM keys (materialised by direnv)\nLITELLM_MASTER_KEY={OLD_MASTER}\nLITELLM_SALT_KEY={OLD_SALT}\n"),
        );
        std::fs::create_dir_all(home.join(".config/lab-secrets")).unwrap();
        std::os::unix::fs::symlink(
            "../../dotfiles/litellm.env",
            home.join(".config/lab-secrets/litellm.env"),
        )
        .unwrap();
        let docker = sb.write(
            "srv/docker/litellm/.env",
            format!("LITELLM_MASTER_KEY={OLD_MASTER}\nLITELLM_SALT_KEY={OLD_SALT}\nSTORE_MODEL_IN_DB=False\n"),
        );
        std::fs::set_permissions(&docker, std::fs::Permissions::from_mode(0o640)).unwrap();
        // root:docker on the seeds' box; here a group the file must keep
        // (only root may give a file to a group it is not in).
        let _ = std::os::unix::fs::chown(&docker, None, Some(65534));
        sb.write("home/.config/systemd/user/litellm.service", UNIT);
        sb.write(
            "home/.config/systemd/user/litellm.service.d/litekeys.conf",
            format!(
                "[Service]\nEnvironment=\"LITELLM_MASTER_KEY={OLD_MASTER}\"\nRestart=on-failure\n"
            ),
        );
        let toml = CONFIG.replace("DOCKER_ENV", &docker.display().to_string());
        let config = sb.write("repo/litekeys.toml", edit(toml));
        // The user's own repository: found by walking up, and trusted.
        sb.trust("repo/litekeys.toml");
        sb.trust("repo/secrets/global.enc.env");
        Some(Seeds {
            sb,
            sops,
            recipient,
            repo,
            source,
            config,
        })
    }

    /// `litekeys-rotate ARGS` run from the repo.
    pub fn cmd(&self) -> Run {
        self.sb.cmd("litekeys-rotate").current_dir(&self.repo)
    }

    /// `litekeys-rotate --yes` from the repo as a bare process, to start
    /// several at once or kill one midway.
    pub fn rotation(&self) -> std::process::Command {
        let mut cmd = self.sb.process("litekeys-rotate");
        cmd.current_dir(&self.repo).arg("--yes");
        cmd
    }

    /// The source's values, decrypted by the real sops.
    pub fn decrypt(&self) -> BTreeMap<String, String> {
        let out = self.sops.decrypt(&self.sb, &self.source).success();
        out.stdout_str()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    pub fn master(&self) -> String {
        self.decrypt()["LITELLM_MASTER_KEY"].clone()
    }

    /// The real files that hold keys in plaintext (symlinks resolved).
    pub fn sink_files(&self) -> Vec<PathBuf> {
        let home = self.sb.home();
        vec![
            home.join("dotfiles/litellm.env"),
            self.sb.path("srv/docker/litellm/.env"),
            home.join(".factory/settings.json"),
            home.join(".factory/config.json"),
            home.join(".factory/config.d/lab-litellm.json"),
            home.join(".config/systemd/user/litellm.service.d/litekeys.conf"),
        ]
    }

    pub fn read(&self, path: &Path) -> String {
        std::fs::read_to_string(path).unwrap()
    }

    /// Every file of the sandbox, to check that a refused or rolled-back
    /// run changed nothing.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot::of([self.sb.dir.path()])
    }

    /// `litekeys-rotate` in this lab as a [`Test`].
    pub fn test(&self) -> Test {
        Test::of(self.cmd(), self.sb.path(""))
    }

    /// Files outside the sinks that hold a plaintext key, and temp files.
    pub fn strays(&self) -> Vec<PathBuf> {
        let sinks = self.sink_files();
        walk(self.sb.dir.path())
            .into_iter()
            .filter(|p| {
                let name = p.file_name().unwrap().to_string_lossy();
                name.ends_with(".tmp")
                    || (!sinks.contains(p) && holds_key(&std::fs::read(p).unwrap_or_default()))
            })
            .collect()
    }

    /// Every sink holds `master` where it should (the consistency check).
    pub fn assert_all_hold(&self, master: &str) {
        let home = self.sb.home();
        for p in [
            home.join("dotfiles/litellm.env"),
            self.sb.path("srv/docker/litellm/.env"),
        ] {
            assert!(
                self.read(&p)
                    .contains(&format!("LITELLM_MASTER_KEY={master}\n")),
                "{}",
                p.display()
            );
        }
        let dropin = self.read(&home.join(".config/systemd/user/litellm.service.d/litekeys.conf"));
        assert!(
            dropin.contains(&format!("\"LITELLM_MASTER_KEY={master}\"")),
            "{dropin}"
        );
        let settings: serde_json::Value =
            serde_json::from_str(&self.read(&home.join(".factory/settings.json"))).unwrap();
        assert_eq!(settings["customModels"][2]["apiKey"], master);
        assert_eq!(settings["customModels"][3]["apiKey"], master);
        let legacy: serde_json::Value =
            serde_json::from_str(&self.read(&home.join(".factory/config.json"))).unwrap();
        assert_eq!(legacy["custom_models"][1]["api_key"], master);
        let generated: serde_json::Value =
            serde_json::from_str(&self.read(&home.join(".factory/config.d/lab-litellm.json")))
                .unwrap();
        assert_eq!(generated["custom_models"][0]["api_key"], master);
    }
}

/// `sk-` followed by at least 43 base62 characters: a gateway key.
pub fn holds_key(bytes: &[u8]) -> bool {
    bytes.windows(3).enumerate().any(|(i, w)| {
        w == b"sk-"
            && bytes[i + 3..]
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric())
                .count()
                >= 43
    })
}
