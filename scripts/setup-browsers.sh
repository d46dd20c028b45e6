#!/usr/bin/env bash
# Installs the browsers the end-to-end tests drive: Debian's chromium and firefox-esr.
# CHROMIUM_PATH / FIREFOX_PATH point at browsers of your own instead.
set -euo pipefail
need=""
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || need="$need chromium"
[ -x "${FIREFOX_PATH:-/usr/bin/firefox-esr}" ] || need="$need firefox-esr"
[ -z "$need" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "setup-browsers: installing Debian packages:$need"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends $need >/dev/null
else
  echo "setup-browsers: the end-to-end tests need$need: as root run: apt-get install -y$need (or set CHROMIUM_PATH / FIREFOX_PATH)" >&2
  exit 1
fi
