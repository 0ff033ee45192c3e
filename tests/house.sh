#!/bin/sh
# The include rules of docs/architecture.md ("Include rules"), as TAP: each folder of
# core/ includes only what it may, plugins include only the SDK, and no two files of the
# core, nor two files of one plugin, call each other around a circle. Includes are read from the sources; calls from
# the built objects (nm), so none can hide behind a declaration.
srcdir=${srcdir:-.}
core=$(cd "$srcdir/../core" && pwd)
build=$(cd ../core && pwd)
echo "1..10"
n=0

# check DESCRIPTION FILES... -- ALLOWED (an extended regex of the quoted include paths)
check() {
  desc=$1; allowed=$2; shift 2
  n=$((n + 1))
  bad=$(grep -H '^#include "' "$@" 2>/dev/null | grep -v -E "#include \"($allowed)\"" | sed "s|$core/||")
  if [ -z "$bad" ]; then
    echo "ok $n - $desc"
  else
    echo "$bad" | sed 's/^/# /'
    echo "not ok $n - $desc"
  fi
}

ground='clock|log|duration|mpcheck|util|text|timestamp|event|profile|devices|zones|suppress|histline|srcline'
check "the ground floor (clock, log, duration, mpcheck, util, text, timestamp, event, profile, devices, zones, suppress, histline, srcline) includes only itself" \
  "($ground)\.h" "$core"/histline.[ch] "$core"/srcline.[ch] "$core"/suppress.[ch] "$core"/clock.[ch] "$core"/log.[ch] "$core"/duration.[ch] "$core"/mpcheck.[ch] \
  "$core"/util.[ch] "$core"/text.[ch] "$core"/timestamp.[ch] "$core"/event.[ch] "$core"/profile.[ch] "$core"/devices.[ch] \
  "$core"/zones.[ch]
check "cfg stands on the ground floor only" "($ground|cfg)\.h" "$core"/cfg.[ch] "$core"/cfg_rules.c "$core"/cfg_suppress.c
check "core/store includes only itself and the ground floor" \
  "(store|records|codec|smap|$ground)\.h" "$core"/store/*.[ch]
check "core/lua includes only itself and the ground floor" \
  "(lhost|lhost_int|tmpl|tmpl_int|tmpl_locale|$ground)\.h" "$core"/lua/*.[ch]
check "core/plugin includes only itself, the ground floor and the records" \
  "(plugin_load|plugin_int|plugin_sign|plugin_http|plugin_http_int|plugin_curlev|plugin_metrics|plugin_route|$ground)\.h|store/records\.h" "$core"/plugin/*.[ch]
root='outbox|outbox_lane|outbox_slim|registry|conv|erase|sweep|profile_put|devices_put|deadletter|addr|gate|quiet|supdb|syncer|context|core|stats|arms|attrib'
check "the state machine includes the root and the store, lua and plugin wings only" \
  "($root|cfg|$ground)\.h|(store|lua|plugin)/[a-z_]+\.h" \
  "$core"/outbox.[ch] "$core"/outbox_lane.[ch] "$core"/outbox_slim.[ch] "$core"/registry.[ch] "$core"/conv.[ch] "$core"/erase.[ch] "$core"/sweep.[ch] "$core"/profile_put.[ch] "$core"/devices_put.[ch] \
  "$core"/deadletter.[ch] "$core"/addr.[ch] "$core"/gate.[ch] "$core"/quiet.[ch] "$core"/supdb.[ch] "$core"/syncer.[ch] "$core"/context.h "$core"/core.[ch] \
  "$core"/stats.[ch] "$core"/stats_view.c "$core"/arms.[ch] "$core"/attrib.[ch]
check "core/http includes anything but core/cli" \
  "(http|view|api|request|routes|server|server_int|auth|auth_int|$root|cfg|$ground)\.h|(store|lua|plugin)/[a-z_]+\.h" \
  "$core"/http/*.[ch]

n=$((n + 1))
# A quoted include must name a header in the plugin's own folder (plugins/webhook/webhook.h).
bad=$(grep -rH '^#include' "$srcdir/../plugins" --include='*.[ch]' | grep -v -E '#include <' |
  while IFS= read -r hit; do
    file=${hit%%:*}; inc=$(echo "$hit" | sed -n 's/.*#include "\([a-z_]*\.h\)".*/\1/p')
    [ -n "$inc" ] && [ -f "$(dirname "$file")/$inc" ] || echo "$hit"
  done)
