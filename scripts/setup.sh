#!/usr/bin/env bash
# Set up everything Saola needs on a fresh Debian machine: system packages,
# a virtual environment in .venv and the project with all extras.
# Idempotent and quick on a second run (a stamp keyed on pyproject.toml).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  chromium chromium-driver          # browser tests of the web UI
  nodejs                            # npm installs the web map library (Leaflet) at setup
  libimage-exiftool-perl            # the ExifTool baseline in benchmarks/ingest.py
  libgl1-mesa-dri libegl1 libgles2 libgl1 xvfb  # Kivy headless (Mesa software GL)
  libmtdev1 libsdl2-2.0-0
  fonts-dejavu-core fonts-noto-core # Vietnamese glyphs in screenshots and PDF reports
  libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b  # PDF report rendering
  libsndfile1 ffmpeg                # audio decoding; video duration probing
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${missing[*]}"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
stamp=".venv/.saola-installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "setup: installing saola[all,dev] into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[all,dev]'
  rm -f .venv/.saola-installed-*
  touch "$stamp"
fi
# The web map's library comes from the npm registry, never from the repo.
if [ ! -f server/web/vendor/node_modules/leaflet/dist/leaflet.js ]; then
  echo "setup: installing Leaflet into server/web/vendor (npm)"
  if ! command -v npm >/dev/null; then  # Debian ships npm apart from nodejs (NodeSource bundles it)
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends npm >/dev/null
  fi
  npm install --prefix server/web/vendor --no-audit --no-fund --silent leaflet@1.9.4
fi
echo "setup: ready (.venv/bin/saola)"
