#!/bin/sh
# `parley test` in make check, as TAP: the shipped journeys' own tests must pass, and a
# file of deliberately wrong tests must fail, each with a message naming what went wrong.
# The small journeys under jtest/ check how the runner finds a test's journeys.
parley=$(pwd)/../core/parley
srcdir=${srcdir:-.}
out=$(mktemp /tmp/parley-jtest-XXXXXX)
trap 'rm -f "$out"' EXIT
echo "1..30"

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

# expect n description exit-code pattern...: parley exited with exit-code ($rc), every
# pattern (grep -E) is in $out, and $bad (another check's complaint) is empty.
bad=
expect() {
  n=$1 desc=$2 want=$3; shift 3
  ok=1; [ "$rc" -eq "$want" ] || ok=0
  for p in "$@"; do grep -Eq -- "$p" "$out" || { ok=0; echo "# missing: $p"; }; done
  [ -z "$bad" ] || { ok=0; echo "# $bad"; }
  if [ $ok -eq 1 ]; then echo "ok $n - $desc"; else sed 's/^/# /' "$out"; echo "not ok $n - $desc (exit $rc)"; fi
  bad=
}
j=$(cd "$srcdir/jtest" && pwd)

"$parley" test "$j/beside/tests/greet_test.lua" >"$out" 2>&1; rc=$?
expect 7 "a test in tests/ loads the journeys of the parent folder, and says which" 0 \
  "^# journeys: $j/beside\$" '^1 passed, 0 failed$'
"$parley" test "$j/beside/greet_here_test.lua" >"$out" 2>&1; rc=$?
expect 8 "a test beside journeys loads them (and is not taken for a journey)" 0 \
  "^# journeys: $j/beside\$" '^1 passed, 0 failed$'
"$parley" test "$j/greet_anywhere_test.lua" >"$out" 2>&1; rc=$?
expect 9 "a test far from any journey falls back to the configuration's journeys_dir" 1 \
  '^# journeys: .*/scripts/journeys$' '^0 passed, 1 failed$'
"$parley" test --journeys "$j/beside" "$j/greet_anywhere_test.lua" >"$out" 2>&1; rc=$?
expect 10 "--journeys DIR names the journeys folder" 0 "^# journeys: $j/beside\$" '^1 passed, 0 failed$'
"$parley" test "$j/beside/tests/greet_test.lua" "$j/failing_test.lua" >"$out" 2>&1; rc=$?
expect 11 "several test files: each loads the journeys beside it" 1 \
  "^# journeys: $j/beside\$" '^# journeys: .*/scripts/journeys$' '^2 passed, 4 failed$'

# Every command explains itself with --help (in a scratch folder: nothing may be written).
scratch=$(mktemp -d /tmp/parley-jtest-help-XXXXXX)
trap 'rm -f "$out"; rm -rf "$scratch"' EXIT
: >"$out"; rc=0
for c in serve check inspect replay send backup test keygen plugin version help; do
  (cd "$scratch" && timeout 10 "$parley" "$c" --help) >>"$out" 2>&1 || { rc=$?; echo "$c --help: exit $rc" >>"$out"; }
done
[ -z "$(ls -A "$scratch")" ] || { rc=1; echo "--help wrote files" >>"$out"; }
expect 12 "every command has --help; parley test --help tells how journeys are found" 0 \
  '^usage: parley serve' '^usage: parley check' '^usage: parley inspect' '^usage: parley replay' \
  '^usage: parley send' '^usage: parley backup' '^usage: parley keygen' '^usage: parley plugin' \
  '^usage: parley version' '^usage: parley help' '^usage: parley test .*--journeys DIR' 'tests/ folder'

# A journey that broke, or a speak the core refused, fails the test unless it expects it.
"$parley" test "$j/trouble/unexpected_test.lua" >"$out" 2>&1; rc=$?
expect 13 "failures and refusals nobody expected fail their tests" 1 '^0 passed, 8 failed$'
expect 14 "an unexpected failure or refusal names contact, journey, step and why" 1 \
  "unexpected failure: ann in journey boom, step start: step 'start': .*boom.lua:11: the cart is empty" \
  "unexpected failure: ann in journey spin, step start: step 'start' exceeded its instruction budget" \
  'unexpected refusal: bo in journey mute, step start: sms/hi: the contact has no phone for sms' \
  'unexpected failure: cy in journey boom' \
  'expected a message \{template = "hi"\}'
