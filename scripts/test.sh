#!/usr/bin/env bash
# Run every test: unit tests, and integration tests against the project's own Kafka broker
# (started for the run, stopped after) and, when ONEWINDOW_TEST_POSTGRES_URL is set, PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/pytest "$@"
