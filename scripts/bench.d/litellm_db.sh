#!/usr/bin/env bash
# LiteLLM with a database for the benchmark parts (issue 15): a library,
# sourced; run directly it does nothing (scripts/bench runs every part), or
# `bash scripts/bench.d/litellm_db.sh selftest` starts, checks and stops one.
#
#   source "$(dirname "${BASH_SOURCE[0]}")/litellm_db.sh"
#   litellm_db_start "$BENCH_TMP/db" "$master" [salt]   # pg + echo + LiteLLM, ready
#   trap litellm_db_stop EXIT                            # everything by PID
#   litellm_db_store_model "$master" stored "$upstream_key"   # /model/new
#   litellm_db_chat "$key" stored                         # LDB_STATUS, LDB_CONTENT (key's fingerprint)
#   litellm_db_generate_key "$master" droid               # LDB_KEY
#   "$LDB_DIR/ctl.sh" restart; litellm_db_wait_ready     # as the `command` manager does
#
# What it sets: LDB_DIR, LDB_URL (http://127.0.0.1:PORT), LDB_PORT,
# LDB_ENV (the dotenv file LiteLLM reads LITELLM_MASTER_KEY, DATABASE_URL and
# LITELLM_SALT_KEY from at each start: what a dotenv sink points at),
# LDB_CONFIG (config.yaml), LDB_CTL (ctl.sh start|stop|restart|kill),
# LDB_DATABASE_URL, LDB_ECHO_URL.
#
# The same setup as tests/kit/postgres.rs and litellm_db.rs (see DESIGN.md,
# "LiteLLM with a database"): Debian's PostgreSQL in a cluster of its own
# (as the postgres user when root; 127.0.0.1, a free port, in a /tmp dir of its own),
# litellm_proxy_extras' migrations applied with psql and recorded in
# _prisma_migrations, LiteLLM started with DISABLE_SCHEMA_UPDATE=true and
# scripts/prisma-engine as its Prisma query engine (scripts/install-peers
# installs the pieces). The echo upstream (python3, 127.0.0.1) answers each
# chat completion with the first 8 hex digits of SHA-256 of the bearer key it
# got, so a reply from a stored model proves its stored key decrypted.
# Waits are bounded; no key goes in argv (curl reads its headers from a file).

LDB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

_ldb_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

