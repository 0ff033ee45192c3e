#!/bin/sh
# `parley test` in make check, as TAP: the shipped journeys' own tests must pass, and a
# file of deliberately wrong tests must fail, each with a message naming what went wrong.
parley=$(pwd)/../core/parley
srcdir=${srcdir:-.}
out=$(mktemp /tmp/parley-jtest-XXXXXX)
trap 'rm -f "$out"' EXIT
echo "1..6"

if "$parley" test >"$out" 2>&1 && grep -q '^[1-9][0-9]* passed, 0 failed$' "$out"; then
  echo "ok 1 - the shipped journeys pass their tests ($(tail -n 1 "$out"))"
else
  sed 's/^/# /' "$out"; echo "not ok 1 - the shipped journeys pass their tests"
fi

"$parley" test "$srcdir/jtest/failing_test.lua" >"$out" 2>&1
rc=$?
check() { # n, description, pattern
  if grep -q -- "$3" "$out"; then echo "ok $1 - $2"; else sed 's/^/# /' "$out"; echo "not ok $1 - $2"; fi
}
if [ "$rc" -eq 1 ] && grep -q '^1 passed, 4 failed$' "$out"; then
  echo "ok 2 - wrong tests fail, and parley test exits 1"
else
  sed 's/^/# /' "$out"; echo "not ok 2 - wrong tests fail, and parley test exits 1 (exit $rc)"
fi
check 3 "a missing message names the pattern and what was spoken" \
  'failing_test.lua:6: expected a message {template = "welcome_nudge"}; spoken and not yet expected:'
check 4 "a wrong step names the expected and the actual" \
  'expected step "last_call", it is "follow_up"'
check 5 "unexpected messages are listed" 'email/welcome to ann (journey welcome)'
check 6 "a malformed event says what is wrong" "t:event: field 'contact' is required"
