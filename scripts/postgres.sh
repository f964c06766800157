#!/usr/bin/env bash
# A local PostgreSQL for the storage tests: starts Debian's cluster (installed by bootstrap.sh from
# deploy/apt-packages.txt) on 127.0.0.1:5432 and prints the URL the tests take
# (ONEWINDOW_TEST_POSTGRES_URL). Needs root (it manages the cluster as the postgres user); exits
# non-zero with the reason on stderr when it cannot.
set -euo pipefail
PASSWORD=${ONEWINDOW_TEST_POSTGRES_PASSWORD:-onewindow-ci}

if [ "$(id -u)" != 0 ]; then
  echo "postgres.sh: not root, cannot start Debian's PostgreSQL cluster" >&2; exit 1
fi
if ! command -v pg_ctlcluster >/dev/null || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  echo "postgres.sh: Debian's postgresql package is not installed (scripts/bootstrap.sh installs it)" >&2; exit 1
fi
PGVER=$(ls /usr/lib/postgresql | sort -V | tail -1)
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -q "^$PGVER main$"; then
  pg_createcluster "$PGVER" main >/dev/null 2>&1
fi
pg_ctlcluster "$PGVER" main start >/dev/null 2>&1 || true
for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 && break; sleep 1; done
if ! pg_isready -q -h 127.0.0.1; then
  echo "postgres.sh: PostgreSQL $PGVER did not come up on 127.0.0.1:5432" >&2; exit 1
fi
su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD '$PASSWORD'\"" >/dev/null
echo "postgresql+psycopg://postgres:$PASSWORD@127.0.0.1:5432/postgres"
