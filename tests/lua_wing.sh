#!/bin/sh
# The Lua host wing (core/lua) keeps to its side, as TAP: its files include only their own
# headers and the root's utility headers (log, clock, duration, mpcheck), and they call
# each other one way only -- no file calls back into a file that calls it, directly or
# around a circle. Calls are read from the built objects (nm), so none can hide.
srcdir=${srcdir:-.}
lua_src="$srcdir/../core/lua"
objdir=../core/lua/.libs
[ -d "$objdir" ] || objdir=../core/lua
echo "1..2"

bad=$(grep -H '^#include "' "$lua_src"/*.c "$lua_src"/*.h |
  grep -v -E '#include "(lhost|lhost_int|tmpl|log|clock|duration|mpcheck)\.h"')
if [ -z "$bad" ]; then
  echo "ok 1 - core/lua includes only its own headers and the root's utility headers"
else
  echo "$bad" | sed 's/^/# /'
  echo "not ok 1 - core/lua includes only its own headers and the root's utility headers"
fi

# One line "caller callee" per call between two files of the wing, for tsort.
edges=$(mktemp /tmp/parley-lua-wing-XXXXXX)
trap 'rm -f "$edges"' EXIT
for o in "$objdir"/*.o; do
  nm "$o" | awk -v f="$(basename "$o" .o)" \
    'NF == 3 && $2 ~ /^[TDBR]$/ { print "def", $3, f } NF == 2 && $1 == "U" { print "use", $2, f }'
done | awk '$1 == "def" { at[$2] = $3 } $1 == "use" { use[NR] = $2 " " $3 }
  END { for (i in use) { split(use[i], u, " "); if (u[1] in at && at[u[1]] != u[2]) print u[2], at[u[1]] } }' |
  sort -u >"$edges"
if [ ! -s "$edges" ]; then
  echo "not ok 2 - core/lua files call each other one way only (no objects in $objdir)"
elif loop=$(tsort "$edges" 2>&1 >/dev/null) && [ -z "$loop" ]; then
  echo "ok 2 - core/lua files call each other one way only"
else
  echo "$loop" | sed 's/^/# /'
  echo "not ok 2 - core/lua files call each other one way only"
fi
