#!/usr/bin/env bash
# LiteLLM with a database (issue 15), part (a): a master-key rotation with no
# salt key (/key/regenerate, then the restart) while a client loop, like a
# Droid session, reads the key from the Droid sink (settings.json) before
# every request and sends one chat completion to a model stored through
# /model/new every 50 ms. Reported: the requests that failed, the gap
# (first to last failure), the rotation's total time, and LiteLLM's own
# restart time (ctl.sh restart until ready with its database) measured on the
# same proxy; target: the gap no longer than that restart. DB_RUNS rotations
# (default 2). Every process is stopped by PID (litellm_db_stop).
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
source "$here/lib.sh"
source "$here/litellm_db.sh"
ROOT="${ROOT:-$(cd "$here/../.." && pwd)}"
BIN="${BIN:-$ROOT/target/release}"
BENCH_TMP="${BENCH_TMP:-$(mktemp -d)}"
export PATH="$ROOT/.tools/venv/bin:$PATH" SOPS_DISABLE_VERSION_CHECK=1
dir="$BENCH_TMP/database-master"
rm -rf "$dir"
mkdir -p "$dir/home/.config/sops/age" "$dir/home/.local/state" "$dir/home/.factory" "$dir/repo/secrets"
export HOME="$dir/home" XDG_CONFIG_HOME="$dir/home/.config" XDG_STATE_HOME="$dir/home/.local/state"
unset SOPS_AGE_KEY SOPS_AGE_KEY_FILE SOPS_AGE_KEY_CMD LITEKEYS_CONFIG LITELLM_SALT_KEY DATABASE_URL || true
recipient="$(identity "$XDG_CONFIG_HOME/sops/age/keys.txt")"
master="$(newkey)"
upstream="sk-upstream-$(newkey | tail -c 24)"
printf 'LITELLM_MASTER_KEY=%s\n' "$master" | encrypt "$recipient" > "$dir/repo/secrets/global.enc.env"

trap litellm_db_stop EXIT
litellm_db_start "$dir/db" "$master"
litellm_db_store_model "$master" stored "$upstream"
chmod 600 "$LDB_ENV"
(umask 077; printf '{\n  "customModels": [\n    {"model": "stored", "baseUrl": "%s/v1", "apiKey": "%s", "provider": "generic-chat-completion-api"}\n  ]\n}\n' \
    "$LDB_URL" "$master" > "$dir/home/.factory/settings.json")
printf '%s\n' \
    'source = "secrets/global.enc.env"' \
    '[gateway]' \
    "url = \"$LDB_URL\"" \
    'timeout = 180' \
    '[service]' \
    'manager = "command"' \
    "command = [\"$LDB_CTL\", \"restart\"]" \
    'timeout = 120' \
    '[[sink]]' \
    'kind = "dotenv"' \
    "path = \"$LDB_ENV\"" \
    '[[sink]]' \
    'kind = "droid"' \
    'path = "~/.factory"' > "$dir/repo/litekeys.toml"
(cd "$dir/repo" && "$BIN/litekeys-rotate" trust litekeys.toml >/dev/null &&
    "$BIN/litekeys-rotate" trust secrets/global.enc.env >/dev/null)

# LiteLLM's own restart, on the same proxy and database (the key unchanged).
restarts=()
for _ in 1 2; do
    t0=$(date +%s.%N)
    "$LDB_CTL" restart
    litellm_db_wait_ready
    restarts+=("$(python3 -c "print($(date +%s.%N) - $t0)")")
done

DB_DIR="$dir" DB_URL="$LDB_URL" DB_BIN="$BIN" DB_RUNS="${DB_RUNS:-2}" \
    DB_RESTARTS="${restarts[*]}" DB_WANT="$(printf '%s' "$upstream" | sha256sum | cut -c1-8)" python3 - <<'PY'
import json, os, statistics, subprocess, sys, threading, time, urllib.error, urllib.request

d = os.environ["DB_DIR"]; url = os.environ["DB_URL"]; runs = int(os.environ["DB_RUNS"])
want = os.environ["DB_WANT"]
restart = statistics.median(float(x) for x in os.environ["DB_RESTARTS"].split())
settings = f"{d}/home/.factory/settings.json"

