#!/usr/bin/env bash
# Makes sure node_modules/mediasoup has a working mediasoup-worker, in this order:
#   1. MEDIASOUP_WORKER_BIN points at a binary: use it, nothing to do.
#   2. The cache ($SEALED_CACHE_DIR, default ~/.cache/sealed-call) has a worker for this
#      mediasoup version and this build recipe: copy it in (seconds).
#   3. mediasoup's official prebuilt worker can be downloaded: use it.
#   4. Build the worker from the npm sources against Debian's -dev packages
#      (scripts/mediasoup-shims replace every meson subproject; nothing is downloaded).
# The result is cached, so a second install (or a fresh clone on the same machine)
# does not rebuild. Runs as npm's postinstall; safe to run again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
MS_DIR="$ROOT/node_modules/mediasoup"
OUT="$MS_DIR/worker/out/Release"
BIN="$OUT/mediasoup-worker"
say() { echo "setup-worker: $*"; }

if [ -n "${MEDIASOUP_WORKER_BIN:-}" ]; then
  [ -x "$MEDIASOUP_WORKER_BIN" ] || { say "MEDIASOUP_WORKER_BIN=$MEDIASOUP_WORKER_BIN is not an executable file: unset it or point it at a mediasoup-worker" >&2; exit 1; }
  say "using MEDIASOUP_WORKER_BIN=$MEDIASOUP_WORKER_BIN"; exit 0
fi
[ -f "$MS_DIR/package.json" ] || { say "node_modules/mediasoup is missing: run npm install" >&2; exit 1; }

MS_VERSION="$(node -p 'require(process.argv[1]).version' "$MS_DIR/package.json")"
RECIPE="$( (cat scripts/build-mediasoup-worker.sh; cd scripts/mediasoup-shims && find . -type f | LC_ALL=C sort | xargs cat) | sha256sum | cut -c1-12)"
KEY="mediasoup-worker-$MS_VERSION-$(uname -m)-$RECIPE"
CACHE_DIR="${SEALED_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sealed-call}"
CACHED="$CACHE_DIR/$KEY"

works() { # the worker exits with 41 when started without MEDIASOUP_VERSION (mediasoup's own check)
  local rc=0; env -i "$1" >/dev/null 2>&1 || rc=$?; [ "$rc" = 41 ]
}
install_bin() { mkdir -p "$OUT"; cp "$1" "$BIN.tmp"; chmod +x "$BIN.tmp"; mv "$BIN.tmp" "$BIN"; echo "$KEY" > "$OUT/.sealed-stamp"; }

if [ -x "$BIN" ] && [ "$(cat "$OUT/.sealed-stamp" 2>/dev/null)" = "$KEY" ] && works "$BIN"; then
  say "mediasoup-worker $MS_VERSION is in place"; exit 0
fi
if [ -x "$CACHED" ] && works "$CACHED"; then
  install_bin "$CACHED"; say "mediasoup-worker $MS_VERSION from cache $CACHED"; exit 0
fi

if [ -z "${SEALED_NO_PREBUILT:-}" ]; then
  say "trying mediasoup's official prebuilt worker ..."
  TMP="$(mktemp -d)"
  if node scripts/fetch-prebuilt-worker.mjs "$MS_DIR" "$TMP" && works "$TMP/mediasoup-worker"; then
    mkdir -p "$CACHE_DIR"; cp "$TMP/mediasoup-worker" "$CACHED.prebuilt"
    install_bin "$TMP/mediasoup-worker"; rm -rf "$TMP"
    say "using the official prebuilt mediasoup-worker $MS_VERSION"; exit 0
  fi
  rm -rf "$TMP"
  say "no prebuilt worker reachable; building it from the npm sources (about 4 minutes on 2 cores)"
fi

# Debian packages the build needs (all from Debian's own repository).
PKGS="g++ python3 meson ninja-build pkg-config libssl-dev libuv1-dev libsrtp2-dev libabsl-dev libusrsctp-dev liburing-dev flatbuffers-compiler libflatbuffers-dev"
MISSING=""
for p in $PKGS; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || MISSING="$MISSING $p"; done
if [ -n "$MISSING" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing Debian packages:$MISSING"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends $MISSING >/dev/null
  else
    say "cannot build mediasoup-worker: as root run: apt-get install -y$MISSING" >&2; exit 1
  fi
fi

MEDIASOUP_DIR="$MS_DIR" bash scripts/build-mediasoup-worker.sh
works "$BIN" || { say "the built worker does not run" >&2; exit 1; }
mkdir -p "$CACHE_DIR"; cp "$BIN" "$CACHED.tmp" && mv "$CACHED.tmp" "$CACHED"
# Older builds of this version (an earlier recipe) are of no further use.
find "$CACHE_DIR" -maxdepth 1 -name "mediasoup-worker-$MS_VERSION-$(uname -m)-*" ! -name "$KEY*" -delete
echo "$KEY" > "$OUT/.sealed-stamp"
say "built and cached $CACHED"