expect 15 "expect_failure and expect_refused that match nothing name what there was" 1 \
  'expected a failure \{contact = "ann", error = "the cart is full"\}; failed and not yet expected:' \
  '^#       ann in journey boom, step start: ' \
  'expected a refusal \{channel = "email"\}; refused and not yet expected:' \
  '^#       bo in journey mute, step start: sms/hi: the contact has no phone for sms' \
  'expected a failure \{journey = "boom"\}; failed and not yet expected: nothing'
"$parley" test "$j/trouble/expected_test.lua" >"$out" 2>&1; rc=$?
expect 16 "expect_failure, expect_refused and expect_conversation take what they expect" 0 \
  '^6 passed, 0 failed$'

"$parley" test "$j/beside/tests/memory_test.lua" >"$out" 2>&1; rc=$?
expect 17 "t:conversation() gives the memory as a Lua table" 0 '^1 passed, 0 failed$'

# print and c:log: TAP comments under the test, on stdout, nothing on stderr.
"$parley" test "$j/beside/tests/log_test.lua" >"$out" 2>"$out.err"; rc=$?
[ -s "$out.err" ] && bad="stderr: $(cat "$out.err")"
rm -f "$out.err"
awk '/^ok 1 /{ok=NR} /^# \[greet ann\]/{if (!ok) late=1} END{exit late}' "$out" ||
  bad="$bad the journey's output comes before its test line"
expect 18 "a journey's print and c:log show under the test, not on stderr" 0 \
  "$(printf '^# \\[greet ann\\] greeting\tAnn$')" '^# \[greet ann\] two lines$' '^# \[greet ann\] of log$'

# A failed expect_spoken shows what it compared: subject and the start of the text.
"$parley" test "$j/beside/tests/spoken_text_test.lua" >"$out" 2>&1; rc=$?
! grep -q END-OF-TEXT "$out" || bad="the whole text is shown, not its start"
expect 19 "a failed expect_spoken shows each message's subject and the start of its text" 1 \
  '^#       email/hello to ann \(journey greet\)$' \
  '^#         subject: "Hello from greet"$' \
  '^#         text \(first 200 of 2[0-9][0-9] characters\): "Hello Ann, the greet journey says hello\.\\n\\nThis paragraph'
"$parley" test "$srcdir/jtest/failing_test.lua" >"$out" 2>&1; rc=$?
expect 20 "a short text is shown whole" 1 \
  '^#         subject: "Welcome, there!"$' \
  '^#         text: "Hi there,\\n\\nThanks for joining us\. Reply to this email any time: a real person reads it\.\\n"$'

# A bad argument to a t: method fails that test, naming the method, the field and what is
# wrong; the runner goes on to the next test.
"$parley" test "$j/beside/tests/bad_args_test.lua" >"$out" 2>&1; rc=$?
expect 21 "every t: method refuses a bad argument with a message, never crashes or ignores it" 1 \
  '^0 passed, 22 failed$' \
  "t:expect_spoken: field 'template' must be a string, not boolean" \
  "t:expect_spoken: field 'text' must be a string, not table" \
  "t:expect_spoken: unknown field 'templat' \(known: channel, contact, journey, template, subject, text, html\)" \
  't:expect_spoken: the value at \[1\] has no field name' \
  't:expect_spoken: call it with a colon, t:expect_spoken\(...\), not t.expect_spoken\(...\)' \
  "t:event: field 'data.cart.items\[1\]' cannot hold a function" \
  "t:event: unknown field 'profil'" \
  "t:event: field 'contact' holds a NUL character" \
  't:event: takes a table, \{type = ..., contact = ...\}, not string' \
  't:advance: the duration must be a string like "90s", "4h" or "3d", not number' \
  't:advance: takes one duration, like "4h", not 2 arguments' \
  "t:advance: duration '9223372036854775000ms' is too large" \
  't:now: takes no arguments, not 1 argument' \
  't:expect_silence: takes no arguments, not 1 argument' \
  't:conversation: the contact is missing' \
  't:conversation: the journey must be a string, not table' \
  "t:expect_conversation: unknown field 'stauts'" \
  "t:expect_conversation: field 'status' must be a string, not boolean" \
  "t:expect_conversation: field 'contact' is required" \
  't:expect_failure: takes a table of fields \(contact, journey, step, error\), not string' \
  "t:expect_refused: field 'channel' must be a string, not number" \
  't:spoken: takes no arguments, not 1 argument'

