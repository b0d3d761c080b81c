//! DESIGN.md's facts about LiteLLM 1.102.4 with PostgreSQL, on the real
//! thing (what litekeys' database-aware rotation and virtual keys rely on).
//! Each LiteLLM+database start takes ~15 s here: each test shares its starts
//! between several facts.

use litekeys_tests::Sandbox;
use litekeys_tests::litellm_db::{LiteLlmDb, fingerprint};

const MASTER: &str = "sk-master-Hb4Nw8Ke2Yq6Js1DHb4Nw8Ke2Yq6Js1D";
const OTHER_MASTER: &str = "sk-master2-Yq6Js1DHb4Nw8Ke2Yq6Js1DHb4Nw8Ke2";
const UPSTREAM: &str = "sk-upstream-Ke2Yq6Js1DHb4Nw8Ke2Yq6Js1DHb4Nw8";

fn is_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| Some(!s.rsplit_once(") ")?.1.starts_with('Z')))
        .unwrap_or(false)
}

/// A stored model answers through the echo upstream with its stored key;
/// a virtual key works at once, is refused right after /key/delete while
/// another keeps working; nothing (no query engine) is left after the drop.
#[test]
fn stored_model_and_virtual_keys_on_the_real_database() {
    let sandbox = Sandbox::new();
    let Some(gw) = LiteLlmDb::start(&sandbox, MASTER, None) else {
        return;
    };
    eprintln!(
        "LiteLLM with a database ready in {:.1} s",
        gw.started_in.as_secs_f64()
    );
    let id = gw.store_model(MASTER, "stored", UPSTREAM);

    let reply = gw.chat(MASTER, "stored");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.content.as_deref(),
        Some(fingerprint(UPSTREAM).as_str())
    );
    // Stored encrypted: the row does not hold the key.
    let row = gw.postgres().psql(&format!(
        "SELECT litellm_params::text FROM \"LiteLLM_ProxyModelTable\" WHERE model_id = '{id}'"
    ));
    assert!(!row.is_empty(), "model {id} not in the database");
    assert!(
        !row.contains(UPSTREAM),
        "the stored api_key is in plaintext"
    );
    let (status, info) = gw.model_info(MASTER);
    assert_eq!(status, 200);
    assert!(
        info["data"]
            .as_array()
            .expect("data")
            .iter()
            .any(|m| m["model_name"] == "stored" && m["model_info"]["db_model"] == true),
        "{info}"
    );
    assert_eq!(
        gw.chat("sk-not-a-key-at-all-000000000000", "stored").status,
        401
    );

    let first = gw.generate_key(MASTER, "droid");
    let reply = gw.chat(&first, "stored");
    assert_eq!(
        reply.status, 200,
        "a new virtual key is refused: {}",
        reply.body
    );
    assert_eq!(
        reply.content.as_deref(),
        Some(fingerprint(UPSTREAM).as_str())
    );
    let second = gw.generate_key(MASTER, "droid-next");
    assert_eq!(gw.chat(&second, "stored").status, 200);
    assert_eq!(
        gw.chat(&first, "stored").status,
        200,
        "both work until the delete"
    );
    assert_eq!(gw.delete_key(MASTER, &first), 200);
    assert_eq!(
        gw.chat(&first, "stored").status,
        401,
        "a deleted key still works"
    );
    assert_eq!(gw.chat(&second, "stored").status, 200);

    assert!(gw.echo().requests() >= 4);

    let proxy = gw.pid().expect("pid");
    let engines = gw.engine_pids();
    assert_eq!(engines.len(), 1);
    drop(gw);
    assert!(!is_alive(proxy), "LiteLLM outlived the fixture");
    assert!(
        !engines.iter().any(|&p| is_alive(p)),
        "an orphan query engine is left"
    );
}

/// Without a salt key LiteLLM encrypts stored credentials with the master
/// key: a new master key in the environment plus a restart leaves the rows
/// as they were but the stored model unusable; the old key brings it back.
#[test]
fn without_a_salt_key_a_new_master_key_loses_stored_credentials_until_the_old_one_returns() {
    let sandbox = Sandbox::new();
    let Some(gw) = LiteLlmDb::start(&sandbox, MASTER, None) else {
        return;
    };
    gw.store_model(MASTER, "stored", UPSTREAM);
    assert_eq!(gw.chat(MASTER, "stored").status, 200);
    let rows = || {
        gw.postgres()
            .psql("SELECT model_id || ':' || md5(litellm_params::text) FROM \"LiteLLM_ProxyModelTable\" ORDER BY 1")
    };
    let before = rows();

    gw.set_master_key(OTHER_MASTER);
    gw.restart();
    assert_eq!(
        gw.chat(MASTER, "stored").status,
        401,
        "the old master key is refused"
    );
    let reply = gw.chat(OTHER_MASTER, "stored");
    assert_ne!(
        reply.status, 200,
        "the stored model still answers: {}",
        reply.body
    );
    assert!(
        reply.content.as_deref() != Some(fingerprint(UPSTREAM).as_str()),
        "the stored key decrypted with another master key"
    );
    assert_eq!(rows(), before, "the database rows changed");

    gw.set_master_key(MASTER);
    gw.restart();
    let reply = gw.chat(MASTER, "stored");
    assert_eq!(
        reply.status, 200,
        "the old key does not bring it back: {}",
        reply.body
    );
    assert_eq!(
        reply.content.as_deref(),
        Some(fingerprint(UPSTREAM).as_str())
    );
}

/// With a salt key the stored credentials do not depend on the master key:
/// env change + restart (the `command` manager's argv, as litekeys-rotate
/// runs it) keeps the stored model answering with its key and a virtual key
/// made before working, and refuses the old master key; the old query engine
/// left with its proxy.
#[test]
fn with_a_salt_key_a_new_master_key_keeps_stored_credentials_and_virtual_keys() {
    let sandbox = Sandbox::new();
    let salt = "sk-salt-Js1DHb4Nw8Ke2Yq6Js1DHb4Nw8Ke2Yq6";
    let Some(gw) = LiteLlmDb::start(&sandbox, MASTER, Some(salt)) else {
        return;
    };
    gw.store_model(MASTER, "stored", UPSTREAM);
    let client = gw.generate_key(MASTER, "droid");
    gw.set_master_key(OTHER_MASTER);
    let env = std::fs::read_to_string(gw.env_file()).unwrap();
    assert!(
        env.contains("LITELLM_SALT_KEY="),
        "set_master_key dropped the salt key"
    );
    assert!(
        env.contains("DATABASE_URL="),
        "set_master_key dropped the database"
    );

    let engines = gw.engine_pids();
    assert_eq!(engines.len(), 1, "one query engine under LiteLLM");
    let argv = gw.restart_argv();
    let status = std::process::Command::new(&argv[0])
        .args(&argv[1..])
        .status()
        .expect("ctl.sh");
    assert!(status.success());
    assert!(
        !engines.iter().any(|&p| is_alive(p)),
        "the old query engine outlived its proxy"
    );
    gw.wait_ready(litekeys_tests::litellm_db::START_TIMEOUT);

    assert_eq!(
        gw.chat(MASTER, "stored").status,
        401,
        "the old master key works"
    );
    let reply = gw.chat(OTHER_MASTER, "stored");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.content.as_deref(),
        Some(fingerprint(UPSTREAM).as_str())
    );
    let reply = gw.chat(&client, "stored");
    assert_eq!(
        reply.status, 200,
        "the virtual key after the restart: {}",
        reply.body
    );
    assert_eq!(
        reply.content.as_deref(),
        Some(fingerprint(UPSTREAM).as_str())
    );
}
