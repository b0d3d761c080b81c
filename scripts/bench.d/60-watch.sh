#!/usr/bin/env bash
# litekeys-watch: how fast it reacts, what it costs when idle.
#   - reaction latency at the default debounce (quiet 500 ms): a write to
#     litellm.env (a hand edit) → the restart command has started; median of
#     WATCH_RUNS (default 10). Also the source replaced by rename with a new
#     key → `litekeys-rotate sync` → restart started, when that command works.
#   - an idle watcher over WATCH_IDLE_SECS (default 60; set it lower for a
#     quick run, report 60): CPU time (utime+stime, /proc/PID/stat) and
#     wake-ups (voluntary context switches summed over every thread,
#     /proc/PID/task/*/status).
#   - peak RSS (VmHWM).
# Targets: latency <= debounce + 50 ms; idle CPU ~ 0 with no periodic
# wake-ups; RSS <= 10 MiB. The rate limit is off (--min-interval 0ms) so that
# runs back to back each restart; no gateway is verified (--no-verify).
# The restart command is `sh` appending `date +%s.%N`: its own start-up
# (~1-2 ms) is counted in the latency.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROOT="${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}"
BIN="${BIN:-$ROOT/target/release}"
BENCH_TMP="${BENCH_TMP:-$(mktemp -d)}"
export PATH="$ROOT/.tools/venv/bin:$PATH" SOPS_DISABLE_VERSION_CHECK=1
dir="$BENCH_TMP/watch"
rm -rf "$dir"
mkdir -p "$dir/home/.config/sops/age" "$dir/home/.config/lab-secrets" "$dir/home/.local/state" "$dir/secrets"
export HOME="$dir/home" XDG_CONFIG_HOME="$dir/home/.config" XDG_STATE_HOME="$dir/home/.local/state"
unset JOURNAL_STREAM NOTIFY_SOCKET SOPS_AGE_KEY SOPS_AGE_KEY_FILE SOPS_AGE_KEY_CMD LITEKEYS_CONFIG || true
recipient="$(identity "$XDG_CONFIG_HOME/sops/age/keys.txt")"
salt="$(newkey)"
source_for() { # $1: master key → the encrypted source on stdout
    printf 'LITELLM_MASTER_KEY=%s\nLITELLM_SALT_KEY=%s\n' "$1" "$salt" | encrypt "$recipient"
}
master="$(newkey)"
source_for "$master" > "$dir/secrets/global.enc.env"
printf 'LITELLM_MASTER_KEY=%s\nLITELLM_SALT_KEY=%s\n' "$master" "$salt" > "$dir/home/.config/lab-secrets/litellm.env"
cat > "$dir/restart.sh" <<EOF
#!/bin/sh
date +%s.%N >> '$dir/restarts'
EOF
chmod +x "$dir/restart.sh"
: > "$dir/restarts"
cat > "$dir/litekeys.toml" <<EOF
source = "secrets/global.enc.env"
[service]
manager = "command"
command = ["$dir/restart.sh"]
[[sink]]
kind = "dotenv"
path = "~/.config/lab-secrets/litellm.env"
keys = ["LITELLM_MASTER_KEY", "LITELLM_SALT_KEY"]
EOF
# Encrypted sources for the source runs, made ahead (sops takes ~50 ms).
runs="${WATCH_RUNS:-10}"
for i in $(seq 1 "$runs"); do source_for "$(newkey)" > "$dir/secrets/.next-$i"; done
sync_ok=0
"$BIN/litekeys-rotate" sync --no-restart --config "$dir/litekeys.toml" >/dev/null 2>&1 && sync_ok=1

"$BIN/litekeys-watch" --config "$dir/litekeys.toml" --min-interval 0ms --no-verify 2> "$dir/watch.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT

WATCH_PID=$pid WATCH_DIR="$dir" WATCH_RUNS="$runs" WATCH_SYNC="$sync_ok" \
WATCH_IDLE_SECS="${WATCH_IDLE_SECS:-60}" python3 - <<'PY'
import glob, os, statistics, sys, time

pid = int(os.environ["WATCH_PID"]); d = os.environ["WATCH_DIR"]
runs = int(os.environ["WATCH_RUNS"]); idle = float(os.environ["WATCH_IDLE_SECS"])
env_file = f"{d}/home/.config/lab-secrets/litellm.env"
restarts = f"{d}/restarts"; log = f"{d}/watch.log"

def lines(path):
    with open(path) as f:
        return f.read().splitlines()

def wait(pred, what, bound=30.0):
    end = time.time() + bound
    while time.time() < end:
        if pred():
            return
        time.sleep(0.001)
    sys.exit(f"60-watch: no {what} within {bound}s; log:\n" + "\n".join(lines(log)))

def status(key):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])

def switches():
    vol = invol = 0
    for st in glob.glob(f"/proc/{pid}/task/*/status"):
        for line in open(st):
            if line.startswith("voluntary_ctxt_switches:"):
                vol += int(line.split()[1])
            elif line.startswith("nonvoluntary_ctxt_switches:"):
                invol += int(line.split()[1])
    return vol, invol

def cpu_ms():
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")

wait(lambda: any("watching" in l for l in lines(log)), "'watching' line")

def react(change):
    before = len(lines(restarts))
    t0 = time.time()
    change()
    wait(lambda: len(lines(restarts)) > before, "restart")
    started = float(lines(restarts)[before])
    time.sleep(1.0)  # let the watcher settle (it reads back its own work)
    return (started - t0) * 1000

def edit(i):
    def do():
        with open(env_file, "a") as f:
            f.write(f"# edit {i}\n")
    return do

def replace(i):
    def do():
        os.rename(f"{d}/secrets/.next-{i}", f"{d}/secrets/global.enc.env")
    return do

rows = []
sink = [react(edit(i)) for i in range(runs)]
rows.append(("litellm.env write → restart started (quiet 500 ms)", statistics.median(sink),
             f"min {min(sink):.0f}, max {max(sink):.0f}"))
if os.environ["WATCH_SYNC"] == "1":
    src = [react(replace(i)) for i in range(1, runs + 1)]
    rows.append(("source rename → sync → restart started", statistics.median(src),
                 f"min {min(src):.0f}, max {max(src):.0f}"))
else:
    print("60-watch: `litekeys-rotate sync` does not work yet: source latency not measured", file=sys.stderr)

time.sleep(1.0)
v0, n0 = switches(); c0 = cpu_ms()
time.sleep(idle)
v1, n1 = switches(); c1 = cpu_ms()
hwm = status("VmHWM") / 1024
out = []
for name, median, spread in rows:
    out.append(f"| watch: {name} | `litekeys-watch` ({spread}, {runs} runs) | {median:.1f} ms | – | {hwm:.1f} MiB |")
out.append(f"| watch: idle {idle:.0f} s | `litekeys-watch` CPU {c1 - c0:.1f} ms, {v1 - v0} wake-ups ({n1 - n0} involuntary) | – | – | {hwm:.1f} MiB |")
print("\n".join(out))
if os.environ.get("BENCH_OUT"):
    with open(os.environ["BENCH_OUT"], "a") as f:
        f.write("\n".join(out) + "\n")
PY
