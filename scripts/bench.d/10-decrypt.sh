#!/usr/bin/env bash
# litekeys decrypt vs sops decrypt: a 4-value file and a 10 000-value file.
# Targets: >= 15x faster (small), >= 10x (large), peak RSS <= 1/3 of sops'.
set -euo pipefail
dir="$BENCH_TMP/decrypt"
mkdir -p "$dir"
age-keygen -o "$dir/key.txt" 2>/dev/null
recipient="$(age-keygen -y "$dir/key.txt")"
printf 'LITELLM_MASTER_KEY=sk-%s\nLITELLM_SALT_KEY=sk-%s\n# comment\nGATEWAY_URL=http://127.0.0.1:4000\nEMPTY=\n' \
    "$(head -c 32 /dev/urandom | base64 | tr -dc A-Za-z0-9)" "$(head -c 32 /dev/urandom | base64 | tr -dc A-Za-z0-9)" > "$dir/small.plain"
python3 -c 'import sys
for i in range(10000): print(f"KEY_{i:05}=value-{i}-sk-0123456789abcdefghijklmnopqrstuvwxyzABCDEF")' > "$dir/large.plain"
for size in small large; do
    sops encrypt --age "$recipient" --input-type dotenv --output-type dotenv "$dir/$size.plain" > "$dir/$size.enc.env"
done
export SOPS_AGE_KEY_FILE="$dir/key.txt"
bench "decrypt 4 values" --runs 40 -- \
    "$BIN/litekeys" -f "$dir/small.enc.env" decrypt ::: \
    sops decrypt --input-type dotenv --output-type dotenv "$dir/small.enc.env"
bench "decrypt 10k values" --runs 15 -- \
    "$BIN/litekeys" -f "$dir/large.enc.env" decrypt ::: \
    sops decrypt --input-type dotenv --output-type dotenv "$dir/large.enc.env"
