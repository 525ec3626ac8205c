#!/usr/bin/env bash
# Installs what the tests need beyond a Rust toolchain: Debian's `chromium`,
# which examples/tests/ui.rs runs headless to check the web UI.
# Idempotent: does nothing when chromium is already there. Needs root, or
# sudo when not root.
set -euo pipefail

fail() {
    echo "install-test-deps: $*" >&2
    exit 1
}

chromium_version() {
    chromium --version 2>/dev/null | head -n1
}

if version=$(chromium_version) && [ -n "$version" ]; then
    echo "install-test-deps: $version is installed"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    fail "chromium is missing and installing it needs root or sudo; run this script as root"
fi
command -v apt-get >/dev/null 2>&1 ||
    fail "chromium is missing and this is not a Debian-like system (no apt-get); install chromium by hand"

export DEBIAN_FRONTEND=noninteractive
apt_install() {
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends chromium
}

# Refresh the package lists only when the package is unknown to them (a
# fresh machine has empty lists) or when installing from them fails (stale).
if ! apt-cache show chromium >/dev/null 2>&1 || ! apt_install; then
    echo "install-test-deps: updating the package lists"
    "${as_root[@]}" apt-get update -q || fail "apt-get update failed"
    apt_install || fail "apt-get install chromium failed"
fi

version=$(chromium_version) || fail "chromium was installed but does not run"
[ -n "$version" ] || fail "chromium was installed but does not print its version"
echo "install-test-deps: $version is installed"