_ldb_as_pg() { # a server command, as postgres when root
    if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

_ldb_pg_bin() {
    local d
    d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
    [[ -x $d/initdb ]] || { echo "litellm_db: Debian's PostgreSQL is missing (scripts/install-peers)" >&2; return 1; }
    printf '%s\n' "$d"
}

_ldb_migrations() {
    "$LDB_ROOT/.tools/venv/bin/python" -c 'import importlib.util as u, os; print(os.path.join(u.find_spec("litellm_proxy_extras").submodule_search_locations[0], "migrations"))'
}

# A header file for curl -H @FILE: the key stays out of argv.
_ldb_auth() {
    local f="$LDB_DIR/auth.$RANDOM"
    (umask 077; printf 'Authorization: Bearer %s\nContent-Type: application/json\n' "$1" > "$f")
    printf '%s\n' "$f"
}

# litellm_db_call KEY METHOD PATH [JSON]: sets LDB_STATUS and LDB_BODY (the
# key and the body go to curl through files, not argv).
litellm_db_call() {
    local auth body="$LDB_DIR/body.$RANDOM" out
    auth="$(_ldb_auth "$1")"
    (umask 077; printf '%s' "${4:-}" > "$body")
    out="$(curl -s -m 60 -X "$2" -H @"$auth" ${4:+--data-binary @"$body"} -w '\n%{http_code}' "$LDB_URL$3")"
    rm -f "$auth" "$body"
    LDB_BODY="${out%$'\n'*}"
    LDB_STATUS="${out##*$'\n'}"
}

litellm_db_wait_ready() { # until /health/readiness says the database is connected
    local i
    for ((i = 0; i < 600; i++)); do
        curl -s -m 5 "$LDB_URL/health/readiness" 2>/dev/null | grep -q '"db":"connected"' && return 0
        sleep 0.2
    done
    echo "litellm_db: LiteLLM not ready after 120 s; log: $LDB_DIR/litellm.log" >&2
    tail -30 "$LDB_DIR/litellm.log" >&2
    return 1
}

litellm_db_start() { # DIR MASTER [SALT]
    LDB_DIR="$1"
    local master="$2" salt="${3:-}" bin migrations
    bin="$(_ldb_pg_bin)" || return 1
    mkdir -p "$LDB_DIR"
    # The cluster in a directory of its own the postgres user can reach
    # (BENCH_TMP is private to root); removed by litellm_db_stop.
    LDB_PG="$(mktemp -d /tmp/litellm-db-pg.XXXXXX)"
    chmod 755 "$LDB_PG"
    if [[ $(id -u) -eq 0 ]]; then chown postgres: "$LDB_PG"; fi
    _ldb_as_pg "$bin/initdb" -D "$LDB_PG/data" -U postgres --auth=trust --no-sync \
        --encoding=UTF8 --locale=C.UTF-8 --wal-segsize=1 >/dev/null || return 1
    LDB_PG_PORT="$(_ldb_free_port)"
    _ldb_as_pg "$bin/pg_ctl" -D "$LDB_PG/data" -l "$LDB_PG/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $LDB_PG_PORT -k $LDB_PG -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >/dev/null || { cat "$LDB_PG/server.log" >&2; return 1; }
    LDB_PG_PID="$(head -1 "$LDB_PG/data/postmaster.pid")"
    LDB_DATABASE_URL="postgresql://postgres@127.0.0.1:$LDB_PG_PORT/litellm"
    psql -X -q -d "postgresql://postgres@127.0.0.1:$LDB_PG_PORT/postgres" -c 'CREATE DATABASE litellm' || return 1
    migrations="$(_ldb_migrations)"
    {
        echo 'CREATE TABLE "_prisma_migrations" ("id" VARCHAR(36) PRIMARY KEY NOT NULL, "checksum" VARCHAR(64) NOT NULL, "finished_at" TIMESTAMPTZ, "migration_name" VARCHAR(255) NOT NULL, "logs" TEXT, "rolled_back_at" TIMESTAMPTZ, "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(), "applied_steps_count" INTEGER NOT NULL DEFAULT 0);'
        local m
        for m in "$migrations"/*/migration.sql; do
            cat "$m"
            printf '\n;\nINSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count) VALUES (gen_random_uuid()::text, '"'%s'"', now(), '"'%s'"', 1);\n' \
                "$(sha256sum "$m" | cut -d' ' -f1)" "$(basename "$(dirname "$m")")"
        done
    } | psql -X -q -v ON_ERROR_STOP=1 -d "$LDB_DATABASE_URL" >/dev/null 2>"$LDB_DIR/migrate.log" ||
        { cat "$LDB_DIR/migrate.log" >&2; return 1; }

    # The echo upstream.
    local echo_port
    echo_port="$(_ldb_free_port)"
    cat > "$LDB_DIR/echo.py" <<'EOF'
import hashlib, http.server, json, sys, uuid
class Echo(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        auth = self.headers.get("authorization", "")
        key = auth[len("Bearer "):] if auth.startswith("Bearer ") else auth
        content = hashlib.sha256(key.encode()).hexdigest()[:8] if key else "none"
        body = json.dumps({"id": f"chatcmpl-echo-{uuid.uuid4().hex}", "object": "chat.completion", "created": 0, "model": "echo",
                           "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
                           "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Echo).serve_forever()
EOF
    python3 "$LDB_DIR/echo.py" "$echo_port" </dev/null >/dev/null 2>&1 &
    LDB_ECHO_PID=$!
    LDB_ECHO_URL="http://127.0.0.1:$echo_port"

    LDB_PORT="$(_ldb_free_port)"
    LDB_URL="http://127.0.0.1:$LDB_PORT"
    LDB_ENV="$LDB_DIR/litellm.env"
    LDB_CONFIG="$LDB_DIR/config.yaml"
    LDB_CTL="$LDB_DIR/ctl.sh"
    mkdir -p "$LDB_DIR/home"
    printf 'model_list: []\ngeneral_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n  store_model_in_db: true\n' > "$LDB_CONFIG"
    (umask 077; {
        printf 'LITELLM_MASTER_KEY=%s\nDATABASE_URL=%s\n' "$master" "$LDB_DATABASE_URL"
        if [[ -n $salt ]]; then printf 'LITELLM_SALT_KEY=%s\n' "$salt"; fi
    } > "$LDB_ENV")
    local engine="$LDB_ROOT/scripts/prisma-engine" tools="$LDB_ROOT/.tools"
    cat > "$LDB_CTL" <<EOF
#!/bin/sh
# start | stop | restart | kill the bench LiteLLM with a database; bounded
# waits; keys and DATABASE_URL from litellm.env at each start.
set -u
dir='$LDB_DIR'
pidfile="\$dir/litellm.pid"
alive() {
    [ -s "\$pidfile" ] || return 1
    state=\$(sed 's/.*) //' "/proc/\$(cat "\$pidfile")/stat" 2>/dev/null | cut -d' ' -f1)
    [ -n "\$state" ] && [ "\$state" != Z ]
}
stop() {
    alive || { rm -f "\$pidfile"; return 0; }
    pid=\$(cat "\$pidfile"); kill -"\$1" "-\$pid" 2>/dev/null; i=0
    while alive; do
        i=\$((i + 1)); [ \$i -eq 100 ] && kill -KILL "-\$pid" 2>/dev/null
        [ \$i -ge 200 ] && { echo "ctl.sh: LiteLLM does not stop" >&2; exit 1; }
        sleep 0.1
    done
    kill -KILL "-\$pid" 2>/dev/null
    rm -f "\$pidfile"
}
start() {
    rm -f "\$pidfile"
    cd "\$dir" || exit 1
    env -i HOME="\$dir/home" PATH='$engine/cli:$PATH' LANG=C.UTF-8 \\
        LITELLM_LOCAL_MODEL_COST_MAP=True LITELLM_DONT_SHOW_FEEDBACK_BOX=True DISABLE_SCHEMA_UPDATE=true \\
        PYTHONPATH='$tools/prisma-client' PRISMA_QUERY_ENGINE_BINARY='$engine/engine.mjs' \\
        PRISMA_SCHEMA_ENGINE_BINARY='$engine/schema-engine' PRISMA_BINARY_CACHE_DIR='$tools/prisma-engine' \\
        PRISMA_ENGINES_CHECKSUM_IGNORE_MISSING=1 PRISMA_HIDE_UPDATE_MESSAGE=1 CHECKPOINT_DISABLE=1 \\
        setsid sh -c 'echo \$\$ > "\$1/litellm.pid"; set -a; . "\$1/litellm.env"; set +a
            exec "\$2" --config "\$1/config.yaml" --host 127.0.0.1 --port "\$3" --telemetry False' \\
        sh "\$dir" '$tools/venv/bin/litellm' $LDB_PORT </dev/null >>"\$dir/litellm.log" 2>&1 &
    i=0; until [ -s "\$pidfile" ]; do i=\$((i + 1)); [ \$i -ge 100 ] && exit 1; sleep 0.05; done
}
case "\${1:-}" in start) start ;; stop) stop TERM ;; restart) stop TERM; start ;; kill) stop KILL ;;
    *) echo "usage: ctl.sh start|stop|restart|kill" >&2; exit 2 ;; esac
EOF
    chmod 755 "$LDB_CTL"
    "$LDB_CTL" start && litellm_db_wait_ready
}

litellm_db_stop() { # LiteLLM (its group: the query engine too), the echo, PostgreSQL; by PID
    if [[ -n ${LDB_CTL:-} && -x $LDB_CTL ]]; then "$LDB_CTL" kill; fi
    if [[ -n ${LDB_ECHO_PID:-} ]]; then kill "$LDB_ECHO_PID" 2>/dev/null || true; fi
    if [[ -n ${LDB_PG_PID:-} ]]; then
        kill -QUIT "$LDB_PG_PID" 2>/dev/null || true
        local i
        for ((i = 0; i < 200; i++)); do
            kill -0 "$LDB_PG_PID" 2>/dev/null || break
            sleep 0.05
        done
        kill -KILL "$LDB_PG_PID" 2>/dev/null || true
    fi
    if [[ -n ${LDB_PG:-} ]]; then rm -rf "$LDB_PG"; fi
    LDB_CTL= LDB_ECHO_PID= LDB_PG_PID= LDB_PG=
    return 0
}

# litellm_db_store_model MASTER NAME API_KEY: a model stored through /model/new
# (openai/echo at the echo upstream, API_KEY its provider key); waits until it answers.
litellm_db_store_model() {
    local i
    litellm_db_call "$1" POST /model/new \
        "{\"model_name\":\"$2\",\"litellm_params\":{\"model\":\"openai/echo\",\"api_key\":\"$3\",\"api_base\":\"$LDB_ECHO_URL/v1\"}}"
    [[ $LDB_STATUS == 200 ]] || { echo "litellm_db: /model/new answered $LDB_STATUS" >&2; return 1; }
    for ((i = 0; i < 100; i++)); do
        litellm_db_chat "$1" "$2"
        [[ $LDB_STATUS == 200 ]] && return 0
        sleep 0.3
    done
    return 1
}

# litellm_db_chat KEY MODEL: one chat completion; sets LDB_STATUS and
# LDB_CONTENT (from the echo: the fingerprint of the key LiteLLM sent it).
litellm_db_chat() {
    litellm_db_call "$1" POST /v1/chat/completions "{\"model\":\"$2\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
    LDB_CONTENT="$(printf '%s' "$LDB_BODY" | python3 -c 'import json,sys
try: print(json.load(sys.stdin)["choices"][0]["message"]["content"])
except Exception: print("")')"
}

# litellm_db_generate_key MASTER ALIAS: a new virtual key in LDB_KEY.
litellm_db_generate_key() {
    litellm_db_call "$1" POST /key/generate "{\"key_alias\":\"$2\"}"
    [[ $LDB_STATUS == 200 ]] || { echo "litellm_db: /key/generate answered $LDB_STATUS" >&2; return 1; }
    LDB_KEY="$(printf '%s' "$LDB_BODY" | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    set -euo pipefail
    [[ ${1:-} == selftest ]] || exit 0 # scripts/bench runs each part: nothing to measure here
    dir="$(mktemp -d)"
    trap 'litellm_db_stop; rm -rf "$dir"' EXIT
    master="sk-$(head -c 48 /dev/urandom | base64 | tr -dc A-Za-z0-9 | head -c 43)"
    upstream="sk-upstream-$RANDOM$RANDOM"
    t0=$(date +%s.%N)
    litellm_db_start "$dir/db" "$master"
    echo "litellm_db: ready in $(python3 -c "print(round($(date +%s.%N) - $t0, 1))") s" >&2
    litellm_db_store_model "$master" stored "$upstream"
    litellm_db_chat "$master" stored
    want="$(printf '%s' "$upstream" | sha256sum | cut -c1-8)"
    [[ $LDB_CONTENT == "$want" ]] || { echo "litellm_db: the stored model answered '$LDB_CONTENT', not $want" >&2; exit 1; }
    litellm_db_generate_key "$master" bench
    litellm_db_chat "$LDB_KEY" stored
    [[ $LDB_STATUS == 200 ]] || { echo "litellm_db: a virtual key got $LDB_STATUS" >&2; exit 1; }
    echo "litellm_db: selftest ok (stored model answered with its key; a virtual key works)" >&2
fi
