#!/usr/bin/env bash
# Shared set-up for scripts/serve and scripts/test: a virtualenv in .venv with the pinned
# requirements, and ffmpeg for the video worker. With --test-tools (scripts/test) also what only
# the tests run: nginx for the deployment test, Chromium for the browser tests. Safe to run
# again; it only does what is missing.
#
#   scripts/setup.sh [requirements file] [--test-tools]
set -euo pipefail
cd "$(dirname "$0")/.."

requirements="${1:-requirements.txt}"
test_tools="${2:-}"
if [ -n "$test_tools" ] && [ "$test_tools" != --test-tools ]; then
    echo "usage: scripts/setup.sh [requirements file] [--test-tools]" >&2
    exit 2
fi
python="${PYTHON:-python3}"

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "Python 3.11 or newer is needed (found $("$python" --version 2>&1))." >&2
    exit 1
fi

if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
stamp_prefix=".venv/.installed-$(cat requirements*.txt | sha256sum | cut -c1-16)"
installed() { [ -e "$stamp_prefix-$1" ]; }
# requirements-dev.txt includes requirements.txt: a virtualenv set up for the tests can serve.
if ! installed "$(basename "$requirements")" &&
    ! { [ "$(basename "$requirements")" = requirements.txt ] && installed requirements-dev.txt; }; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
    touch "$stamp_prefix-$(basename "$requirements")"
fi

# Debian packages run for real, installed when missing and root.
apt_updated=""
need_debian_package() {  # command package why
    command -v "$1" >/dev/null 2>&1 && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "Installing $2 (Debian package) for $3..." >&2
        if [ -z "$apt_updated" ]; then
            apt-get update -qq >/dev/null
            apt_updated=1
        fi
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
    else
        echo "$2 is not installed: $3 will not work until it is." >&2
    fi
}

need_debian_package ffmpeg ffmpeg "the video worker"
if [ -n "$test_tools" ]; then
    need_debian_package nginx nginx "the deployment test"
    need_debian_package chromium chromium "the browser tests"
fi
