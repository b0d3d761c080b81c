#!/usr/bin/env bash
# The real LiteLLM (project venv) on 127.0.0.1, offline, restarted the way
# the `command` service manager does it (ctl.sh restart: TERM, then start
# reading the key from litellm.env like systemd's EnvironmentFile=).
# Reports medians over GATEWAY_RUNS restarts (default 5), each with a new key:
#   - restart → /health/liveliness 200
#   - restart → new key 200 on /v1/models (the LiteLLM restart time alone)
#   - the window in which neither the old nor the new key is accepted
# and the cold start once. Then the full rotation: `litekeys-rotate` with
# `manager = "command"` (ctl.sh restart) and the dotenv sink litellm.env,
# GATEWAY_RUNS times, each after a bare `ctl.sh restart` (until the key
# gets 200) so that load drift hits both alike: the rotation's total time
# (process start to exit: lock, journal, encrypted backups, source, sink,
# restart, verification, audit line), the bare restart, the rotation's
# neither-key window, and litekeys' own share (total minus its restart
# command and the wait until live). Target: total <= bare restart + 1 s.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
dir="$BENCH_TMP/gateway"
mkdir -p "$dir/home"
litellm="$ROOT/.tools/venv/bin/litellm"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

cat > "$dir/config.yaml" <<'EOF'
model_list:
  - model_name: m
    litellm_params:
      model: openai/fake
      api_key: fake
      mock_response: "ok"
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
EOF
printf 'LITELLM_MASTER_KEY=%s\n' "$(newkey)" > "$dir/litellm.env"
chmod 600 "$dir/litellm.env"

cat > "$dir/ctl.sh" <<EOF
#!/bin/sh
# start | restart | kill the bench LiteLLM; bounded waits; key from litellm.env.
set -u
dir='$dir'
pidfile="\$dir/litellm.pid"
alive() {
    [ -s "\$pidfile" ] || return 1
    state=\$(sed 's/.*) //' "/proc/\$(cat "\$pidfile")/stat" 2>/dev/null | cut -d' ' -f1)
    [ -n "\$state" ] && [ "\$state" != Z ]
}
stop() {
    alive || return 0
    pid=\$(cat "\$pidfile"); kill -"\$1" "-\$pid" 2>/dev/null; i=0
    while alive; do
        i=\$((i + 1)); [ \$i -eq 100 ] && kill -KILL "-\$pid" 2>/dev/null
        [ \$i -ge 200 ] && { echo "ctl.sh: LiteLLM does not stop" >&2; exit 1; }
        sleep 0.1
    done
    rm -f "\$pidfile"
}
start() {
    rm -f "\$pidfile"
    env -i HOME="\$dir/home" PATH="$PATH" LANG=C.UTF-8 \\
        LITELLM_LOCAL_MODEL_COST_MAP=True LITELLM_DONT_SHOW_FEEDBACK_BOX=True \\
        setsid sh -c 'echo \$\$ > "\$1/litellm.pid"; set -a; . "\$1/litellm.env"; set +a
            exec "\$2" --config "\$1/config.yaml" --host 127.0.0.1 --port "\$3" --telemetry False' \\
        sh "\$dir" '$litellm' $port </dev/null >>"\$dir/litellm.log" 2>&1 &
    i=0; until [ -s "\$pidfile" ]; do i=\$((i + 1)); [ \$i -ge 100 ] && exit 1; sleep 0.05; done
}
case "\$1" in start) start ;; restart) stop TERM; start ;; kill) stop KILL ;; esac
EOF
chmod 755 "$dir/ctl.sh"
trap '"$dir/ctl.sh" kill' EXIT

BENCH_D="$(dirname "${BASH_SOURCE[0]}")" python3 - "$dir" "$port" "${GATEWAY_RUNS:-5}" <<'EOF'
import os, secrets, statistics, string, subprocess, sys, time
sys.path.insert(0, os.environ["BENCH_D"])
import gateway_probe
d, port, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
base = f"http://127.0.0.1:{port}"

def status(path, key=None):
    return gateway_probe.status(base, path, key)

def until(pred, t0, what):
    return gateway_probe.until(pred, t0, what, log=os.path.join(d, "litellm.log"))

def key_in_file():
    return open(os.path.join(d, "litellm.env")).read().split("=", 1)[1].strip()

t0 = time.perf_counter()
subprocess.run([os.path.join(d, "ctl.sh"), "start"], check=True)
cold = until(lambda: status("/health/liveliness") == 200, t0, "cold start")

live, accepted, window = [], [], []
for _ in range(runs):
    old = key_in_file()
    new = "sk-" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(43))
    with open(os.path.join(d, "litellm.env"), "w") as f:
        f.write(f"LITELLM_MASTER_KEY={new}\n")
    # Watch both keys from before the restart: the last time the old key
    # got 200 and the first time the new one did bound the window.
    w = gateway_probe.Window(base, old, lambda: new)
    time.sleep(0.1)
    t0 = time.perf_counter()
    subprocess.run([os.path.join(d, "ctl.sh"), "restart"], check=True)
    live.append(until(lambda: status("/health/liveliness") == 200, t0, "liveliness after restart"))
    accepted.append(until(lambda: status("/v1/models", new) == 200, t0, "new key accepted"))
    until(lambda: w.first_new is not None, t0, "watcher saw the new key")
    w.stop()
    if status("/v1/models", old) == 200:
        sys.exit("50-gateway: the old key is still accepted after the restart")
    window.append(w.width(t0))

