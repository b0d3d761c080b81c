#!/usr/bin/env bash
# litekeys-rotate: one whole rotation (process start to exit) of a sandbox
# shaped like the seeds, manager = "none": the sops source, litellm.env
# through a symlink, a 0640 docker .env, Droid's settings.json (five
# routes), config.json and config.d/lab-litellm.json, a systemd drop-in.
# Seven files change per run, each with a journal entry, an age-encrypted
# backup, an atomic write and fsyncs. Target: <= 50 ms median.
#
# Shown next to `sops set` of the master key alone on a copy of the same
# source: the first of the three manual steps a rotation took before (then
# re-running bootstrap.sh and hand-editing settings.json).
set -euo pipefail
dir="$BENCH_TMP/rotate"
home="$dir/home"
mkdir -p "$home/.config/sops/age" "$dir/repo/secrets" "$home/.factory/config.d" \
    "$home/.config/systemd/user/litellm.service.d" "$home/dotfiles" "$home/.config/lab-secrets" \
    "$dir/srv/docker/litellm"
age-keygen -o "$home/.config/sops/age/keys.txt" 2>/dev/null
recipient="$(age-keygen -y "$home/.config/sops/age/keys.txt")"
rand() { head -c 48 /dev/urandom | base64 | tr -dc A-Za-z0-9 | head -c 48; }
old="sk-$(rand)"
salt="sk-$(rand)"

printf 'LITELLM_MASTER_KEY=%s\nLITELLM_SALT_KEY=%s\nOTHER_VAR=kept\n' "$old" "$salt" > "$dir/plain.env"
sops encrypt --age "$recipient" --input-type dotenv --output-type dotenv "$dir/plain.env" \
    > "$dir/repo/secrets/global.enc.env"
rm "$dir/plain.env"
cp "$dir/repo/secrets/global.enc.env" "$dir/sops-copy.enc.env"

printf '# LiteLLM keys\nLITELLM_MASTER_KEY=%s\nLITELLM_SALT_KEY=%s\n' "$old" "$salt" > "$home/dotfiles/litellm.env"
ln -s ../../dotfiles/litellm.env "$home/.config/lab-secrets/litellm.env"
printf 'LITELLM_MASTER_KEY=%s\nLITELLM_SALT_KEY=%s\nSTORE_MODEL_IN_DB=False\n' "$old" "$salt" \
    > "$dir/srv/docker/litellm/.env"
chmod 640 "$dir/srv/docker/litellm/.env"
printf '[Service]\nEnvironment="LITELLM_MASTER_KEY=%s"\n' "$old" \
    > "$home/.config/systemd/user/litellm.service.d/litekeys.conf"
cat > "$home/.factory/settings.json" <<EOF
{
  "enabledPlugins": {
    "core@factory-plugins": true
  },
  "customModels": [
    {"model": "kimi-k2.5", "id": "custom:Kimi-K2.5-[Kimi-Coding]-0", "baseUrl": "http://localhost:8317/v1", "apiKey": "vibeproxy", "provider": "generic-chat-completion-api"},
    {"model": "glm-5.1", "id": "custom:GLM-5.1-[ZAI]-1", "baseUrl": "https://api.z.ai/api/coding/paas/v4", "apiKey": "zai-key", "provider": "generic-chat-completion-api"},
    {"model": "gpt-5.5", "id": "custom:gpt-5-5-[LiteLLM]-6", "baseUrl": "http://127.0.0.1:4000/v1", "apiKey": "$old", "provider": "generic-chat-completion-api"},
    {"model": "qwen3p6-plus", "baseUrl": "http://localhost:4000", "apiKey": "$old", "provider": "generic-chat-completion-api", "maxOutputTokens": 16384},
    {"model": "deepseek-v3p2", "baseUrl": "http://localhost:4000/v1", "apiKey": "\${LITELLM_MASTER_KEY}", "provider": "generic-chat-completion-api"}
  ]
}
EOF
cat > "$home/.factory/config.json" <<EOF
{
  "custom_models": [
    {"model_display_name": "qwen3-coder (LiteLLM)", "model": "qwen3-coder:480b-cloud", "base_url": "http://127.0.0.1:4000/v1/", "api_key": "env:LITELLM_MASTER_KEY", "provider": "generic-chat-completion-api", "max_tokens": 128000},
    {"model_display_name": "qwen2.5-coder (LiteLLM)", "model": "qwen2.5-coder:7b", "base_url": "http://127.0.0.1:4000/v1/", "api_key": "$old", "provider": "generic-chat-completion-api", "max_tokens": 32000}
  ]
}
EOF
cat > "$home/.factory/config.d/lab-litellm.json" <<EOF
{
  "custom_models": [
    {"model_display_name": "llama3.1 (LiteLLM)", "model": "llama3.1:latest", "base_url": "http://framework:4000/v1/", "api_key": "$old", "provider": "generic-chat-completion-api", "max_tokens": 8192}
  ]
}
EOF
cat > "$dir/repo/litekeys.toml" <<EOF
source = "secrets/global.enc.env"
[gateway]
url = "http://127.0.0.1:4000"
aliases = ["http://framework:4000"]
[service]
manager = "none"
[[sink]]
kind = "dotenv"
path = "~/.config/lab-secrets/litellm.env"
[[sink]]
kind = "dotenv"
path = "$dir/srv/docker/litellm/.env"
[[sink]]
kind = "droid"
path = "~/.factory"
[[sink]]
kind = "systemd-env"
path = "~/.config/systemd/user/litellm.service.d/litekeys.conf"
keys = ["LITELLM_MASTER_KEY"]
EOF
printf '"sk-%s"' "$(rand)" > "$dir/value"

cd "$dir/repo"
env=(--env "HOME=$home" --env "XDG_CONFIG_HOME=$home/.config" --env "XDG_STATE_HOME=$home/.local/state"
     --env "LITEKEYS_CONFIG=$dir/repo/litekeys.toml" --env "SOPS_AGE_KEY_FILE=$home/.config/sops/age/keys.txt")
# Every run rotates again: each one changes all seven files.
bench "rotate, 7 files" --runs 30 "${env[@]}" --stdin-file "$dir/value" -- \
    "$BIN/litekeys-rotate" --yes ::: \
    sops set --input-type dotenv --output-type dotenv --value-stdin "$dir/sops-copy.enc.env" '["LITELLM_MASTER_KEY"]'
# The sandbox must still be whole: every sink in sync with the source.
HOME="$home" XDG_CONFIG_HOME="$home/.config" XDG_STATE_HOME="$home/.local/state" \
    "$BIN/litekeys-rotate" --config "$dir/repo/litekeys.toml" status > /dev/null
