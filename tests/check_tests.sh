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
echo "1..16"

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

# Mistakes in a journey's description or offer catalog (check/offers/, one a file) are
# refused at load, each naming the journey file and the line that wrote the mistake; so
# are a configuration's unknown time zone, malformed duration and negative cap.
t=$(mktemp -d /tmp/parley-check-offers-XXXXXX)
trap 'rm -f "$out"; rm -rf "$t"' EXIT
n=6
refused() { # file, pattern, description: `parley check` of that one journey fails so
  n=$((n + 1))
  rm -rf "$t/journeys" && mkdir -p "$t/journeys" && cp "$srcdir/check/offers/$1" "$t/journeys/"
  cat >"$t/parley.conf.lua" <<CONF
return { plugin_dir = builddir .. "/plugins", journeys_dir = "$t/journeys", sdk_dir = srcdir .. "/sdk/lua",
         store = { backend = "memory" }, channels = { email = { plugin = "console" } } }
CONF
  "$parley" check -c "$t/parley.conf.lua" >"$out" 2>&1
  rc=$?
  if [ "$rc" -ne 0 ] && grep -q -- "$2" "$out"; then echo "ok $n - $3"; else sed 's/^/# /' "$out"; echo "not ok $n - $3 (exit $rc)"; fi
}
refused offer_missing.lua "offer_missing.lua:5: offers.catalog: offer 'winback10' (the 2nd): template must be a template's name" \
  "an offer without its template: file and line of the catalog, the offer and the field"
refused offer_type.lua "offer_type.lua:5: offers.catalog: offer 'winback10' (the 2nd): value must be a number (got string)" \
  "an offer's field of the wrong type"
refused offer_date.lua "offer_date.lua:5: offers.catalog: offer 'winback10' (the 2nd): valid_from: a date is RFC 3339 text" \
  "an offer's date that is not one"
refused offer_duration.lua "offer_duration.lua:5: offers.catalog: offer 'winback10' (the 2nd): cap.per: bad duration '3x': unknown unit 'x'" \
  "an offer's cap with a malformed duration"
refused offer_cap.lua "offer_cap.lua:5: offers.catalog: offer 'winback10' (the 2nd): cap.max must be a whole number of offers, 0 or more (got -1)" \
  "an offer's cap with a negative count"
refused caps_negative.lua "caps_negative.lua:7: journey 'caps_negative': caps\[1\].max must be a whole number of messages, 0 or more" \
  "a journey's cap with a negative count, at the line of caps"
refused reenter_duration.lua "reenter_duration.lua:7: journey 'reenter_duration': entry.reenter_after: bad duration '3x'" \
  "a journey's malformed duration, at the line of the key"

config() { # settings, pattern, description: a configuration with these settings fails the check so
  n=$((n + 1))
  printf 'return { plugin_dir = builddir .. "/plugins", journeys_dir = srcdir .. "/scripts/journeys",\n  sdk_dir = srcdir .. "/sdk/lua", store = { backend = "memory" },\n  channels = { email = { plugin = "console" }, sms = { plugin = "console" }, push = { plugin = "console" } },\n  %s,\n}\n' "$1" >"$t/bad.conf.lua"
  "$parley" check -c "$t/bad.conf.lua" >"$out" 2>&1
  rc=$?
  if [ "$rc" -ne 0 ] && grep -q -- "$2" "$out"; then echo "ok $n - $3"; else sed 's/^/# /' "$out"; echo "not ok $n - $3 (exit $rc)"; fi
}
config 'timezone = "Mars/Olympus"' "bad.conf.lua:4: timezone: 'Mars/Olympus' is not an IANA time zone" \
  "a configuration's unknown time zone names the file and line"
config 'caps = { { max = 3, per = "3x" } }' "bad.conf.lua:4: caps\[1\]: 'per' must be a duration" \
  "a configuration's malformed duration names the file and line"
config 'caps = { { max = -1, per = "7d" } }' "bad.conf.lua:4: caps\[1\]" \
  "a configuration's cap with a negative count names the file and line"
