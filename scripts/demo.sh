#!/usr/bin/env bash
# One command from a fresh clone to a running Saola: set up, create the
# embedded default (SQLite + local media folder + in-process worker) in
# ./saola-data, ingest and classify the project's own sample media, and
# serve the web UI and API on http://127.0.0.1:5000 (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export SAOLA_DATA_DIR="${SAOLA_DATA_DIR:-$PWD/saola-data}"
exec .venv/bin/saola demo --serve "$@"
