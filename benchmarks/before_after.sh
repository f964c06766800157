#!/usr/bin/env bash
# Before/after of the handler path, interleaved: per round the raw aiokafka peer, the runtime of
# another tree (the "before": e.g. `git archive <commit> | tar -x -C /tmp/before`, with this
# tree's benchmarks/ copied in and .venv linked), and this tree's runtime with the per-event and
# the batch handler. Prints one JSON line per run, prefixed with its side.
#
#   benchmarks/before_after.sh /tmp/before 127.0.0.1:29592 [postgresql+psycopg://...] [events] [rounds]
set -uo pipefail
BEFORE=${1:?the tree of the runtime before}; BOOTSTRAP=${2:?bootstrap}; PG=${3:-}; N=${4:-2000}; ROUNDS=${5:-3}
HERE=$(cd "$(dirname "$0")/.." && pwd)
for db in sqlite ${PG:+postgresql}; do
  URL=(); [ "$db" = postgresql ] && URL=(--database-url "$PG")
  for r in $(seq 1 "$ROUNDS"); do
    echo "# round $r $db load $(cut -d' ' -f1-3 /proc/loadavg)"
    (cd "$HERE" && .venv/bin/python -m benchmarks.raw_pipeline --bootstrap "$BOOTSTRAP" --events "$N" 2>/dev/null | tail -1 | sed "s/^/raw /")
    (cd "$BEFORE" && .venv/bin/python -m benchmarks.runtime_pipeline --bootstrap "$BOOTSTRAP" --events "$N" "${URL[@]}" --handler event 2>/dev/null | tail -1 | sed "s/^/before-event /")
    (cd "$HERE" && .venv/bin/python -m benchmarks.runtime_pipeline --bootstrap "$BOOTSTRAP" --events "$N" "${URL[@]}" --handler event 2>/dev/null | tail -1 | sed "s/^/after-event /")
    (cd "$HERE" && .venv/bin/python -m benchmarks.runtime_pipeline --bootstrap "$BOOTSTRAP" --events "$N" "${URL[@]}" --handler batch 2>/dev/null | tail -1 | sed "s/^/after-batch /")
  done
done
echo "# end load $(cut -d' ' -f1-3 /proc/loadavg)"