"$parley" test "$j/beside/tests/memory_kinds_test.lua" >"$out" 2>&1; rc=$?
expect 22 "t:conversation() gives the memory exactly: numbered keys, floats, bytes after a NUL" 0 \
  '^1 passed, 0 failed$'

# A print at the top of a journey file runs when the journeys load, at the start of each
# test: it shows under that test, naming the file.
"$parley" test "$j/beside/tests/log_test.lua" >"$out" 2>"$out.err"; rc=$?
[ -s "$out.err" ] && bad="stderr: $(cat "$out.err")"
rm -f "$out.err"
awk '/^ok 1 /{ok=NR} /^# \[greet.lua\]/{if (!ok) late=1} END{exit late}' "$out" ||
  bad="$bad the journey's output comes before its test line"
expect 23 "a print at the top of a journey file shows under the test, naming the file" 0 \
  '^# \[greet\.lua\] loaded, with its templates beside it$' '^1 passed, 0 failed$'

# A test file is read whole (up to 4 MiB), or refused saying why; an error value that is
# not text fails its test with a message.
files=$(mktemp -d /tmp/parley-jtest-files-XXXXXX)
trap 'rm -f "$out"; rm -rf "$scratch" "$files"' EXIT
{ echo 'test("before a long comment", function(t) end)'
  awk 'BEGIN { for (i = 0; i < 20000; i++) printf "-- %075d\n", i }'
  echo 'test("after it, past the first MiB", function(t) end)'; } >"$files/long_test.lua"
printf 'error({ code = 42 })\n' >"$files/raise_test.lua"
"$parley" test --journeys "$j/beside" "$files/long_test.lua" "$files/no_such_test.lua" "$files/raise_test.lua" \
  "$j/beside/tests/error_value_test.lua" >"$out" 2>&1; rc=$?
expect 24 "a test file is read whole or refused saying why; any error value fails its test" 1 \
  '^ok 2 - .*long_test.lua: after it, past the first MiB$' \
  "^#   $files/no_such_test.lua: No such file or directory\$" \
  '^not ok 4 - .*raise_test.lua$' '^#   \(error object is a table value\)$' 'raise_test.lua:1: in main chunk$' \
  '^#   a shown error$' '^2 passed, 4 failed$'

# Out of memory keeping what a test saw fails that test saying so, never crashes the
# runner. Needs AddressSanitizer, which can refuse allocations over a size.
if ASAN_OPTIONS=help=1 "$parley" version 2>&1 | grep -q max_allocation_size_mb; then
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}allocator_may_return_null=1:max_allocation_size_mb=5" \
    "$parley" test -c "$j/loud/small.conf" "$j/loud/tests/loud_test.lua" >"$files/loud.out" 2>&1; rc=$?
  cut -c 1-200 "$files/loud.out" >"$out" # a line of the journey's output is 2 MB long
  expect 25 "out of memory keeping a journey's output fails the test saying so" 1 \
    '^#   out of memory: could not keep all that the journeys logged$' '^0 passed, 1 failed$'
else
  echo "ok 25 - out of memory keeping a journey's output fails the test saying so # SKIP no AddressSanitizer"
fi

