#!/usr/bin/env bash
# Shared set-up for scripts/serve and scripts/test: a virtualenv in .venv with the pinned
# requirements, and ffmpeg for the video worker. Safe to run again; it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

requirements="${1:-requirements.txt}"
python="${PYTHON:-python3}"

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "Python 3.11 or newer is needed (found $("$python" --version 2>&1))." >&2
    exit 1
fi

if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
stamp=".venv/.installed-$(cat requirements*.txt | sha256sum | cut -c1-16)-$(basename "$requirements")"
if [ ! -e "$stamp" ]; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
    touch "$stamp"
fi

# Debian packages the service or its tests run for real, installed when missing and root.
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
need_debian_package nginx nginx "the deployment test"
need_debian_package chromium chromium "the browser tests"