def request():
    """The key from the Droid sink, then one chat completion: ok or not."""
    try:
        with open(settings) as f:
            key = json.load(f)["customModels"][0]["apiKey"]
    except (OSError, ValueError, KeyError):
        return False  # being replaced: Droid would retry the read
    body = json.dumps({"model": "stored", "messages": [{"role": "user", "content": "hi"}]}).encode()
    req = urllib.request.Request(f"{url}/v1/chat/completions", data=body, headers={
        "Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            reply = json.load(r)
        return reply["choices"][0]["message"]["content"] == want
    except (urllib.error.URLError, OSError, ValueError, KeyError):
        return False

rows = []
for i in range(runs):
    log, stop = [], threading.Event()
    def loop():
        while not stop.is_set():
            t = time.time()
            log.append((t, request()))
            time.sleep(max(0.0, 0.05 - (time.time() - t)))
    th = threading.Thread(target=loop); th.start()
    time.sleep(1.0)
    t0 = time.time()
    out = subprocess.run([f"{os.environ['DB_BIN']}/litekeys-rotate", "--yes"], cwd=f"{d}/repo",
                         capture_output=True, text=True)
    total = time.time() - t0
    time.sleep(1.0)
    stop.set(); th.join()
    if out.returncode != 0:
        sys.exit(f"90-database: the rotation failed ({out.returncode}): {out.stderr.strip()}")
    if "1 stored model(s) served with the new key" not in out.stdout:
        sys.exit(f"90-database: the stored model was not checked: {out.stdout.strip()}")
    failed = [t for t, ok in log if not ok]
    gap = (failed[-1] - failed[0] + 0.05) if failed else 0.0
    if log and not log[-1][1]:
        sys.exit("90-database: the stored model does not answer after the rotation")
    rows.append((len(failed), len(log), gap, total))

fails = statistics.median(r[0] for r in rows)
gap = statistics.median(r[2] for r in rows)
total = statistics.median(r[3] for r in rows)
sent = sum(r[1] for r in rows)
verdict = "ok" if gap <= restart * 1.1 else "over"
out = [f"| database (a): master-key rotation, no salt key (/key/regenerate + restart), client every 50 ms "
       f"reading settings.json | `litekeys-rotate` ({runs} runs, {sent} requests; failed per run "
       f"{', '.join(str(r[0]) for r in rows)}; gap {gap:.1f} s vs LiteLLM's own restart {restart:.1f} s: {verdict}) | "
       f"{total:.1f} s total | gap/restart {gap / restart:.2f} | – |"]
print("\n".join(out))
if os.environ.get("BENCH_OUT"):
    with open(os.environ["BENCH_OUT"], "a") as f:
        f.write("\n".join(out) + "\n")
PY

# Part (b), on the same proxy: a virtual-key rotation (`--key
# LITELLM_DROID_KEY`: /key/generate before any sink names the new key, the
# old one deleted at once, grace 0s, no restart) while the same client loop
# reads the virtual key from the Droid sink. Reported: failed requests and
# the rotation's total time; targets: 0 failed, under 1 s. VK_RUNS rotations
# (default 5); each must leave LiteLLM's PID as it was.
vdir="$BENCH_TMP/database-virtual"
rm -rf "$vdir"
mkdir -p "$vdir/home/.config/sops/age" "$vdir/home/.local/state" "$vdir/home/.factory" "$vdir/repo/secrets"
export HOME="$vdir/home" XDG_CONFIG_HOME="$vdir/home/.config" XDG_STATE_HOME="$vdir/home/.local/state"
recipient="$(identity "$XDG_CONFIG_HOME/sops/age/keys.txt")"
# Part (a) rotated the master key: the one LiteLLM runs on is in its dotenv.
master="$(sed -n 's/^LITELLM_MASTER_KEY=//p' "$LDB_ENV")"
litellm_db_generate_key "$master" droid
printf 'LITELLM_MASTER_KEY=%s\nLITELLM_DROID_KEY=%s\n' "$master" "$LDB_KEY" | encrypt "$recipient" > "$vdir/repo/secrets/global.enc.env"
(umask 077; printf '{\n  "customModels": [\n    {"model": "stored", "baseUrl": "%s/v1", "apiKey": "%s", "provider": "generic-chat-completion-api"}\n  ]\n}\n' \
    "$LDB_URL" "$LDB_KEY" > "$vdir/home/.factory/settings.json")
unset LDB_KEY
printf '%s\n' \
    'source = "secrets/global.enc.env"' \
    '[gateway]' \
    "url = \"$LDB_URL\"" \
    '[service]' \
    'manager = "command"' \
    "command = [\"$LDB_CTL\", \"restart\"]" \
    '[[sink]]' \
    'kind = "droid"' \
    'path = "~/.factory"' \
    'key = "LITELLM_DROID_KEY"' \
    '[[virtual_key]]' \
    'name = "LITELLM_DROID_KEY"' \
    'alias = "droid"' \
    'grace = "0s"' > "$vdir/repo/litekeys.toml"
(cd "$vdir/repo" && "$BIN/litekeys-rotate" trust litekeys.toml >/dev/null &&
    "$BIN/litekeys-rotate" trust secrets/global.enc.env >/dev/null)

DB_DIR="$vdir" DB_URL="$LDB_URL" DB_BIN="$BIN" DB_RUNS="${VK_RUNS:-5}" DB_PIDFILE="$LDB_DIR/litellm.pid" \
    DB_WANT="$(printf '%s' "$upstream" | sha256sum | cut -c1-8)" python3 - <<'PY'
import json, os, statistics, subprocess, sys, threading, time, urllib.error, urllib.request

d = os.environ["DB_DIR"]; url = os.environ["DB_URL"]; runs = int(os.environ["DB_RUNS"])
want = os.environ["DB_WANT"]
settings = f"{d}/home/.factory/settings.json"
pid = lambda: open(os.environ["DB_PIDFILE"]).read().strip()

def request():
    """The key from the Droid sink, then one chat completion: ok or not."""
    try:
        with open(settings) as f:
            key = json.load(f)["customModels"][0]["apiKey"]
    except (OSError, ValueError, KeyError):
        return False
    body = json.dumps({"model": "stored", "messages": [{"role": "user", "content": "hi"}]}).encode()
    req = urllib.request.Request(f"{url}/v1/chat/completions", data=body, headers={
        "Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            reply = json.load(r)
        return reply["choices"][0]["message"]["content"] == want
    except (urllib.error.URLError, OSError, ValueError, KeyError):
        return False

rows, before = [], pid()
for i in range(runs):
    log, stop = [], threading.Event()
    def loop():
        while not stop.is_set():
            t = time.time()
            log.append((t, request()))
            time.sleep(max(0.0, 0.05 - (time.time() - t)))
    th = threading.Thread(target=loop); th.start()
    time.sleep(0.5)
    t0 = time.time()
    out = subprocess.run([f"{os.environ['DB_BIN']}/litekeys-rotate", "--key", "LITELLM_DROID_KEY", "--yes", "--no-scan"],
                         cwd=f"{d}/repo", capture_output=True, text=True)
    total = time.time() - t0
    time.sleep(0.5)
    stop.set(); th.join()
    if out.returncode != 0:
        sys.exit(f"90-database (b): the rotation failed ({out.returncode}): {out.stderr.strip()}")
    if "no restart" not in out.stdout or "deleted at the gateway" not in out.stdout:
        sys.exit(f"90-database (b): not a virtual-key rotation: {out.stdout.strip()}")
    if pid() != before:
        sys.exit("90-database (b): LiteLLM was restarted")
    rows.append((sum(1 for _, ok in log if not ok), len(log), total))

fails = [r[0] for r in rows]
total = statistics.median(r[2] for r in rows)
sent = sum(r[1] for r in rows)
verdict = "ok" if max(fails) == 0 and total < 1.0 else "over"
out = [f"| database (b): virtual-key rotation (--key, /key/generate + /key/delete, no restart), client every 50 ms "
       f"reading settings.json | `litekeys-rotate --key` ({runs} runs, {sent} requests; failed per run "
       f"{', '.join(str(f) for f in fails)}; target 0 failed, under 1 s: {verdict}) | {total * 1000:.0f} ms total "
       f"(max {max(r[2] for r in rows) * 1000:.0f} ms) | – | – |"]
print("\n".join(out))
if os.environ.get("BENCH_OUT"):
    with open(os.environ["BENCH_OUT"], "a") as f:
        f.write("\n".join(out) + "\n")
PY