# A test file's own print is a TAP comment naming the file, under the test that ran it (at
# the top of the file, before its tests), never a bare line on stdout.
"$parley" test "$j/beside/tests/print_test.lua" >"$out" 2>"$files/print.err"; rc=$?
[ -s "$files/print.err" ] && bad="stderr: $(cat "$files/print.err")"
notap=$(grep -v -E '^(# |ok [0-9]+ - |not ok [0-9]+ - |1\.\.[0-9]+$|[0-9]+ passed, [0-9]+ failed$)' "$out")
[ -z "$notap" ] || bad="$bad lines that are not TAP: $notap"
awk '/^ok 1 /{a=NR} /^ok 2 /{b=NR} /^# \[print_test\.lua\] declaring/{d=NR} /^# \[print_test\.lua\] posting/{p=NR}
  /^# \[print_test\.lua\] in the second/{q=NR} END{exit !(d && d < a && a < p && p < b && b < q)}' "$out" ||
  bad="$bad the prints are not under the tests that ran them"
expect 26 "a test file's print is a TAP comment naming the file, under the test that ran it" 0 \
  '^# \[print_test\.lua\] declaring the tests$' "$(printf '^# \\[print_test\\.lua\\] posting\t1\tevent$')" \
  '^# \[print_test\.lua\] two lines$' '^# \[print_test\.lua\] of print$' '^2 passed, 0 failed$'

# A bad argument to test(name, function) fails its file saying what is wrong, as a t:
# method does, not in Lua's own words ("bad argument #1 to 'test'").
printf 'test(42, function(t) end)\n' >"$files/number_name_test.lua"
printf 'test()\n' >"$files/nothing_test.lua"
printf 'test("greets ann")\n' >"$files/no_function_test.lua"
printf 'test("greets ann", { t = 1 })\n' >"$files/table_function_test.lua"
printf 'test("greets ann", function(t) end, "more")\n' >"$files/three_test.lua"
"$parley" test --journeys "$j/beside" "$files/number_name_test.lua" "$files/nothing_test.lua" \
  "$files/no_function_test.lua" "$files/table_function_test.lua" "$files/three_test.lua" >"$out" 2>&1; rc=$?
! grep -q 'bad argument' "$out" || bad="Lua's own wording: $(grep 'bad argument' "$out")"
expect 27 "test(name, function) refuses a bad argument saying what is wrong" 1 \
  'test\(name, function\): the name must be a string, not number$' \
  'test\(name, function\): the name is missing$' \
  'test\(name, function\): the function is missing: write test\("greets ann", function\(t\) \.\.\. end\)$' \
  'test\(name, function\): the second argument must be a function, not table$' \
  'test\(name, function\): takes a name and a function, not 3 arguments$' \
  'number_name_test\.lua:1: test\(name, function\)' '^0 passed, 5 failed$'

# A test declared inside a running test is refused (it would join the list being run).
printf 'test("declares a test inside a test", function(t)\n  test("inner", function(t2) end)\nend)\n' \
  >"$files/nested_test.lua"
timeout 20 "$parley" test --journeys "$j/beside" "$files/nested_test.lua" >"$out" 2>&1; rc=$?
expect 28 "a test declared inside a test is refused, not run for ever" 1 \
  'test\(name, function\): declare tests at the top of the file, not inside a test' '^0 passed, 1 failed$'

# Quiet hours in the contact's own zone, on the virtual clock.
"$parley" test -c "$srcdir/jtest/quiet/parley.conf.lua" --journeys "$srcdir/../scripts/journeys" \
  "$srcdir/jtest/quiet/quiet_test.lua" >"$out" 2>&1; rc=$?
expect 29 "a text due in the contact's night waits for its morning under parley test" 0 '^2 passed, 0 failed$'

# Offers and history queries: arbitration (scores, priority, eligibility, channels, caps,
# dates, looking without recording) and parley.history's questions, on the virtual clock.
"$parley" test "$srcdir/jtest/offers/tests/arbiter_test.lua" >"$out" 2>&1; rc=$?
expect 30 "offers are chosen, recorded, capped and dated as parley.offers says" 0 '^8 passed, 0 failed$'
