#!/usr/bin/env bash
# One command from a fresh clone to a passing test suite: set up, make sure the
# PostgreSQL and Redis servers the tests use are running, run pytest.
# Runs in parallel on every core (pytest-xdist) unless the arguments choose otherwise
# (-n N, -n 0, -p no:xdist); SAOLA_TEST_WORKERS=N sets the default.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/services.sh
export PYTHONUNBUFFERED=1
parallel=(-n "${SAOLA_TEST_WORKERS:-auto}" --dist worksteal)
for a in "$@"; do
  case "$a" in -n|-n*|--numprocesses*|--dist*|no:xdist) parallel=() ;; esac
done
exec .venv/bin/python -m pytest "${parallel[@]}" "$@"
