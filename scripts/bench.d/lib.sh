# Sourced by each scripts/bench.d/*.sh (scripts/bench skips it): the steps
# they share, written once.

# `BASELINE=DIR scripts/bench`: each part also runs the binaries in DIR
# (e.g. an earlier release build) side by side in the same alternation.
# baseline BIN ARGS...: the extra `::: DIR/BIN ARGS...` words, or none.
baseline() {
    [[ -n ${BASELINE:-} ]] || return 0
    local bin="$1"
    shift
    printf '%s\0' ::: "$BASELINE/$bin" "$@"
}
# The words of `baseline` in the array named $1.
read_baseline() {
    local -n into="$1"
    shift
    into=()
    while IFS= read -r -d '' w; do into+=("$w"); done < <(baseline "$@")
}

# An age identity made by age-keygen at $1; prints its recipient.
identity() {
    mkdir -p "$(dirname "$1")"
    age-keygen -o "$1" 2>/dev/null
    age-keygen -y "$1"
}

# A fresh gateway key: sk- and 43 base62 characters.
newkey() { printf 'sk-%s' "$(head -c 48 /dev/urandom | base64 | tr -dc A-Za-z0-9 | head -c 43)"; }

# The format flags of every sops call on a litekeys file; in a measured
# command line as `sops VERB "${DOTENV[@]}" ...` (bench runs programs, not
# shell functions).
DOTENV=(--input-type dotenv --output-type dotenv)

# sops VERB on a dotenv file: sops_dotenv VERB [FLAGS] FILE.
sops_dotenv() {
    local verb="$1"
    shift
    sops "$verb" "${DOTENV[@]}" "$@"
}

# stdin (dotenv) encrypted for the recipient $1 on stdout; the plaintext
# only on a pipe.
encrypt() { sops_dotenv encrypt --age "$1" /dev/stdin; }

# The seeds' 4-value file: two fresh keys, a URL, an empty value.
seeds_plain() {
    printf 'LITELLM_MASTER_KEY=%s\nLITELLM_SALT_KEY=%s\n# comment\nGATEWAY_URL=http://127.0.0.1:4000\nEMPTY=\n' \
        "$(newkey)" "$(newkey)"
}

# 10 000 values.
large_plain() {
    python3 -c 'for i in range(10000): print(f"KEY_{i:05}=value-{i}-sk-0123456789abcdefghijklmnopqrstuvwxyzABCDEF")'
}

# $1 and $2 encrypted for the recipient $3: the small and the large file.
encrypt_small_and_large() {
    seeds_plain | encrypt "$3" > "$1"
    large_plain | encrypt "$3" > "$2"
}
