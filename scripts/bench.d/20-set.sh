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
dir="$BENCH_TMP/set"
mkdir -p "$dir"
age-keygen -o "$dir/key.txt" 2>/dev/null
recipient="$(age-keygen -y "$dir/key.txt")"
rand() { head -c 32 /dev/urandom | base64 | tr -dc A-Za-z0-9; }
printf 'LITELLM_MASTER_KEY=sk-%s\nLITELLM_SALT_KEY=sk-%s\n# comment\nGATEWAY_URL=http://127.0.0.1:4000\nEMPTY=\n' \
    "$(rand)" "$(rand)" > "$dir/small.plain"
python3 -c 'import sys
for i in range(10000): print(f"KEY_{i:05}=value-{i}-sk-0123456789abcdefghijklmnopqrstuvwxyzABCDEF")' > "$dir/large.plain"
for size in small large; do
    sops encrypt --age "$recipient" --input-type dotenv --output-type dotenv "$dir/$size.plain" > "$dir/$size.enc.env"
done
rm "$dir"/*.plain
printf '"sk-%s"' "$(rand)" > "$dir/value"
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
    bench "set, 4 values$label" --runs 30 --stdin-file "$dir/value" -- \
        "$BIN/litekeys" -f "$where/lk-small.enc.env" set LITELLM_MASTER_KEY ::: \
        sops set --input-type dotenv --output-type dotenv --value-stdin "$where/sops-small.enc.env" '["LITELLM_MASTER_KEY"]'
    bench "set, 10k values$label" --runs 10 --stdin-file "$dir/value" -- \
        "$BIN/litekeys" -f "$where/lk-large.enc.env" set KEY_05000 ::: \
        sops set --input-type dotenv --output-type dotenv --value-stdin "$where/sops-large.enc.env" '["KEY_05000"]'
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
got_sops="$(sops decrypt --input-type dotenv --output-type dotenv --extract '["KEY_05000"]' "$dir/sops-large.enc.env")"
[[ "$got_lk" == "$want" && "\"$got_sops\"" == "$want" ]] || { echo "20-set: values differ after the runs" >&2; exit 1; }
