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
  dovecot-imapd                     # a real IMAP server for the tests of saola mail-poll
)

if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
APT_WAIT_S=${SAOLA_APT_WAIT_S:-600}

# apt-get that waits for the package locks instead of dying: another apt-get or dpkg (unattended
# upgrades, a second setup, another developer's install) may hold /var/lib/dpkg/lock-frontend or
# /var/lib/apt/lists/lock. DPkg::Lock::Timeout covers the dpkg locks; the loop also covers apt
# versions and lock files the option does not wait on.
apt_get() {
  local deadline=$((SECONDS + APT_WAIT_S)) out rc told=""
  while :; do
    rc=0
    out=$($SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o "DPkg::Lock::Timeout=$APT_WAIT_S" "$@" 2>&1) || rc=$?
    [ $rc -eq 0 ] && return 0
    if grep -qiE "could not get lock|unable to acquire|unable to lock" <<<"$out" && [ $SECONDS -lt $deadline ]; then
      [ -n "$told" ] || echo "setup: another package manager holds the apt/dpkg lock; waiting (up to ${APT_WAIT_S}s)"
      told=1
      sleep 5
      continue
    fi
    printf '%s\n' "$out" >&2
    return $rc
  done
}

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${missing[*]}"
  apt_get update -qq
  apt_get install -y -qq --no-install-recommends "${missing[@]}"
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
    apt_get install -y -qq --no-install-recommends npm
  fi
  npm install --prefix server/web/vendor --no-audit --no-fund --silent leaflet@1.9.4
fi
echo "setup: ready (.venv/bin/saola)"
