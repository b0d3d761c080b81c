#!/usr/bin/env bash
# The fleet through git: time from A's push (`git push` returned: the
# commit is on the remote) to C's sinks holding the new key, C running
# `litekeys-watch` with `[git] pull_every = "2s"` (it fetches, verifies the
# new source, syncs and restarts by itself). Median and max of FLEET_RUNS
# (default 5). A push lands at a random point of C's interval, so the max is
# what the target bounds: <= the interval + 1 s (3 s). A bare repository is
# the remote; A is a clone; C's secrets/ is another. No gateway is verified
# (--no-verify); the restart command is `sh` appending the time.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROOT="${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}"
BIN="${BIN:-$ROOT/target/release}"
BENCH_TMP="${BENCH_TMP:-$(mktemp -d)}"
export PATH="$ROOT/.tools/venv/bin:$PATH" SOPS_DISABLE_VERSION_CHECK=1
dir="$BENCH_TMP/fleet"
rm -rf "$dir"
mkdir -p "$dir/home/.config/sops/age" "$dir/home/.config/lab-secrets" "$dir/home/.local/state" "$dir/secrets"
export HOME="$dir/home" XDG_CONFIG_HOME="$dir/home/.config" XDG_STATE_HOME="$dir/home/.local/state"
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.invalid
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.invalid GIT_CONFIG_NOSYSTEM=1
unset JOURNAL_STREAM NOTIFY_SOCKET SOPS_AGE_KEY SOPS_AGE_KEY_FILE SOPS_AGE_KEY_CMD LITEKEYS_CONFIG || true
recipient="$(identity "$XDG_CONFIG_HOME/sops/age/keys.txt")"
salt="$(newkey)"
source_for() { # $1: master key → the encrypted source on stdout
    printf 'LITELLM_MASTER_KEY=%s\nLITELLM_SALT_KEY=%s\n' "$1" "$salt" | encrypt "$recipient"
}
master="$(newkey)"
source_for "$master" > "$dir/secrets/global.enc.env"
printf 'LITELLM_MASTER_KEY=%s\nLITELLM_SALT_KEY=%s\n' "$master" "$salt" > "$dir/home/.config/lab-secrets/litellm.env"
git init --quiet --bare "$dir/remote.git"
git -C "$dir/secrets" init --quiet
git -C "$dir/secrets" add global.enc.env
git -C "$dir/secrets" commit --quiet -m "the source"
git -C "$dir/secrets" remote add origin "$dir/remote.git"
git -C "$dir/secrets" push --quiet -u origin HEAD 2>/dev/null
git clone --quiet "$dir/remote.git" "$dir/a"
printf '#!/bin/sh\ndate +%%s.%%N >> %q\n' "$dir/restarts" > "$dir/restart.sh"
chmod +x "$dir/restart.sh"
printf '%s\n' \
    'source = "secrets/global.enc.env"' \
    '[service]' \
    'manager = "command"' \
    "command = [\"$dir/restart.sh\"]" \
    '[[sink]]' \
    'kind = "dotenv"' \
    'path = "~/.config/lab-secrets/litellm.env"' \
    'keys = ["LITELLM_MASTER_KEY", "LITELLM_SALT_KEY"]' \
    '[git]' \
    'pull_every = "2s"' > "$dir/litekeys.toml"
# A's rotated sources, made ahead (sops takes ~50 ms); the keys beside them.
runs="${FLEET_RUNS:-5}"
for i in $(seq 1 "$runs"); do
    k="$(newkey)"
    printf '%s' "$k" > "$dir/key-$i"
    source_for "$k" > "$dir/next-$i"
done

"$BIN/litekeys-watch" --config "$dir/litekeys.toml" --min-interval 0ms --no-verify 2> "$dir/watch.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT

FLEET_DIR="$dir" FLEET_RUNS="$runs" python3 - <<'PY'
import os, random, statistics, subprocess, sys, time

d = os.environ["FLEET_DIR"]; runs = int(os.environ["FLEET_RUNS"])
env_file = f"{d}/home/.config/lab-secrets/litellm.env"; log = f"{d}/watch.log"

def lines(path):
    with open(path) as f:
        return f.read().splitlines()

def wait(pred, what, bound=30.0):
    end = time.time() + bound
    while time.time() < end:
        if pred():
            return
        time.sleep(0.002)
    sys.exit(f"70-fleet: no {what} within {bound}s; log:\n" + "\n".join(lines(log)))

def git(*args):
    subprocess.run(["git", "-C", f"{d}/a", *args], check=True, capture_output=True)

wait(lambda: any("watching" in l for l in lines(log)), "'watching' line")
took = []
for i in range(1, runs + 1):
    time.sleep(random.uniform(0.5, 2.5))  # land anywhere in C's interval
    key = open(f"{d}/key-{i}").read()
    os.replace(f"{d}/next-{i}", f"{d}/a/global.enc.env")
    git("commit", "--quiet", "-am", f"rotate {i}")
    git("push", "--quiet")
    t0 = time.time()
    wait(lambda: f"LITELLM_MASTER_KEY={key}\n" in open(env_file).read(), f"new key {i} in C's sink")
    took.append((time.time() - t0) * 1000)
out = [f"| fleet: A's push → C's sinks hold the new key (pull_every 2s) | `litekeys-watch` "
       f"(min {min(took):.0f}, max {max(took):.0f}, {runs} runs; target max <= 3000) | "
       f"{statistics.median(took):.0f} ms | – | – |"]
print("\n".join(out))
if os.environ.get("BENCH_OUT"):
    with open(os.environ["BENCH_OUT"], "a") as f:
        f.write("\n".join(out) + "\n")
PY
