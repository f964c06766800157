#!/usr/bin/env bash
# Run the whole suite locally: Kafka and the five services (embedded SQLite databases).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/onewindow up "$@"
