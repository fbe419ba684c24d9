# Shared helpers for scripts/demo and scripts/test. Sourced, not run.

# Seconds each step took, in the order they ran, for `step_summary`.
STEP_TIMES=()
STEPS_STARTED=$SECONDS

# Runs one named step and prints how long it took.
step() {
    local name=$1
    shift
    printf '\n==> %s\n' "$name"
    local started=$SECONDS status=0
    "$@" || status=$?
    local took=$((SECONDS - started))
    STEP_TIMES+=("$(printf '%5ss  %s' "$took" "$name")")
    printf '<== %s: %ss%s\n' "$name" "$took" "$([ "$status" -eq 0 ] || echo ", failed with exit status $status")"
    return "$status"
}

# Prints the time of every step run so far and the total.
step_summary() {
    printf '\nstep times:\n'
    local line
    for line in "${STEP_TIMES[@]}"; do
        printf '  %s\n' "$line"
    done
    printf '  %5ss  total\n' "$((SECONDS - STEPS_STARTED))"
}

# Rust 1.89 or newer is needed (edition 2024). Debian's own cargo is older, so point at rustup.
require_cargo() {
    if ! command -v cargo >/dev/null 2>&1; then
        echo "error: cargo is not installed. Install Rust 1.89 or newer with rustup (https://rustup.rs)." >&2
        exit 1
    fi
    local version
    version=$(cargo --version | awk '{print $2}')
    if [ "$(printf '%s\n1.89.0\n' "$version" | sort -V | head -n1)" != "1.89.0" ]; then
        echo "error: cargo $version is too old; serin needs Rust 1.89 or newer (rustup update)." >&2
        exit 1
    fi
}

# Installs Debian packages whose command is missing. Arguments are `package` or
# `package:command` when the two names differ.
ensure_apt_packages() {
    local missing=() spec pkg cmd
    for spec in "$@"; do
        pkg=${spec%%:*}
        cmd=${spec#*:}
        command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            echo "error: ${missing[*]} missing and not root; install with apt-get install ${missing[*]}" >&2
            exit 1
        fi
    fi
    echo "installing Debian packages: ${missing[*]}"
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Installs a cargo subcommand from crates.io when it is missing. It lands in `$CARGO_HOME/bin`,
# which is put on PATH for the rest of the script.
ensure_cargo_tool() {
    local binary=$1 crate=$2
    export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
    command -v "$binary" >/dev/null 2>&1 && return 0
    echo "installing $crate (one time, a few minutes)"
    cargo install --locked --quiet "$crate"
}

# The fuzz targets (fuzz/) and how long a short run of each lasts, in seconds.
FUZZ_TARGETS=(go_duration query_template canary_validation hey_args loadtester_payload lint_yaml
    provider_answers)
FUZZ_SECONDS=${SERIN_FUZZ_SECONDS:-8}

# Builds the fuzz targets and runs each for FUZZ_SECONDS; a crash fails the step and leaves its
# input under fuzz/artifacts/. cargo-fuzz needs nightly flags: RUSTC_BOOTSTRAP lets the stable
# toolchain accept them. Without a sanitizer (safe Rust: the targets look for panics, stack
# overflows, hangs and allocation blow-ups, which libFuzzer reports on its own).
fuzz_short() {
    (
        cd fuzz
        export RUSTC_BOOTSTRAP=1
        cargo fuzz build --sanitizer none
        local log status runs
        log=$(mktemp)
        for target in "${FUZZ_TARGETS[@]}"; do
            status=0
            cargo fuzz run --sanitizer none "$target" -- \
                -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -timeout=10 \
                -print_final_stats=1 >"$log" 2>&1 || status=$?
            runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log")
            echo "fuzzed $target for ${FUZZ_SECONDS}s: ${runs:-?} inputs"
            if [ "$status" -ne 0 ]; then
                tail -n 40 "$log" >&2
                echo "fuzz target $target failed; its input is under fuzz/artifacts/$target/" >&2
                rm -f "$log"
                return 1
            fi
        done
        rm -f "$log"
    )
}
