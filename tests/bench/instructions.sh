#!/bin/bash
# Instructions per event, a figure a busy machine cannot move: the daemon under
# `valgrind --tool=callgrind` starts, takes EVENTS sign-ups (loadgen, two NDJSON requests)
# and stops; the total and the daemon's main paths (inclusive) are printed per event.
#
#   tests/bench/instructions.sh BUILDDIR SRCDIR [plain|rules] [EVENTS]
#
# `rules` turns on what step 4e of run.sh does (caps, quiet hours in a Europe/Paris profile,
# consent per topic, a suppression list). Build without sanitizers (./configure CFLAGS="-O2 -g").
set -u
builddir=$(cd "${1:-.}" && pwd) || exit 2
srcdir=$(cd "${2:-.}" && pwd) || exit 2
variant=${3:-plain} events=${4:-10000}
command -v valgrind >/dev/null || { echo "instructions: valgrind is not installed" >&2; exit 2; }
loadgen=$builddir/tests/bench/loadgen
[ -x "$loadgen" ] || { echo "instructions: build $loadgen first (make bench does)" >&2; exit 2; }
d=$(mktemp -d "${TMPDIR:-/tmp}/parley-instr-XXXXXX")
trap 'rm -rf "$d"' EXIT
port=$("$loadgen" -m port)
top= chan= zone=()
if [ "$variant" = rules ]; then
  top='topics = { "newsletter" }, caps = { { max = 3, per = "7d", channel = "email" }, { max = 5, per = "7d" } },
  suppress = { email = { "abuse@example.com" } },'
  qh=$((10#$(TZ=Europe/Paris date +%H)))
  chan="quiet_hours = { from = \"$(printf '%02d' $(((qh + 12) % 24))):00\", to = \"$(printf '%02d' $(((qh + 13) % 24))):00\" },
  consent = { marketing = \"opt_out\", newsletter = \"opt_in\" },"
  zone=(-z Europe/Paris)
fi
out=", path = \"$d/spoken.ndjson\""
cat >"$d/parley.conf.lua" <<EOC
return {
  listen = { address = "127.0.0.1", port = $port },
  data_dir = "$d/var", log_level = "warn", plugin_dir = "$builddir/plugins",
  journeys_dir = "$srcdir/scripts/journeys", sdk_dir = "$srcdir/sdk/lua",
  limits = { body_bytes = 16 * 1024 * 1024, batch_events = 100000, dedupe_window = 4000000 },
  http = { auth = "none" },
  $top
  channels = { email = { $chan plugin = "file"$out }, sms = { $chan plugin = "file"$out },
               push = { $chan plugin = "file"$out } },
}
EOC
valgrind --tool=callgrind --callgrind-out-file="$d/cg.out" "$builddir/core/parley" serve -c "$d/parley.conf.lua" \
  >"$d/daemon.log" 2>&1 &
pid=$!
"$loadgen" -p "$port" -m get -u /healthz -w 120 >/dev/null 2>&1 || { echo "instructions: no daemon" >&2; exit 1; }
"$loadgen" -p "$port" -q -m batch -n "$events" -b $(((events + 1) / 2)) -c 1 -s 1 -i instr ${zone[@]+"${zone[@]}"} \
  >"$d/lg.json" || { echo "instructions: loadgen failed: $(cat "$d/lg.json")" >&2; exit 1; }
for _ in $(seq 600); do [ "$(wc -l <"$d/spoken.ndjson" 2>/dev/null || echo 0)" -ge "$events" ] && break; sleep 0.1; done
kill -TERM "$pid"; wait "$pid"
total=$(sed -n 's/^summary: //p' "$d/cg.out")
echo "variant $variant, $events events: $total instructions in all, $((total / events)) per event (start and stop included)"
callgrind_annotate --inclusive=yes "$d/cg.out" 2>/dev/null |
  grep -E '  core/[a-z_/]+\.c:(conv_apply_event|run_step|lhost_run_step|event_parse|outbox_kick|gate_speak|quiet_until|supdb_gate|history_add|lm_commit|conv_note|plugin_instance_send) ' |
  awk -v n="$events" '{ gsub(",", "", $1); for (i = 2; i <= NF; i++) if ($i ~ /^core\//) f = $i
                        printf "  %-48s %8d per event\n", f, $1 / n }'
