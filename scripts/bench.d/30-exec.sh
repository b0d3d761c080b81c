#!/usr/bin/env bash
# litekeys exec vs sops exec-env vs a bare `true`: whole processes, the
# seeds' 4-value file. Targets: >= 20x faster than sops exec-env (its ratio
# >= 20), <= 3x the bare true (its ratio >= 0.333).
set -euo pipefail
dir="$BENCH_TMP/exec"
mkdir -p "$dir"
age-keygen -o "$dir/key.txt" 2>/dev/null
recipient="$(age-keygen -y "$dir/key.txt")"
printf 'LITELLM_MASTER_KEY=sk-%s\nLITELLM_SALT_KEY=sk-%s\nGATEWAY_URL=http://127.0.0.1:4000\nEMPTY=\n' \
    "$(head -c 32 /dev/urandom | base64 | tr -dc A-Za-z0-9)" "$(head -c 32 /dev/urandom | base64 | tr -dc A-Za-z0-9)" > "$dir/plain"
sops encrypt --age "$recipient" --input-type dotenv --output-type dotenv "$dir/plain" > "$dir/global.enc.env"
rm "$dir/plain"
export SOPS_AGE_KEY_FILE="$dir/key.txt"
bench "exec -- true" --runs 40 -- \
    "$BIN/litekeys" exec -f "$dir/global.enc.env" -- true ::: \
    sops exec-env "$dir/global.enc.env" true ::: \
    true
