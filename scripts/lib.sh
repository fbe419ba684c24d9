# Shared helpers for scripts/demo and scripts/test. Sourced, not run.

step() {
    local name=$1
    shift
    printf '\n==> %s\n' "$name"
    "$@"
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

# Installs Debian packages whose main binary is missing.
ensure_apt_packages() {
    local missing=()
    for pkg in "$@"; do
        command -v "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
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
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Installs a cargo subcommand from crates.io when it is missing.
ensure_cargo_tool() {
    local binary=$1 crate=$2
    command -v "$binary" >/dev/null 2>&1 && return 0
    echo "installing $crate (one time, a few minutes)"
    cargo install --locked --quiet "$crate"
}
