#!/usr/bin/env bash
# Builds mediasoup's C++ worker offline against Debian 12's -dev packages.
# Called by scripts/setup-worker.sh (which handles the cache and the apt packages).
#
# mediasoup's worker/meson.build pulls openssl, libuv, libsrtp3, abseil, flatbuffers,
# usrsctp, liburing and catch2 as meson wrap subprojects that would be downloaded.
# Meson uses an existing subproject directory as it is, so we put a small shim from
# scripts/mediasoup-shims/<wrap>/ in each wrap's directory; each shim declares the
# dependency variables mediasoup reads, backed by the Debian library. Two shims
# also adapt an API: libsrtp3 (mediasoup's libsrtp 3 fork, on Debian's libsrtp 2.5)
# and liburing (two helpers that liburing 2.3 lacks).
# Env: MEDIASOUP_DIR (required), JOBS (default nproc), MESON_ARGS (extra meson options).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SHIMS="$HERE/mediasoup-shims"
W="${MEDIASOUP_DIR:?MEDIASOUP_DIR is required}/worker"
OUT="$W/out/Release"
BUILD="$OUT/build"
JOBS="${JOBS:-$(nproc)}"
[ -f "$W/meson.build" ] || { echo "build-mediasoup-worker: no worker sources in $W" >&2; exit 1; }

for wrap in "$W"/subprojects/*.wrap; do
  name="$(basename "$wrap" .wrap)"
  [ "$name" = wingetopt ] && continue # Windows only
  dir="$(sed -n 's/^directory *= *//p' "$wrap" | tr -d '[:space:]')"
  [ -d "$SHIMS/$name" ] || { echo "build-mediasoup-worker: no shim for subproject '$name'" >&2; exit 1; }
  rm -rf "$W/subprojects/${dir:-$name}"
  cp -r "$SHIMS/$name" "$W/subprojects/${dir:-$name}"
done

# DTLS fix. DtlsTransport.cpp's BIO callback answers 1 to every BIO_CB_*|BIO_CB_RETURN call
# except a bare BIO_CB_RETURN, so BIO_ctrl(BIO_CTRL_GET_KTLS_SEND) on the outgoing memory BIO
# returns 1. Debian's OpenSSL is built with KTLS (upstream's bundled OpenSSL is not), believes
# kernel TLS owns that BIO, allocates no write buffer, and the worker crashes with SIGSEGV in
# do_dtls1_write() on the first DTLS flight to a browser. A return call must pass `ret` through.
DTLS_CPP="$W/src/RTC/DtlsTransport.cpp"
sed -i 's/(operationType == BIO_CB_RETURN) ? static_cast<long>(ret) : 1;/(operationType \& BIO_CB_RETURN) ? static_cast<long>(ret) : 1;/' "$DTLS_CPP"
grep -q '(operationType & BIO_CB_RETURN) ? static_cast<long>(ret) : 1;' "$DTLS_CPP" ||
  { echo "build-mediasoup-worker: the DTLS BIO callback fix no longer applies to $DTLS_CPP: review it" >&2; exit 1; }

# Debian 12 ships meson 1.0.1; the sources declare '>= 1.1.0' but build with 1.0.
sed -i -E "s/meson_version *: *'>= *[0-9.]+'/meson_version: '>= 1.0.0'/" "$W/meson.build"

LOG="$OUT/build.log"
mkdir -p "$OUT"
quiet() { # runs a step with its output in $LOG; on failure shows the part that matters
  if ! "$@" >"$LOG" 2>&1; then
    echo "build-mediasoup-worker: '$*' failed:" >&2
    grep -E -B2 -A8 'ERROR|error:|FAILED' "$LOG" | head -40 >&2 || tail -30 "$LOG" >&2
    exit 1
  fi
}
rm -rf "$BUILD"
# Same options as mediasoup's own tasks.py Release build.
quiet meson setup "$BUILD" "$W" --wrap-mode=nodownload --prefix "$OUT" --bindir '' --libdir '' \
  --buildtype release -Db_ndebug=true ${MESON_ARGS:-}
# Generate the FlatBuffers headers first: a parallel build can race on them.
quiet meson compile -C "$BUILD" flatbuffers-generator
echo "build-mediasoup-worker: compiling (progress below is ninja's [done/total])"
if ! meson compile -C "$BUILD" -j "$JOBS" mediasoup-worker 2>&1 | tee "$LOG" |
  grep --line-buffered -E '^\[[0-9]+/[0-9]+\]' | awk '{ if (NR % 25 == 0) print "  " $1; fflush() }'; then
  echo "build-mediasoup-worker: compile failed; the end of $LOG:" >&2
  grep -E -B2 -A8 'error|FAILED' "$LOG" | head -40 >&2
  exit 1
fi
quiet meson install -C "$BUILD" --no-rebuild --tags mediasoup-worker
strip "$OUT/mediasoup-worker"
rm -rf "$BUILD" "$LOG"
