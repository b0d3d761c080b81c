#!/usr/bin/env bash
# litekeys set vs sops set --value-stdin: a 4-value file and a 10 000-value
# file. Target: >= 10x faster on both. Rows on the disk, then on tmpfs.
#
# Fair by construction: each tool has its own copy of the same sops-written
# file and sets the same existing key to the same value on every run, so
# every run does the whole job (read, open the data key, decrypt and verify
# the MAC, re-encrypt, new MAC and lastmodified, write the file) on a file
# of the same size. One stdin serves both: `"sk-…"` is the JSON string sops
# takes, and litekeys stores the same bytes, quotes included (two bytes
# longer, no other difference). litekeys also fsyncs the file and its
# directory; sops does not.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
dir="$BENCH_TMP/set"
mkdir -p "$dir"
recipient="$(identity "$dir/key.txt")"
encrypt_small_and_large "$dir/small.enc.env" "$dir/large.enc.env" "$recipient"
printf '"%s"' "$(newkey)" > "$dir/value"
export SOPS_AGE_KEY_FILE="$dir/key.txt"

# $1: where the files live. On a disk every litekeys set pays two journal
# commits (fsync of the new file, then of its directory) that sops skips;
# on tmpfs (when there is one) both do the same work and nothing else.
run() {
    local where="$1" label="$2"
    for size in small large; do
        cp "$dir/$size.enc.env" "$where/lk-$size.enc.env"
        cp "$dir/$size.enc.env" "$where/sops-$size.enc.env"
    done
    read_baseline base litekeys -f "$where/lk-small.enc.env" set LITELLM_MASTER_KEY
    bench "set, 4 values$label" --runs 30 --stdin-file "$dir/value" -- \
        "$BIN/litekeys" -f "$where/lk-small.enc.env" set LITELLM_MASTER_KEY ::: \
        sops set "${DOTENV[@]}" --value-stdin "$where/sops-small.enc.env" '["LITELLM_MASTER_KEY"]' "${base[@]}"
    read_baseline base litekeys -f "$where/lk-large.enc.env" set KEY_05000
    bench "set, 10k values$label" --runs 10 --stdin-file "$dir/value" -- \
        "$BIN/litekeys" -f "$where/lk-large.enc.env" set KEY_05000 ::: \
        sops set "${DOTENV[@]}" --value-stdin "$where/sops-large.enc.env" '["KEY_05000"]' "${base[@]}"
}
run "$dir" ""
shm=""
if [[ -d /dev/shm && -w /dev/shm ]]; then
    shm="$(mktemp -d /dev/shm/litekeys-bench.XXXXXX)"
    trap 'rm -rf "$shm"' EXIT
    run "$shm" " (tmpfs)"
fi

# Both files still open, and hold the value that was set.
want="$(cat "$dir/value")"
got_lk="$("$BIN/litekeys" -f "$dir/lk-large.enc.env" get KEY_05000)"
got_sops="$(sops_dotenv decrypt --extract '["KEY_05000"]' "$dir/sops-large.enc.env")"
[[ "$got_lk" == "$want" && "\"$got_sops\"" == "$want" ]] || { echo "20-set: values differ after the runs" >&2; exit 1; }