rows = [
    ("gateway cold start", "litellm → liveliness 200 (once)", cold),
    ("gateway restart", "ctl.sh restart → liveliness 200", statistics.median(live)),
    ("gateway restart", "ctl.sh restart → new key 200", statistics.median(accepted)),
    ("gateway restart", "neither key accepted (window)", statistics.median(window)),
]
out = "\n".join(f"| {n} | `{c}` | {t * 1000:.0f} ms | - | - |" for n, c, t in rows)
print(out)
print(f"50-gateway: {runs} restarts; new key accepted after: " + ", ".join(f"{a:.2f} s" for a in accepted), file=sys.stderr)
if os.environ.get("BENCH_OUT"):
    with open(os.environ["BENCH_OUT"], "a") as f:
        f.write(out + "\n")
EOF

# The full rotation. The source holds the key LiteLLM runs on now.
home="$dir/home"
mkdir -p "$dir/repo/secrets"
recipient="$(identity "$home/.config/sops/age/keys.txt")"
{ cat "$dir/litellm.env"; printf 'LITELLM_SALT_KEY=%s\n' "$(newkey)"; } |
    encrypt "$recipient" > "$dir/repo/secrets/global.enc.env"
cat > "$dir/repo/litekeys.toml" <<EOF
source = "secrets/global.enc.env"
[gateway]
url = "http://127.0.0.1:$port"
timeout = 180
[service]
manager = "command"
command = ["$dir/ctl.sh", "restart"]
timeout = 180
[[sink]]
kind = "dotenv"
path = "$dir/litellm.env"
keys = ["LITELLM_MASTER_KEY"]
EOF

HOME="$home" XDG_CONFIG_HOME="$home/.config" XDG_STATE_HOME="$home/.local/state" \
SOPS_AGE_KEY_FILE="$home/.config/sops/age/keys.txt" LITEKEYS_CONFIG="$dir/repo/litekeys.toml" \
BENCH_D="$(dirname "${BASH_SOURCE[0]}")" python3 - "$dir" "$port" "${GATEWAY_RUNS:-5}" "$BIN/litekeys-rotate" <<'EOF'
import os, re, statistics, subprocess, sys, time
sys.path.insert(0, os.environ["BENCH_D"])
from gateway_probe import until
import gateway_probe
d, port, runs, rotate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
base = f"http://127.0.0.1:{port}"

def status(path, key=None):
    return gateway_probe.status(base, path, key)

def key_in_file():
    for line in open(os.path.join(d, "litellm.env")):
        if line.startswith("LITELLM_MASTER_KEY="):
            return line.split("=", 1)[1].strip()

total, bare, own, window, command, live = [], [], [], [], [], []
for _ in range(runs):
    old = key_in_file()
    t0 = time.perf_counter()
    subprocess.run([os.path.join(d, "ctl.sh"), "restart"], check=True)
    bare.append(until(lambda: status("/v1/models", old) == 200, t0, "key accepted after a bare restart"))
    # The new key is unknown until the sink holds it: the watcher reads the
    # sink each round and probes with whatever new key it finds there.
    w = gateway_probe.Window(base, old, key_in_file)
    time.sleep(0.1)
    t0 = time.perf_counter()
    out = subprocess.run([rotate, "--yes"], capture_output=True, text=True, timeout=600)
    total.append(time.perf_counter() - t0)
    w.stop()
    print(out.stdout.strip(), file=sys.stderr)
    if out.returncode != 0 or "; verified: " not in out.stdout:
        sys.exit(f"50-gateway: litekeys-rotate exited {out.returncode}: {out.stderr.strip()} {out.stdout.strip()}")
    m = re.search(r'restarted \(manager "command"\) in ([0-9.]+) s; .* live after ([0-9.]+) s', out.stdout)
    command.append(float(m.group(1)))
    live.append(float(m.group(2)))
    own.append(total[-1] - command[-1] - live[-1])
    if w.first_new is None:
        sys.exit("50-gateway: the watcher never saw the new key accepted")
    window.append(w.width(t0))
    if status("/v1/models", old) == 200:
        sys.exit("50-gateway: the old key is still accepted after the rotation")

med, restart = statistics.median(total), statistics.median(bare)
rows = [
    ("rotation + LiteLLM", "litekeys-rotate --yes (command manager), total", med),
    ("rotation + LiteLLM", "bare ctl.sh restart -> key 200 (alternated)", restart),
    ("rotation + LiteLLM", "its restart command (ctl.sh restart)", statistics.median(command)),
    ("rotation + LiteLLM", "then until live (litekeys-rotate polls liveliness)", statistics.median(live)),
    ("rotation + LiteLLM", "neither key accepted (window)", statistics.median(window)),
    ("rotation + LiteLLM", "litekeys' own share (total - restart - wait until live)", statistics.median(own)),
]
out = "\n".join(f"| {n} | `{c}` | {t * 1000:.0f} ms | - | - |" for n, c, t in rows)
print(out)
verdict = "met" if med <= restart + 1.0 else "MISSED"
print(f"50-gateway: {runs} rotations; total: " + ", ".join(f"{t:.2f} s" for t in total)
      + f"; target total <= restart {restart:.2f} s + 1 s: {verdict}", file=sys.stderr)
if os.environ.get("BENCH_OUT"):
    with open(os.environ["BENCH_OUT"], "a") as f:
        f.write(out + "\n")
EOF
