#!/bin/sh
# The integrator's path, as a TAP test: copy sdk/template, build it with its own Makefile
# against the in-tree headers (PARLEY_CFLAGS; sdk_install.sh builds it against the
# installed SDK with pkg-config), check it exports only its entry point, and have
# `parley check` load it (and refuse it when a required setting is missing); and
# `parley check` on the embedded default, which must touch no data; and plugin signing
# (keygen, plugin sign, plugin_keys).
srcdir=${srcdir:-.}
top_srcdir=$(cd "$srcdir/.." && pwd)
parley=$(pwd)/../core/parley
EXAMPLE_API_KEY=k-123; export EXAMPLE_API_KEY
tmp=$(mktemp -d /tmp/parley-template-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
echo "1..10"

cp -r "$top_srcdir/sdk/template" "$tmp/template"
if make -s -C "$tmp/template" PARLEY_CFLAGS="-I$top_srcdir/sdk/include" >"$tmp/build.log" 2>&1; then
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

config() { # $1: the email channel's extra settings; $2: more top-level settings
  cat > "$tmp/parley.conf.lua" <<CONF
return {
  log_level = "error", data_dir = "$tmp/var", store = { backend = "memory" },
  plugin_dir = "$tmp/template", journeys_dir = srcdir .. "/scripts/journeys",
  sdk_dir = srcdir .. "/sdk/lua",
  channels = { email = { plugin = "example" $1 } },
  ${2:-}
}
CONF
}

config ', url = "https://api.example.com/v1/send", api_key = { env = "EXAMPLE_API_KEY" }'
if "$parley" check -c "$tmp/parley.conf.lua" >"$tmp/check.log" 2>&1; then
  echo "ok 3 - parley check loads it for a channel"
else
  sed 's/^/# /' "$tmp/check.log"; echo "not ok 3 - parley check loads it for a channel"
fi

config ', url = "https://api.example.com/v1/send"'
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

# Signed plugins: with plugin_keys set, only a plugin signed by one of them loads.
expect_check() { # n, description, expected exit (0/1), pattern in the output ("" for none)
  "$parley" check -c "$tmp/parley.conf.lua" >"$tmp/check.log" 2>&1
  rc=$?
  if [ "$rc" -eq "$3" ] && { [ -z "$4" ] || grep -q -- "$4" "$tmp/check.log"; }; then
    echo "ok $1 - $2"
  else
    sed 's/^/# /' "$tmp/check.log"; echo "not ok $1 - $2 (exit $rc)"
  fi
}
mkdir "$tmp/keys"
"$parley" keygen "$tmp/keys" >/dev/null 2>&1
pub=$(cat "$tmp/keys/parley-plugin.pub" 2>/dev/null)
config ', url = "https://api.example.com/v1/send", api_key = { env = "EXAMPLE_API_KEY" }' "plugin_keys = { \"$pub\" },"
expect_check 6 "an unsigned plugin is refused when plugin_keys is set" 1 "no signature"
"$parley" plugin sign "$tmp/template/example.so" "$tmp/keys/parley-plugin.key" >/dev/null 2>&1
expect_check 7 "the signed plugin loads" 0 ""
printf 'x' >> "$tmp/template/example.so"
expect_check 8 "a plugin changed after signing is refused" 1 "bad signature"
config ', url = "https://api.example.com/v1/send", api_key = { env = "EXAMPLE_API_KEY" }' 'plugin_keys = { "not-a-key" },'
expect_check 9 "a malformed key in the configuration is named" 1 "plugin_keys\[1\]: not a public key"
config ', url = "ftp://api.example.com", api_key = { env = "EXAMPLE_API_KEY" }'
expect_check 10 "init refuses a bad url in one line (set_error)" 1 \
  "init failed for channel 'email': url must start with https:// (or http://)"
