#!/usr/bin/env bash
# Parley bootstrap: install what a fresh Debian machine lacks, build, then either run the
# demo (`demo`, the default) or the whole test suite with sanitizers (`test`).
#
#   scripts/bootstrap.sh demo     install, build, run `parley serve` on the embedded config
#   scripts/bootstrap.sh test     install, build with --enable-sanitizers, run `make check`
#
# Debian packages are installed only when one is missing, so a second run is quick.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-demo}
packages=(build-essential autoconf automake libtool pkg-config
  libev-dev liblua5.4-dev libsodium-dev liblmdb-dev libhttp-parser-dev libcjson-dev
  libmsgpack-dev libcurl4-openssl-dev libcmocka-dev curl clang libclang-rt-14-dev
  libxml2-dev # the email channel's HTML parser (click tracking)
  libglib2.0-dev # templates: dates and times in a contact's time zone (GTimeZone)
  tzdata  # tzdata: /usr/share/zoneinfo, against which a profile's timezone is checked
  nginx-light openssl # the TLS-terminating reverse proxy the tests put in front of the daemon
  python3 # tests/webhook_receiver.py, the Standard Webhooks receiver
  libssl-dev # libcrypto: the push channel's RS256 (FCM's OAuth assertion)
  python3-cryptography # tests/fcm_provider.py checks those signatures as Google does
  python3-h2 # tests/apns_provider.py: APNs over HTTP/2, for the push channel
  nghttp2-server # nghttpd: the HTTP/2 server the host HTTP client is tested against
  libgmime-3.0-dev libxml2-dev # the email channel: MIME messages and reports, HTML
  python3-aiosmtpd # tests/smtp_sink.py, the SMTP server the email channel is tested against
  kannel # bearerbox and smsbox: the real SMS gateway the sms channel is tested against
         # (tests/integration/kannel.c, where the test is the SMSC behind `smsc = fake`)
  kannel-extras) # Kannel's own fakesmsc, to drive that fake SMSC by hand when debugging

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}" >&2
  sudo=; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  # nginx and Kannel are for the tests, which start and stop their own on loopback: the
  # packages must not start system ones listening on ports 80 and 13000-13013 (policy-rc.d
  # 101 says "do not start").
  policy=/usr/sbin/policy-rc.d made_policy=
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod 755 "$policy" && made_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  if [ -n "$made_policy" ]; then $sudo rm -f "$policy"; fi
fi

# Build output goes to bootstrap.log and is shown only when a step fails (libtool and
# configure chatter, such as "rm: cannot remove 'core'" for our core/ folder, is noise).
build_log=bootstrap.log
: > "$build_log"
quiet() { "$@" >>"$build_log" 2>&1 || { cat "$build_log" >&2; echo "bootstrap: '$*' failed (log: $build_log)" >&2; exit 1; }; }

configure_flags=()
[ "$mode" = test ] && configure_flags+=(--enable-sanitizers)
want="${configure_flags[*]:-}"
if [ ! -x configure ] || [ configure.ac -nt configure ]; then
  quiet autoreconf -fi
fi
if [ ! -f Makefile ] || [ "$(cat .bootstrap-flags 2>/dev/null)" != "$want" ]; then
  # Objects built with other flags (the sanitizers, or not) cannot be linked together:
  # a change of flags rebuilds everything.
  [ -f Makefile ] && quiet make -s clean
  quiet ./configure -q "${configure_flags[@]}"
  echo "$want" > .bootstrap-flags
fi
quiet make -s -j"$(nproc)"

case "$mode" in
  demo)
    exec ./core/parley serve ;;
  test)
    rc=0
    make -s -j"$(nproc)" check >/dev/null 2>&1 || rc=$?
    log=tests/test-suite.log
    [ -f "$log" ] || { echo "bootstrap: no $log"; echo "0 passed, 1 failed"; exit 1; }
    for f in $(find tests -name '*.log' ! -name test-suite.log); do
      if grep -qE '^(not ok|ERROR:)' "$f" || grep -qE '^# (FAIL|ERROR): *[1-9]' "$f"; then
        echo "---- $f"; cat "$f"
      fi
    done
    pass=$(sed -n 's/^# PASS: *//p' "$log" | head -1)
    fail=$(sed -n 's/^# FAIL: *//p' "$log" | head -1)
    err=$(sed -n 's/^# ERROR: *//p' "$log" | head -1)
    fail=$(( ${fail:-0} + ${err:-0} ))
    [ "$fail" -eq 0 ] && [ "$rc" -eq 0 ] || rc=1
    echo "${pass:-0} passed, ${fail} failed"
    exit $rc ;;
  *)
    echo "usage: scripts/bootstrap.sh [demo|test]" >&2; exit 2 ;;
esac
