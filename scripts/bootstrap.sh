#!/usr/bin/env bash
# Set up a fresh machine for OneWindow: Debian packages, the Python virtual environment, the
# SMPP test peer's npm packages, and the Kafka broker's jars. Idempotent and quick when done.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-python3}

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# 1. Debian packages (fonts for PDFs, poppler's pdfsig, PostgreSQL, promtool, Java and Maven,
#    podman ...). A line `PACKAGE if-missing:COMMAND` installs the package only when COMMAND is
#    not on the machine (Node.js, for one, may come from elsewhere and must not be replaced).
mapfile -t lines < <(sed -e 's/#.*//' -e '/^\s*$/d' deploy/apt-packages.txt)
missing=()
for line in "${lines[@]}"; do
  read -r p cond _ <<<"$line"
  if [[ "${cond:-}" == if-missing:* ]]; then
    command -v "${cond#if-missing:}" >/dev/null 2>&1 && continue
  fi
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

# 5. Tools no Debian package of bookworm provides (or only too old a one), built from the Go
#    module proxy into .venv/bin: kubeconform (tests/deploy validates every manifest with it)
#    and, where kubectl is absent, kustomize (kubectl's own is used otherwise).
GO=$(command -v go || { [ -x /usr/local/go/bin/go ] && echo /usr/local/go/bin/go; } || true)
go_tool() {  # NAME MODULE@VERSION
  [ -x ".venv/bin/$1" ] && return 0
  if [ -z "$GO" ]; then
    say "MISSING: Go 1.24 or later, to build $1 (tests/deploy needs it): install Go, then run this again"
    return 0
  fi
  say "building $1 ($2) into .venv/bin"
  GOBIN="$ROOT/.venv/bin" GOFLAGS=-mod=mod "$GO" install "$2" \
    || say "MISSING: $1 did not build with $("$GO" version); Go 1.24 or later is needed"
}
go_tool kubeconform github.com/yannh/kubeconform/cmd/kubeconform@v0.7.0
command -v kubectl >/dev/null 2>&1 || go_tool kustomize sigs.k8s.io/kustomize/kustomize/v5@v5.8.3
# kube-apiserver, etcd and kubectl (the same release) for the server-side dry run of the manifests
# (tests/deploy/test_apiserver_dry_run.py): built from the Go module proxy (tools/k8s_apiserver.py)
# only when ~/.cache/onewindow/k8s-apiserver/ lacks them, so a machine pays once (minutes).
if [ -n "$GO" ] && ! .venv/bin/python -m tools.k8s_apiserver path >/dev/null 2>&1; then
  say "building kube-apiserver, etcd and kubectl from the Go module proxy (once per machine, several minutes)"
  .venv/bin/python -m tools.k8s_apiserver build >/dev/null \
    || say "MISSING: kube-apiserver, etcd and kubectl did not build (python -m tools.k8s_apiserver build says why)"
fi

# 6. Say plainly what is still missing (a later step would fail on it).
for cmd in java mvn node npm podman runc mmdebstrap; do
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] \
    || say "MISSING: $cmd (deploy/apt-packages.txt lists the Debian package that provides it)"
done
