#!/bin/sh
# An SDK that installs, as TAP: `make install` into a scratch DESTDIR puts the binary, the
# shipped plugins, journeys and Lua SDK, every public header, parley-plugin.pc and the man
# page where configure said; the installed parley, run without a configuration, finds its
# own files under that prefix and nothing of the build tree; the plugin template, copied
# anywhere, builds with pkg-config against the installed SDK, and the installed parley
# loads it from a plugin_path folder. Last, `make uninstall` takes every file away again.
srcdir=${srcdir:-.}
top_srcdir=$(cd "$srcdir/.." && pwd)
top_builddir=$(cd .. && pwd)
# The installation folders, from tests/Makefile.am (configure's defaults when run by hand).
: "${prefix:=/usr/local}" "${bindir:=$prefix/bin}" "${includedir:=$prefix/include}"
: "${libdir:=$prefix/lib}" "${pkglibdir:=$libdir/parley}" "${pkgdatadir:=$prefix/share/parley}"
: "${mandir:=$prefix/share/man}"
EXAMPLE_API_KEY=k-123; export EXAMPLE_API_KEY
tmp=$(mktemp -d /tmp/parley-install-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest
parley=$dest$bindir/parley
echo "1..13"

n=0
# result DESCRIPTION LOG: ok when the last command succeeded, else not ok with the log.
result() {
  rc=$?; n=$((n + 1))
  if [ "$rc" -eq 0 ]; then
    echo "ok $n - $1"
  else
    [ -s "${2:-/dev/null}" ] && sed 's/^/# /' "$2"
    echo "not ok $n - $1"
  fi
}
# missing FILE...: names each that is not a file, and fails when one is not.
missing() {
  m=0
  for f in "$@"; do [ -f "$f" ] || { echo "missing: $f"; m=1; }; done
  return $m
}

# This make is not a sub-make of the one running the tests: it gets none of its flags.
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$top_builddir" "$@" DESTDIR="$dest"; }
mk install >"$tmp/install.log" 2>&1
result "make install DESTDIR=... succeeds" "$tmp/install.log"

{
  missing "$parley" "$dest$pkglibdir/console.so" "$dest$pkglibdir/file.so" \
    "$dest$pkgdatadir/lua/parley/journey.lua" "$dest$pkgdatadir/lua/parley/history.lua" \
    "$dest$pkgdatadir/lua/parley/offers.lua" &&
    [ -x "$parley" ] && diff -r "$top_srcdir/scripts/journeys" "$dest$pkgdatadir/journeys"
} >"$tmp/files.log" 2>&1
result "the binary, the plugins, the Lua SDK and the journeys (templates and tests too) are installed" "$tmp/files.log"

headers() {
  found=0
  for h in "$top_srcdir"/sdk/include/parley/*.h; do
    found=1
    cmp "$h" "$dest$includedir/parley/$(basename "$h")" || { echo "not installed as it is: $h"; return 1; }
  done
  [ "$found" = 1 ]
}
headers >"$tmp/headers.log" 2>&1
result "every public header under sdk/include/parley/ is in \$(includedir)/parley" "$tmp/headers.log"

# pkg-config as a staged install is read: the sysroot is put before every folder.
export PKG_CONFIG_PATH="$dest$libdir/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$dest"
{
  missing "$dest$libdir/pkgconfig/parley-plugin.pc" &&
    cflags=$(pkg-config --cflags parley-plugin) && libs=$(pkg-config --libs parley-plugin) &&
    plugindir=$(pkg-config --variable=plugindir parley-plugin) &&
    echo "cflags '$cflags', libs '$libs', plugindir '$plugindir'" &&
    [ "$(echo $cflags)" = "-I$dest$includedir" ] && [ -z "$(echo $libs)" ] &&
    [ "$plugindir" = "$dest$pkglibdir" ]
} >"$tmp/pc.log" 2>&1
result "parley-plugin.pc: Cflags the installed headers, no Libs, plugindir the plugin folder" "$tmp/pc.log"

# The man page: a manual page, every command `parley help` lists, the folders of this build.
man1=$dest$mandir/man1/parley.1
man_page() {
  missing "$man1" && grep -q '^\.TH PARLEY 1 ' "$man1" || return 1
  for cmd in $("$parley" help | sed -n 's/^  \([a-z][a-z]*\) .*/\1/p' | sort -u); do
    grep -q "^\\\\fBparley $cmd" "$man1" || { echo "no entry for: parley $cmd"; return 1; }
  done
  for s in SYNOPSIS COMMANDS 'EXIT STATUS' ENVIRONMENT FILES; do
    grep -q "^\.SH $s\$" "$man1" || { echo "no section $s"; return 1; }
  done
  grep -q 'PARLEY_TOKEN' "$man1" && grep -q "^\.I $pkglibdir\$" "$man1" || { echo "no PARLEY_TOKEN or $pkglibdir"; return 1; }
  ! grep -n '@[a-z]*@' "$man1" || return 1
  if command -v groff >/dev/null; then
    groff -man -Tutf8 -ww -z "$man1" 2>"$tmp/groff.log" && [ ! -s "$tmp/groff.log" ] || { cat "$tmp/groff.log"; return 1; }
  fi
  if command -v man >/dev/null; then
    MANWIDTH=80 man -l "$man1" 2>&1 | grep -q 'parley check' || { echo "man -l does not show it"; return 1; }
  fi
}
man_page >"$tmp/man.log" 2>&1
result "the man page lists every command, the environment, the exit status and the files of this build" "$tmp/man.log"

# The installed binary, without -c, from an empty folder: every journey and plugin it
# loads is under the prefix, nothing is read from the build tree, and no data is written.
mkdir "$tmp/empty"
(cd "$tmp/empty" && "$parley" check) >"$tmp/check.log" 2>&1
{
  rc=$?
  paths=$(sed -n 's/.* path=\([^ ]*\).*/\1/p' "$tmp/check.log")
  [ "$rc" -eq 0 ] && [ "$(echo "$paths" | grep -c "^$dest$pkgdatadir/journeys/")" -eq "$(ls "$top_srcdir"/scripts/journeys/*.lua | wc -l)" ] &&
    [ "$(echo "$paths" | grep -c "^$dest$pkglibdir/console.so\$")" -eq 3 ] &&
    ! grep -e "$top_builddir" -e "$top_srcdir" "$tmp/check.log" && [ ! -e "$tmp/empty/var" ]
} >/dev/null 2>&1
result "the installed parley check, with no configuration, loads the journeys and plugins under the prefix" "$tmp/check.log"

(cd "$tmp/empty" && "$parley" test) >"$tmp/test.log" 2>&1 &&
  grep -q "^# journeys: $dest$pkgdatadir/journeys\$" "$tmp/test.log" && grep -q ' passed, 0 failed$' "$tmp/test.log"
result "the installed parley test runs the installed journeys' tests" "$tmp/test.log"

# The Lua SDK it reads is the installed one: broken there, the check fails naming it.
sdk=$dest$pkgdatadir/lua/parley/journey.lua
cp "$sdk" "$tmp/journey.lua.orig"
sed -i '1i error("the installed SDK, broken on purpose")' "$sdk"
! (cd "$tmp/empty" && "$parley" check) >"$tmp/broken.log" 2>&1 &&
  grep -q 'parley/journey.lua.*the installed SDK, broken on purpose' "$tmp/broken.log"
result "the installed parley reads the installed Lua SDK" "$tmp/broken.log"
cp "$tmp/journey.lua.orig" "$sdk"

# The template, copied anywhere, built against the installed SDK through pkg-config.
cp -r "$top_srcdir/sdk/template" "$tmp/template"
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$tmp/template" >"$tmp/build.log" 2>&1 &&
  grep -q "^ *$dest$includedir/parley/plugin.h:\$" "$tmp/template/example.d" # the header it used
result "the template, copied out of the tree, builds with pkg-config against the installed SDK" "$tmp/build.log"

exported=$(nm -D --defined-only "$tmp/template/example.so" 2>/dev/null | awk '$2 == "T" { print $3 }')
[ "$exported" = "parley_plugin_entry" ]
result "it exports parley_plugin_entry and nothing else (got: $exported)"

# Loaded by the installed parley from a plugin_path folder, beside a shipped plugin found
# in the default plugin_dir under the prefix.
config() { # $1: the plugin of the email channel
  cat >"$tmp/parley.conf.lua" <<CONF
return {
  log_level = "info", data_dir = "$tmp/var", store = { backend = "memory" },
  plugin_path = { "$tmp/nothing-here", "$tmp/template" },
  channels = { email = { plugin = "$1", url = "https://api.example.com/v1/send", api_key = { env = "EXAMPLE_API_KEY" } }, sms = { plugin = "console" } },
}
CONF
}
config example
"$parley" check -c "$tmp/parley.conf.lua" >"$tmp/check.log" 2>&1 &&
  grep -q "plugin:email \"plugin loaded\" plugin=example .* path=$tmp/template/example.so\$" "$tmp/check.log" &&
  grep -q "plugin:sms \"plugin loaded\" plugin=console .* path=$dest$pkglibdir/console.so\$" "$tmp/check.log"
result "the installed parley loads the template's plugin from plugin_path, the shipped one from plugin_dir" "$tmp/check.log"

config nope
! "$parley" check -c "$tmp/parley.conf.lua" >"$tmp/check.log" 2>&1 &&
  grep -q "plugin 'nope' not found: looked for nope.so (and .libs/nope.so) in $tmp/nothing-here, $tmp/template, $dest$pkglibdir" "$tmp/check.log"
result "a plugin found nowhere is refused, naming every folder looked in" "$tmp/check.log"

mk uninstall >"$tmp/uninstall.log" 2>&1 && find "$dest" -type f >>"$tmp/uninstall.log" &&
  [ -z "$(find "$dest" -type f)" ]
result "make uninstall removes every file make install put there" "$tmp/uninstall.log"
