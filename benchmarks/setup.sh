#!/usr/bin/env bash
# Installs what benchmarks/ needs: tshark (the reference tool), GNU time (peak RSS of a whole
# command), and psutil + scapy in the project's venv (tree-wide RSS sampler, capture generator).
# Non-interactive and idempotent: running it again changes nothing once everything is there.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
venv_python="${PHONEHOME_PYTHON:-$repo/.venv/bin/python}"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "setup.sh: not root and no sudo; install tshark and time yourself" >&2
        exit 1
    fi
fi

need_apt=()
command -v tshark >/dev/null 2>&1 || need_apt+=(tshark)
[ -x /usr/bin/time ] || need_apt+=(time)

if [ "${#need_apt[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    # wireshark-common asks whether non-root users may capture; answer "no" up front.
    echo "wireshark-common wireshark-common/install-setuid boolean false" \
        | $SUDO debconf-set-selections
    # Refresh the package lists when they are missing or the package is not known yet.
    if ! apt-cache policy "${need_apt[@]}" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
        $SUDO apt-get update -qq
    fi
    $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if [ -x "$venv_python" ]; then
    if ! "$venv_python" -c 'import psutil, scapy' >/dev/null 2>&1; then
        "$venv_python" -m pip install -q psutil scapy
    fi
else
    echo "setup.sh: $venv_python not found; create the venv and pip install -e '.[dev]' first" >&2
    exit 1
fi

echo "tshark: $(tshark --version 2>/dev/null | head -n 1)"
echo "time:   $(/usr/bin/time --version 2>&1 | head -n 1)"
echo "python: $("$venv_python" -c 'import psutil, scapy; print("psutil", psutil.__version__, "scapy", scapy.__version__)')"
