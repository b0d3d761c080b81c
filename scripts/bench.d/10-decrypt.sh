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
for size in small large; do
    read_baseline base litekeys -f "$dir/$size.enc.env" decrypt
    case $size in small) name="decrypt 4 values" runs=40 ;; large) name="decrypt 10k values" runs=15 ;; esac
    bench "$name" --runs "$runs" -- \
        "$BIN/litekeys" -f "$dir/$size.enc.env" decrypt ::: \
        sops decrypt "${DOTENV[@]}" "$dir/$size.enc.env" "${base[@]}"
done
