#!/usr/bin/env bash
# litekeys exec vs sops exec-env vs a bare `true`: whole processes, the
# seeds' 4-value file. Targets: >= 20x faster than sops exec-env (its ratio
# >= 20), <= 3x the bare true (its ratio >= 0.333).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
dir="$BENCH_TMP/exec"
mkdir -p "$dir"
recipient="$(identity "$dir/key.txt")"
seeds_plain | encrypt "$recipient" > "$dir/global.enc.env"
export SOPS_AGE_KEY_FILE="$dir/key.txt"
read_baseline base litekeys exec -f "$dir/global.enc.env" -- true
bench "exec -- true" --runs 40 -- \
    "$BIN/litekeys" exec -f "$dir/global.enc.env" -- true ::: \
    sops exec-env "$dir/global.enc.env" true ::: \
    true "${base[@]}"
