#!/usr/bin/env bash
# Run every test: unit tests, integration tests against the project's own Kafka broker (started
# for the run, stopped after), the whole suite end to end, browser tests of the console, and the
# storage tests on PostgreSQL beside SQLite (a local cluster is started when none is named).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
if [ -z "${ONEWINDOW_TEST_POSTGRES_URL:-}" ]; then
  if url=$(bash scripts/postgres.sh); then
    export ONEWINDOW_TEST_POSTGRES_URL="$url"
  else
    printf '\033[1;33m==> PostgreSQL could not be started: the storage tests run on SQLite only.\n    Set ONEWINDOW_TEST_POSTGRES_URL=postgresql+psycopg://user:pass@host/db to run them on PostgreSQL too.\033[0m\n' >&2
  fi
fi
exec .venv/bin/pytest "$@"
