#!/usr/bin/env bash
# litekeys scan: a tree of 4 000 source files (Python, ~60 lines each) with
# the current master key planted in two of them and a superseded one (known
# only by its fingerprint in the audit log) in two more; whole process,
# alternating with `detect-secrets scan` (PyPI detect-secrets==1.5.0) on the
# same tree (--all-files: the tree is no git repository). Target: >= 10x
# faster, every planted key found. detect-secrets has no LiteLLM rule: it
# finds none of the four (measured: 0 results), and could not tell ours,
# current or old, from anyone's.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
dir="$BENCH_TMP/scan"
home="$dir/home"
tree="$dir/tree"
mkdir -p "$dir/repo/secrets" "$home/.local/state/litekeys" "$tree"
recipient="$(identity "$home/.config/sops/age/keys.txt")"
current="$(newkey)"
old="$(newkey)"
printf 'LITELLM_MASTER_KEY=%s\nLITELLM_SALT_KEY=%s\n' "$current" "$(newkey)" |
    encrypt "$recipient" > "$dir/repo/secrets/global.enc.env"
printf 'source = "secrets/global.enc.env"\n[service]\nmanager = "none"\n' > "$dir/repo/litekeys.toml"
fp() { printf %s "$1" | sha256sum | cut -c1-8; }
printf '2026-01-01T00:00:00Z host=bench action=rotate LITELLM_MASTER_KEY=%s->%s verified tx=000000000000\n' \
    "$(fp "$old")" "$(fp "$current")" > "$home/.local/state/litekeys/audit.log"
# The keys reach python through the environment, never argv.
CURRENT="$current" OLD="$old" TREE="$tree" python3 - <<'PY'
import os, random
random.seed(16)
tree, cur, old = os.environ["TREE"], os.environ["CURRENT"], os.environ["OLD"]
words = "def return import self value config client request token model route".split()
for i in range(4000):
    d = os.path.join(tree, f"pkg{i // 100:02d}")
    os.makedirs(d, exist_ok=True)
    lines = [f"# module {i}"] + [
        f"    {random.choice(words)}_{random.randrange(10**6)} = {random.choice(words)}({random.randrange(1000)})"
        for _ in range(60)
    ]
    if i in (7, 3001):
        lines[30] = f'API_KEY = "{cur}"'
    if i in (1234, 3999):
        lines[40] = f'OLD_KEY = "{old}"'
    with open(os.path.join(d, f"mod{i}.py"), "w") as f:
        f.write("\n".join(lines) + "\n")
PY
env=(HOME="$home" XDG_CONFIG_HOME="$home/.config" XDG_STATE_HOME="$home/.local/state"
     LITEKEYS_CONFIG="$dir/repo/litekeys.toml" SOPS_AGE_KEY_FILE="$home/.config/sops/age/keys.txt")
# Every planted key found, with its state; never a key on stdout.
found="$(env "${env[@]}" "$BIN/litekeys" scan "$tree" || test $? = 10)"
[[ $(grep -c '(current, ' <<< "$found") == 2 && $(grep -c '(old, ' <<< "$found") == 2 ]] ||
    { echo "80-scan: expected 2 current + 2 old, got: $found" >&2; exit 1; }
! grep -qF -e "$current" -e "$old" <<< "$found"
benv=()
for kv in "${env[@]}"; do benv+=(--env "$kv"); done
cd "$dir"
# scan exits 10 (found): the wrapper makes that the success bench expects.
bench "scan, 4 000 files (4 keys planted: litekeys finds 4, detect-secrets 0)" --runs 10 \
    "${benv[@]}" -- \
    sh -c '"$0" scan "$1"; test $? = 10' "$BIN/litekeys" "$tree" ::: \
    detect-secrets scan --all-files "$tree"
