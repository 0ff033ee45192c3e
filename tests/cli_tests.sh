#!/bin/sh
# The command line as TAP: every subcommand answers --help with its usage on stdout and
# exit 0; an unknown option or a missing or extra operand exits 2 with the usage on stderr,
# and writes nothing (run in an empty scratch folder).
parley=$(pwd)/../core/parley
scratch=$(mktemp -d /tmp/parley-cli-XXXXXX)
trap 'rm -rf "$scratch"' EXIT
cmds="serve check inspect replay send backup test keygen version"
echo "1..3"

bad=
for c in $cmds "plugin sign" "plugin verify"; do
  out=$(cd "$scratch" && $parley $c --help 2>/dev/null); rc=$?
  [ $rc -eq 0 ] && echo "$out" | grep -q "^usage: parley ${c%% *}" || bad="$bad $c($rc)"
done
if [ -z "$bad" ]; then echo "ok 1 - every subcommand prints its usage for --help and exits 0"
else echo "not ok 1 - every subcommand prints its usage for --help and exits 0:$bad"; fi

bad=
for c in $cmds "plugin sign"; do
  err=$(cd "$scratch" && $parley $c --no-such-option x y 2>&1 >/dev/null); rc=$?
  [ $rc -eq 2 ] && echo "$err" | grep -q "usage: parley" || bad="$bad $c($rc)"
done
if [ -z "$bad" ]; then echo "ok 2 - an unknown option exits 2 with the usage"
else echo "not ok 2 - an unknown option exits 2 with the usage:$bad"; fi

if [ -z "$(ls -A "$scratch")" ]; then echo "ok 3 - none of that wrote a file"
else ls -A "$scratch" | sed 's/^/# /'; echo "not ok 3 - none of that wrote a file"; fi
