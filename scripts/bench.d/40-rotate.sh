#!/usr/bin/env bash
# litekeys-rotate: one whole rotation (process start to exit) of a sandbox
# shaped like the seeds, manager = "none": the sops source, litellm.env
# through a symlink, a 0640 docker .env, Droid's settings.json (six
# routes), config.json and config.d/lab-litellm.json, a systemd drop-in.
# Seven files change per run, each with a journal entry, an age-encrypted
# backup, an atomic write and fsyncs. Target: <= 50 ms median.
#
# Shown next to `sops set` of the master key alone on a copy of the same
# source: the first of the three manual steps a rotation took before (then
# re-running bootstrap.sh and hand-editing settings.json).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# The seeds' files, the ones the end-to-end lab (tests/kit/rotate_lab.rs)
# builds its sandbox from.
seeds="$ROOT/tests/fixtures/seeds"
settings="$ROOT/crates/rotate/src/sinks/testdata/droid-settings.json"
dir="$BENCH_TMP/rotate"
home="$dir/home"
mkdir -p "$dir/repo/secrets" "$home/.factory/config.d" \
    "$home/.config/systemd/user/litellm.service.d" "$home/dotfiles" "$home/.config/lab-secrets" \
    "$dir/srv/docker/litellm"
recipient="$(identity "$home/.config/sops/age/keys.txt")"
old="$(newkey)"
salt="$(newkey)"

printf 'LITELLM_MASTER_KEY=%s\nLITELLM_SALT_KEY=%s\nOTHER_VAR=kept\n' "$old" "$salt" |
    encrypt "$recipient" > "$dir/repo/secrets/global.enc.env"
cp "$dir/repo/secrets/global.enc.env" "$dir/sops-copy.enc.env"

printf '# LiteLLM keys\nLITELLM_MASTER_KEY=%s\nLITELLM_SALT_KEY=%s\n' "$old" "$salt" > "$home/dotfiles/litellm.env"
ln -s ../../dotfiles/litellm.env "$home/.config/lab-secrets/litellm.env"
printf 'LITELLM_MASTER_KEY=%s\nLITELLM_SALT_KEY=%s\nSTORE_MODEL_IN_DB=False\n' "$old" "$salt" \
    > "$dir/srv/docker/litellm/.env"
chmod 640 "$dir/srv/docker/litellm/.env"
printf '[Service]\nEnvironment="LITELLM_MASTER_KEY=%s"\n' "$old" \
    > "$home/.config/systemd/user/litellm.service.d/litekeys.conf"
# Every literal gateway key in step with the source (no drift to repair).
fill() { sed -e "s|OLD_MASTER|$old|g" -e "s|STALE|$old|g" "$1"; }
fill "$settings" > "$home/.factory/settings.json"
fill "$seeds/config.json" > "$home/.factory/config.json"
fill "$seeds/lab-litellm.json" > "$home/.factory/config.d/lab-litellm.json"
sed "s|DOCKER_ENV|$dir/srv/docker/litellm/.env|" "$seeds/litekeys.toml" > "$dir/repo/litekeys.toml"
printf '"%s"' "$(newkey)" > "$dir/value"

cd "$dir/repo"
env=(--env "HOME=$home" --env "XDG_CONFIG_HOME=$home/.config" --env "XDG_STATE_HOME=$home/.local/state"
     --env "LITEKEYS_CONFIG=$dir/repo/litekeys.toml" --env "SOPS_AGE_KEY_FILE=$home/.config/sops/age/keys.txt")
# Every run rotates again: each one changes all seven files.
read_baseline base litekeys-rotate --yes
bench "rotate, 7 files" --runs 30 "${env[@]}" --stdin-file "$dir/value" -- \
    "$BIN/litekeys-rotate" --yes ::: \
    sops set "${DOTENV[@]}" --value-stdin "$dir/sops-copy.enc.env" '["LITELLM_MASTER_KEY"]' "${base[@]}"
# The sandbox must still be whole: every sink in sync with the source.
HOME="$home" XDG_CONFIG_HOME="$home/.config" XDG_STATE_HOME="$home/.local/state" \
    "$BIN/litekeys-rotate" --config "$dir/repo/litekeys.toml" status > /dev/null
