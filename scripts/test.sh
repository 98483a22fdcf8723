#!/usr/bin/env bash
# One command from a fresh clone to a passing test suite: set up, make sure the
# PostgreSQL and Redis servers the tests use are running, run pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/services.sh
export PYTHONUNBUFFERED=1
exec .venv/bin/python -m pytest "$@"
