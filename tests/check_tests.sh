#!/bin/sh
# `parley check` in make check, as TAP: a journey that speaks on channels the configuration
# does not define (tests/check/) gets one warning per channel, naming the journey file, the
# lines and the channel, and the check still passes (exit 0). A configured channel, one held
# in a variable, and names in comments or other strings are not reported; nor is anything
# in the shipped journeys under the embedded default configuration. A template that does
# not compile (check/broken/) fails the check, naming its file and line.
parley=$(pwd)/../core/parley
srcdir=${srcdir:-.}
out=$(mktemp /tmp/parley-check-XXXXXX)
trap 'rm -f "$out"' EXIT
echo "1..6"

"$parley" check -c "$srcdir/check/parley.conf.lua" >"$out" 2>&1
rc=$?
warning='"journey speaks on a channel the configuration does not define"'
check() { # n, description, pattern
  if grep -q -- "$3" "$out"; then echo "ok $1 - $2"; else sed 's/^/# /' "$out"; echo "not ok $1 - $2"; fi
}
if [ "$rc" -eq 0 ] && grep -q 'INFO  check ok journeys=1 channels=1 warnings=2$' "$out"; then
  echo "ok 1 - unknown channels are warnings: the check passes and counts them"
else
  sed 's/^/# /' "$out"; echo "not ok 1 - unknown channels are warnings: the check passes and counts them (exit $rc)"
fi
check 2 "a channel used twice: one warning with both lines" \
  "WARN  check $warning journey=[^ ]*/check/journeys/fax_follow_up.lua line=15,16 channel=fax\$"
check 3 "a channel in single quotes" \
  "WARN  check $warning journey=[^ ]*/check/journeys/fax_follow_up.lua line=18 channel=pager\$"
if [ "$(grep -c -- "$warning" "$out")" -eq 2 ]; then
  echo "ok 4 - configured channels, variables, comments and other strings are not reported"
else
  sed 's/^/# /' "$out"; echo "not ok 4 - configured channels, variables, comments and other strings are not reported"
fi

"$parley" check >"$out" 2>&1
rc=$?
if [ "$rc" -eq 0 ] && ! grep -q -- "$warning" "$out" && grep -q 'check ok .* warnings=0$' "$out"; then
  echo "ok 5 - the shipped journeys speak only on configured channels"
else
  sed 's/^/# /' "$out"; echo "not ok 5 - the shipped journeys speak only on configured channels (exit $rc)"
fi

"$parley" check -c "$srcdir/check/broken/parley.conf.lua" >"$out" 2>&1
rc=$?
if [ "$rc" -ne 0 ] && grep -q 'loop/cart.txt line 4: {{/item}} does not close {{#items}} (line 2)' "$out"; then
  echo "ok 6 - a template's mismatched section fails the check, naming file and line"
else
  sed 's/^/# /' "$out"; echo "not ok 6 - a template's mismatched section fails the check, naming file and line (exit $rc)"
fi
