#!/usr/bin/env bash
# Set up a fresh machine for OneWindow: Debian packages, the Python virtual environment, the
# SMPP test peer's npm packages, and the Kafka broker's jars. Idempotent and quick when done.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-python3}

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# 1. Debian packages (fonts for PDFs, poppler's pdfsig, PostgreSQL, promtool, ...).
mapfile -t want < <(sed -e 's/#.*//' -e '/^\s*$/d' deploy/apt-packages.txt | awk '{print $1}')
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. The virtual environment, reinstalled only when pyproject.toml changes.
if [ ! -x .venv/bin/python ]; then
  say "creating the virtual environment (.venv)"
  "$PY" -m venv .venv
fi
stamp=.venv/.onewindow-installed
want_hash=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want_hash" ]; then
  say "installing OneWindow and its dependencies into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[test]'
  echo "$want_hash" > "$stamp"
fi

# 3. The SMPP peer used by the notify tests (an SMSC this project did not write).
if [ -f tests/peers/package-lock.json ]; then
  lock_hash=$(sha256sum tests/peers/package-lock.json | cut -d' ' -f1)
  if [ ! -f tests/peers/node_modules/.onewindow-installed ] || [ "$(cat tests/peers/node_modules/.onewindow-installed)" != "$lock_hash" ]; then
    say "installing the SMPP test peer (npm ci)"
    (cd tests/peers && npm ci --no-audit --no-fund --loglevel=error)
    echo "$lock_hash" > tests/peers/node_modules/.onewindow-installed
  fi
fi

# 4. The Kafka broker's jars from Maven Central (cached outside the working tree).
.venv/bin/onewindow kafka fetch >/dev/null 2>&1 || .venv/bin/python -c "from tools.kafka_local import ensure_jars; ensure_jars()"