if [ -z "$bad" ]; then
  echo "ok $n - plugins include only system and SDK headers (<parley/plugin.h>) and their own"
else
  echo "$bad" | sed 's/^/# /'
  echo "not ok $n - plugins include only system and SDK headers (<parley/plugin.h>) and their own"
fi

# One line "caller callee" per call from one core file to another, for tsort.
n=$((n + 1))
edges=$(mktemp /tmp/parley-house-XXXXXX)
trap 'rm -f "$edges"' EXIT
for src in $(cd "$core" && find . -name '*.c' ! -name default_conf.c | sed 's|^\./||'); do
  dir=$(dirname "$src"); base=$(basename "$src" .c)
  o="$build/$dir/.libs/$base.o"
  [ -f "$o" ] || o="$build/$dir/$base.o"
  [ -f "$o" ] || continue
  nm "$o" | awk -v f="${src%.c}" \
    'NF == 3 && $2 ~ /^[TDBR]$/ { print "def", $3, f } NF == 2 && $1 == "U" { print "use", $2, f }'
done | awk '$1 == "def" { at[$2] = $3 } $1 == "use" { use[NR] = $2 " " $3 }
  END { for (i in use) { split(use[i], u, " "); if (u[1] in at && at[u[1]] != u[2]) print u[2], at[u[1]] } }' |
  sort -u >"$edges"
if [ ! -s "$edges" ]; then
  echo "not ok $n - no two core files call each other around a circle (no objects under $build)"
elif loop=$(tsort "$edges" 2>&1 >/dev/null) && [ -z "$loop" ]; then
  echo "ok $n - no two core files call each other around a circle ($(wc -l <"$edges") calls between files)"
else
  echo "$loop" | sed 's/^/# /'
  echo "not ok $n - no two core files call each other around a circle"
fi

# The same for each plugin's files (plugins/sms: sms.c on top, its parts below), from the
# objects libtool built (plugins/<name>/.libs/<lib>-<file>.o).
n=$((n + 1))
plugins_build=$(cd ../plugins && pwd)
for dir in "$srcdir"/../plugins/*/; do
  name=$(basename "$dir")
  for src in "$dir"*.c; do
    base=$(basename "$src" .c)
    for o in "$plugins_build/$name"/.libs/*-"$base".o; do
      [ -f "$o" ] && nm "$o" | awk -v f="$name/$base" \
        'NF == 3 && $2 ~ /^[TDBR]$/ { print "def", $3, f } NF == 2 && $1 == "U" { print "use", $2, f }'
    done
  done
done | awk '$1 == "def" { at[$2] = $3 } $1 == "use" { use[NR] = $2 " " $3 }
  END { for (i in use) { split(use[i], u, " "); if (u[1] in at && at[u[1]] != u[2]) print u[2], at[u[1]] } }' |
  sort -u >"$edges"
if [ ! -s "$edges" ]; then
  echo "not ok $n - no two files of a plugin call each other around a circle (no objects under $plugins_build)"
elif loop=$(tsort "$edges" 2>&1 >/dev/null) && [ -z "$loop" ]; then
  echo "ok $n - no two files of a plugin call each other around a circle ($(wc -l <"$edges") calls between files)"
else
  echo "$loop" | sed 's/^/# /'
  echo "not ok $n - no two files of a plugin call each other around a circle"
fi
