//! The kit's PostgreSQL: a cluster of its own on 127.0.0.1, LiteLLM's
//! schema migrated and recorded as Prisma does, gone (by PID) on drop.

use litekeys_tests::postgres::Postgres;

#[test]
fn a_migrated_cluster_on_the_loopback_stopped_by_pid_on_drop() {
    let Some(pg) = Postgres::start() else {
        return;
    };
    let pid = pg.pid();
    assert!(
        std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "postmaster {pid} not running"
    );
    // Every migration litellm_proxy_extras ships, applied and recorded.
    let recorded: usize = pg
        .psql("SELECT count(*) FROM \"_prisma_migrations\" WHERE finished_at IS NOT NULL")
        .parse()
        .expect("count");
    assert!(recorded > 100, "{recorded} migrations recorded");
    let tables = pg.psql(
        "SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.tables \
         WHERE table_name IN ('LiteLLM_VerificationToken', 'LiteLLM_ProxyModelTable', 'LiteLLM_CredentialsTable')",
    );
    assert_eq!(
        tables,
        "LiteLLM_CredentialsTable,LiteLLM_ProxyModelTable,LiteLLM_VerificationToken"
    );
    // Only the loopback listens.
    assert_eq!(pg.psql("SHOW listen_addresses"), "127.0.0.1");
    // A second database from the migrated one.
    let url = pg.create_database("second");
    assert!(url.ends_with("/second"), "{url}");

    drop(pg);
    let gone = (0..100).any(|_| {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let running = state
            .rsplit_once(") ")
            .is_some_and(|(_, r)| !r.starts_with('Z'));
        if running {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        !running
    });
    assert!(gone, "postmaster {pid} survived the drop");
}
