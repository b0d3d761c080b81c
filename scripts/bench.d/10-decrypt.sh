#!/usr/bin/env bash
# litekeys decrypt vs sops decrypt: a 4-value file and a 10 000-value file.
# Targets: >= 15x faster (small), >= 10x (large), peak RSS <= 1/3 of sops'.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
dir="$BENCH_TMP/decrypt"
mkdir -p "$dir"
recipient="$(identity "$dir/key.txt")"
encrypt_small_and_large "$dir/small.enc.env" "$dir/large.enc.env" "$recipient"
export SOPS_AGE_KEY_FILE="$dir/key.txt"
bench "decrypt 4 values" --runs 40 -- \
    "$BIN/litekeys" -f "$dir/small.enc.env" decrypt ::: \
    sops decrypt "${DOTENV[@]}" "$dir/small.enc.env"
bench "decrypt 10k values" --runs 15 -- \
    "$BIN/litekeys" -f "$dir/large.enc.env" decrypt ::: \
    sops decrypt "${DOTENV[@]}" "$dir/large.enc.env"
