#!/bin/sh
# The integrator's path, as a TAP test: copy sdk/template, build it with its own Makefile
# against the in-tree headers, check it exports only its entry point, and have
# `parley check` load it (and refuse it when a required setting is missing); and
# `parley check` on the embedded default, which must touch no data.
srcdir=${srcdir:-.}
top_srcdir=$(cd "$srcdir/.." && pwd)
parley=$(pwd)/../core/parley
tmp=$(mktemp -d /tmp/parley-template-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
echo "1..5"

cp -r "$top_srcdir/sdk/template" "$tmp/template"
if make -s -C "$tmp/template" PARLEY_INCLUDE="$top_srcdir/sdk/include" >"$tmp/build.log" 2>&1; then
  echo "ok 1 - the template builds with its own Makefile"
else
  sed 's/^/# /' "$tmp/build.log"; echo "not ok 1 - the template builds with its own Makefile"
fi

exported=$(nm -D --defined-only "$tmp/template/example.so" 2>/dev/null | awk '$2 == "T" { print $3 }')
if [ "$exported" = "parley_plugin_entry" ]; then
  echo "ok 2 - it exports parley_plugin_entry and nothing else"
else
  echo "not ok 2 - it exports parley_plugin_entry and nothing else (got: $exported)"
fi

config() { # $1: the email channel's extra settings
  cat > "$tmp/parley.conf.lua" <<CONF
return {
  log_level = "error", data_dir = "$tmp/var", store = { backend = "memory" },
  plugin_dir = "$tmp/template", journeys_dir = srcdir .. "/scripts/journeys",
  sdk_dir = srcdir .. "/sdk/lua",
  channels = { email = { plugin = "example" $1 } },
}
CONF
}

config ', api_key = "k-123"'
if "$parley" check -c "$tmp/parley.conf.lua" >"$tmp/check.log" 2>&1; then
  echo "ok 3 - parley check loads it for a channel"
else
  sed 's/^/# /' "$tmp/check.log"; echo "not ok 3 - parley check loads it for a channel"
fi

config ''
if ! "$parley" check -c "$tmp/parley.conf.lua" >"$tmp/check.log" 2>&1 && grep -q "api_key" "$tmp/check.log"; then
  echo "ok 4 - a missing required setting is refused, naming it"
else
  sed 's/^/# /' "$tmp/check.log"; echo "not ok 4 - a missing required setting is refused, naming it"
fi

# `parley check` on the embedded default, from an empty folder: it checks, and writes nothing.
mkdir "$tmp/empty"
if (cd "$tmp/empty" && "$parley" check >"$tmp/check.log" 2>&1) && [ ! -e "$tmp/empty/var" ]; then
  echo "ok 5 - parley check passes on the embedded default and touches no data"
else
  sed 's/^/# /' "$tmp/check.log"; echo "not ok 5 - parley check passes on the embedded default and touches no data"
fi
