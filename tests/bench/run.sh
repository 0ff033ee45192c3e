#!/bin/bash
# Parley's benchmark: the real daemon (`parley serve`) over loopback HTTP, driven by
# tests/bench/loadgen. Run by `make bench` (never by `make check`):
#
#   tests/bench/run.sh BUILDDIR SRCDIR
#
# What it measures, in one run on one machine (the daemon pinned to one core, the load
# generator to another), with the shipped journeys and the `file` plugin on every channel;
# each event is a `user.signed_up` that starts a `welcome` conversation, which speaks one
# e-mail and then waits (listens, with a one-day deadline): a *waiting conversation*.
# Every answer is durable (store.sync = "commit", the default) unless said otherwise.
#
#   1. batch ingest: NDJSON bodies of BENCH_BATCH_SIZE events, as fast as possible (events/s)
#   2. stall: /healthz while the largest allowed requests arrive. The daemon applies a
#      request of more than 100 events 100 per loop turn and answers others in between;
#      this measures how long such a request still keeps a cheap one waiting. `loadgen -m
#      probe` GETs /healthz on one keep-alive connection, at most 200 times a second, for
#      BENCH_STALL_BASE_SECONDS on the idle daemon (the baseline), then for
#      BENCH_STALL_SECONDS while a `loadgen -m batch` sends requests of BENCH_STALL_SIZE
#      events (1,000: the default limits.batch_events; this configuration allows more
#      for step 1) back to back on BENCH_STALL_CONNS connections, enough of them to
#      outlast the probe at step 1's rate. Latency p50/p99/max of both, from each send.
#   3. single events, one per request, closed loop on a few keep-alive connections (req/s)
#   4. single events at a fixed offered rate (open loop), latency p50/p90/p99/max measured
#      from each request's scheduled send time (no coordinated omission)
#   4b. the commit probe (tests/bench/commitprobe): p50/p99 of one durable LMDB commit (a
#      put and mdb_txn_commit with LMDB's own flushes) in a fresh environment on the same
#      disk, BENCH_PROBE_COMMITS (2000) of them; step 4's p99 is held against its p99
#   4c. in a fresh daemon with store.sync = "interval" (BENCH_INTERVAL, "10ms"): step 4
#      again (answers before the flush, flushed at least every interval)
#   4d. in a fresh daemon with the `null` test plugin (tests/plugins/null.c: completes
#      every message at once) on every channel: step 1 again, the core's own cost
#   4e. in a fresh daemon with the decision rules on (the `file` plugin, like step 1): fatigue
#      caps (3 e-mails and 5 messages in 7 days), quiet hours on every channel (a window
#      that the run never enters, so every message is checked and none held), consent
#      policies per channel and topic, a global suppression list, and each sign-up's
#      profile in a time zone of its own (Europe/Paris): step 1 again, so the cost of the
#      checks every speak makes (they read the contact's touches) shows beside step 1
#   5. in a fresh daemon and data_dir: bytes on disk (du of data_dir) and resident memory
#      (VmRSS) before and after loading BENCH_WAITING waiting conversations, per conversation
#   6. restart: SIGTERM, start again, time from exec to the first `GET /healthz` 200 (the
#      daemon must also have logged "listening"), then check that the conversations
#      survived (contact b1 must have a conversation in status "listening").
#
# Every response must be 200 with all its events applied, and every event must have been
# spoken (the file plugin's output is counted); failures are reported, never counted as
# throughput, and make the script exit 1. Missing a target is reported as MISS but is not
# an error (set BENCH_STRICT=1 to make it one).
#
# Knobs (environment): BENCH_SCALE (default 1; 0.1 is a smoke run under a minute) scales
# every count; BENCH_BATCH_EVENTS (200000), BENCH_BATCH_SIZE (5000), BENCH_BATCH_CONNS (2),
# BENCH_STALL_SIZE (1000, not scaled), BENCH_STALL_SECONDS (10), BENCH_STALL_BASE_SECONDS (3),
# BENCH_STALL_CONNS (2), BENCH_STALL_EVENTS (derived from step 1's events/s),
# BENCH_SINGLE_REQUESTS (50000), BENCH_SINGLE_CONNS (32), BENCH_RATE (5000, not scaled),
# BENCH_RATE_SECONDS (10), BENCH_RATE_CONNS (32), BENCH_WAITING (1000000),
# BENCH_PROBE_COMMITS (2000), BENCH_INTERVAL ("10ms"), BENCH_DAEMON_CPU (0), BENCH_LOADGEN_CPU (1), BENCH_LOADGEN (BUILDDIR/tests/bench/loadgen),
# BENCH_RESULTS (BUILDDIR/tests/bench/results.json), BENCH_KEEP=1 keeps the temp dir.
set -u

builddir=$(cd "${1:-${BENCH_BUILDDIR:-.}}" && pwd) || exit 2
srcdir=$(cd "${2:-${BENCH_SRCDIR:-$(dirname "$0")/../..}}" && pwd) || exit 2
parley=$builddir/core/parley
loadgen=${BENCH_LOADGEN:-$builddir/tests/bench/loadgen}
probe=${BENCH_PROBE:-$builddir/tests/bench/commitprobe}
results=${BENCH_RESULTS:-$builddir/tests/bench/results.json}
for f in "$parley" "$loadgen" "$probe" "$builddir/tests/plugins/.libs/null.so"; do
  [ -x "$f" ] || { echo "bench: $f is missing: build it first (make bench does)" >&2; exit 2; }
done

# ---- sizes -------------------------------------------------------------------------------
scale=${BENCH_SCALE:-1}
scaled() { awk -v v="$1" -v s="$scale" -v m="$2" 'BEGIN { n = int(v * s + 0.5); print (n < m ? m : n) }'; }
n_batch=${BENCH_BATCH_EVENTS:-$(scaled 200000 1000)}
batch_size=${BENCH_BATCH_SIZE:-5000}
[ "$batch_size" -gt "$n_batch" ] && batch_size=$n_batch
batch_conns=${BENCH_BATCH_CONNS:-2}
stall_size=${BENCH_STALL_SIZE:-1000}
stall_secs=${BENCH_STALL_SECONDS:-$(scaled 10 2)}
stall_base_secs=${BENCH_STALL_BASE_SECONDS:-$(scaled 3 1)}
stall_conns=${BENCH_STALL_CONNS:-2}
n_single=${BENCH_SINGLE_REQUESTS:-$(scaled 50000 500)}
single_conns=${BENCH_SINGLE_CONNS:-32}
rate=${BENCH_RATE:-5000}
rate_secs=${BENCH_RATE_SECONDS:-$(scaled 10 2)}
rate_conns=${BENCH_RATE_CONNS:-32}
n_wait=${BENCH_WAITING:-$(scaled 1000000 1000)}
n_warm=$(scaled 2000 200)
n_probe=${BENCH_PROBE_COMMITS:-$(scaled 2000 200)}
interval=${BENCH_INTERVAL:-10ms}

# ---- machine -----------------------------------------------------------------------------
warnings=()
warn() { warnings+=("$*"); echo "bench: warning: $*" >&2; }
if nm "$parley" 2>/dev/null | grep -q __asan_init || ldd "$parley" 2>/dev/null | grep -q asan; then
  warn "core/parley is built with sanitizers: figures are not representative (configure without --enable-sanitizers)"
fi
cflags=$(sed -n 's/^CFLAGS = //p' "$builddir/Makefile" 2>/dev/null)
case " $cflags " in *" -O0 "*|*" -Og "*) warn "built with CFLAGS='$cflags': figures are not representative" ;; esac

ncpu=$(nproc 2>/dev/null || echo 1)
daemon_cpu=${BENCH_DAEMON_CPU:-0}
loadgen_cpu=${BENCH_LOADGEN_CPU:-1}
pin_daemon=() pin_loadgen=()
if command -v taskset >/dev/null && [ "$ncpu" -ge 2 ]; then
  pin_daemon=(taskset -c "$daemon_cpu")
  pin_loadgen=(taskset -c "$loadgen_cpu")
  pinning="daemon on cpu $daemon_cpu, loadgen on cpu $loadgen_cpu"
else
  warn "not pinned (needs taskset and 2 cpus; have $ncpu): daemon and loadgen share the machine"
  pinning="not pinned"
fi

# ---- daemon lifecycle --------------------------------------------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/parley-bench-XXXXXX") || exit 2
daemon_pid=
cleanup() {
  if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -TERM "$daemon_pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$daemon_pid" 2>/dev/null
  fi
  daemon_pid=
  if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "bench: kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'echo "bench: interrupted" >&2; exit 130' INT TERM

errors=()
fatal() {
  echo "bench: FAILED: $*" >&2
  [ -n "${log:-}" ] && [ -f "$log" ] && { echo "--- daemon log (last lines) ---" >&2; tail -n 20 "$log" >&2; }
  exit 1
}

# write_config DIR LOG_LEVEL PORT [PLUGIN [STORE [TOP [CHANNEL]]]]: a configuration with data in
# DIR/var and the file plugin writing to DIR/spoken.ndjson (or PLUGIN: null) on every channel,
# the store settings STORE (Lua, default none), more top-level settings TOP and settings
# CHANNEL for each channel (Lua, each ending in a comma); the journeys keep their shipped
# (long) waits.
write_config() {
  local plugin=${4:-file} store=${5:-} top=${6:-} chan=${7:-} out=", path = \"$1/spoken.ndjson\""
  [ "$plugin" = file ] || out=
  cat >"$1/parley.conf.lua" <<EOF
return {
  listen = { address = "127.0.0.1", port = $3 },
  data_dir = "$1/var",
  log_level = "$2",
  plugin_dir = "$builddir/plugins",
  plugin_path = { "$builddir/tests/plugins" }, -- the null plugin
  journeys_dir = "$srcdir/scripts/journeys",
  sdk_dir = "$srcdir/sdk/lua",
  limits = { body_bytes = 16 * 1024 * 1024, batch_events = 100000, dedupe_window = 4000000 },
  http = { auth = "none" }, -- loopback only; the bench measures the daemon, not its clients' tokens
  store = { $store },
  $top
  channels = {
    email = { $chan plugin = "$plugin"$out },
    sms = { $chan plugin = "$plugin"$out },
    push = { $chan plugin = "$plugin"$out },
  },
}
EOF
}

now_ms() { date +%s%3N; }

# start_daemon DIR CONF: starts it, sets daemon_pid, waits for /healthz (at most 120 s) and
# sets start_ms to the time from exec to the first 200.
start_daemon() {
  log=$1/daemon.log
  local t0 t1
  t0=$(now_ms)
  ${pin_daemon[@]+"${pin_daemon[@]}"} "$parley" serve -c "$2" >>"$log" 2>&1 &
  daemon_pid=$!
  local up=0
  for _ in $(seq 120); do # a second at a time, so a daemon that exits is seen at once
    "$loadgen" -p "$port" -m get -u /healthz -w 1 >/dev/null 2>&1 && { up=1; break; }
    kill -0 "$daemon_pid" 2>/dev/null || fatal "the daemon exited at start"
  done
  [ $up = 1 ] || fatal "the daemon did not answer /healthz"
  t1=$(now_ms)
  start_ms=$((t1 - t0))
  kill -0 "$daemon_pid" 2>/dev/null || fatal "the daemon exited"
}

# stop_daemon: SIGTERM, wait at most 120 s; sets stop_ms.
stop_daemon() {
  local t0 rc
  t0=$(now_ms)
  kill -TERM "$daemon_pid"
  for _ in $(seq 1200); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$daemon_pid" 2>/dev/null; then
    kill -KILL "$daemon_pid"
    errors+=("the daemon did not stop within 120 s of SIGTERM (killed)")
  fi
  wait "$daemon_pid"
  rc=$?
  [ $rc -eq 0 ] || errors+=("the daemon exited with status $rc on SIGTERM")
  stop_ms=$(($(now_ms) - t0))
  daemon_pid=
}

alive() { kill -0 "$daemon_pid" 2>/dev/null || fatal "the daemon died (during $1)"; }

# spoken_wait DIR N: waits (at most 120 s) until the file plugin wrote N lines.
spoken_wait() {
  local n=0
  for _ in $(seq 1200); do
    n=$(wc -l <"$1/spoken.ndjson" 2>/dev/null || echo 0)
    [ "$n" -ge "$2" ] && break
    sleep 0.1
  done
  [ "$n" -eq "$2" ] || errors+=("spoken: $n messages in $1/spoken.ndjson, expected $2")
}

# lg NAME ARGS...: runs loadgen pinned; keeps its JSON in $tmp/NAME.json; counts failures.
lg() {
  local name=$1
  shift
  ${pin_loadgen[@]+"${pin_loadgen[@]}"} "$loadgen" -p "$port" "$@" >"$tmp/$name.json"
  lg_check "$name" $?
}
# lg_bg NAME ARGS...: lg in the background, its pid in lg_pid; lg_wait NAME PID collects it
# (lg_check must run here, not in a subshell, for the failures to count).
lg_bg() {
  local name=$1
  shift
  ${pin_loadgen[@]+"${pin_loadgen[@]}"} "$loadgen" -p "$port" "$@" >"$tmp/$name.json" &
  lg_pid=$!
}
lg_wait() {
  wait "$2"
  lg_check "$1" $?
}
# lg_check NAME RC: loadgen NAME exited with RC; its failures go to errors.
lg_check() {
  local name=$1 rc=$2
  [ -s "$tmp/$name.json" ] || fatal "loadgen ($name) printed nothing (exit $rc)"
  if [ $rc -ne 0 ]; then
    errors+=("$name: $(jget "$tmp/$name.json" failed) failed, $(jget "$tmp/$name.json" unanswered) unanswered, timed out: $(jget "$tmp/$name.json" timed_out); first error: $(sed -n 's/.*"first_error":"\(.*\)"}$/\1/p' "$tmp/$name.json")")
  fi
}
jget() { sed -n "s/.*\"$2\":\([-0-9.a-z]*\).*/\1/p" "$1"; }

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$daemon_pid/status"; }
anon_kb() { awk '/^RssAnon:/ { print $2 }' "/proc/$daemon_pid/status"; }
disk_b() { du -sb "$1" | cut -f1; }              # apparent size (sparse files count in full)
disk_alloc_b() { du -s -B1 "$1" | cut -f1; }     # blocks actually allocated
calc() { awk "BEGIN { printf \"%.${2:-1}f\", $1 }"; }

run_id=bench-$(date +%s)-$$
echo "Parley benchmark: scale $scale, $pinning, $tmp"

# stall_events EVENTS_PER_S: events for the stall step's load, in whole requests: 1.5 times
# what that rate applies in stall_secs. The load must not end before the probe does, and
# requests of stall_size commit more often than step 1's, on a machine whose rate varies
# from run to run.
stall_events() {
  awk -v r="$1" -v t="$stall_secs" -v b="$stall_size" \
    'BEGIN { k = int(r * t * 1.5 / b + 0.999); print (k < 2 ? 2 : k) * b }'
}

# ---- 1-4: throughput and latency ---------------------------------------------------------
d1=$tmp/throughput
mkdir -p "$d1"
port=$("$loadgen" -m port)
write_config "$d1" warn "$port"
start_daemon "$d1" "$d1/parley.conf.lua"
n=1
echo "  warm-up: $n_warm single events"
lg warmup -q -m single -n "$n_warm" -c "$single_conns" -s "$n" -i "$run_id-w" -k w
echo "  batch ingest: $n_batch events, $batch_size per request, $batch_conns connections"
lg batch -m batch -n "$n_batch" -b "$batch_size" -c "$batch_conns" -s "$n" -i "$run_id" -T 600
n=$((n + n_batch)); alive "batch ingest"
n_stall=${BENCH_STALL_EVENTS:-$(stall_events "$(jget "$tmp/batch.json" events_per_s)")}
spoken_wait "$d1" $((n - 1 + n_warm)) # the baseline wants a daemon with nothing left to speak
echo "  stall: /healthz for $stall_base_secs s alone, then for $stall_secs s while $n_stall events arrive," \
  "$stall_size per request, on $stall_conns connections"
lg stall_base -m probe -u /healthz -t "$stall_base_secs"
lg_bg stall_probe -m probe -u /healthz -t "$stall_secs" -T $((stall_secs + 120))
lg stall_load -m batch -n "$n_stall" -b "$stall_size" -c "$stall_conns" -s "$n" -i "$run_id" -T 600
lg_wait stall_probe "$lg_pid"
n=$((n + n_stall)); alive "stall"
if awk "BEGIN { exit !($(jget "$tmp/stall_load.json" seconds) < $(jget "$tmp/stall_probe.json" seconds)) }"; then
  warn "stall: the load ended before the probe did: part of the probe saw an idle daemon (set BENCH_STALL_EVENTS higher)"
fi
echo "  single events, closed loop: $n_single requests on $single_conns connections"
lg single -m single -n "$n_single" -c "$single_conns" -s "$n" -i "$run_id" -T 600
n=$((n + n_single)); alive "single events"
echo "  single events, open loop: $rate req/s for $rate_secs s on $rate_conns connections"
lg rate -m rate -r "$rate" -t "$rate_secs" -c "$rate_conns" -s "$n" -i "$run_id" -T $((rate_secs + 120))
n=$((n + $(jget "$tmp/rate.json" requests))); alive "rate"
spoken_wait "$d1" $((n - 1 + n_warm))
stop_daemon

# ---- 4b: the commit probe ----------------------------------------------------------------
echo "  commit probe: $n_probe durable LMDB commits on the same disk"
${pin_daemon[@]+"${pin_daemon[@]}"} "$probe" "$tmp/probe" "$n_probe" >"$tmp/probe.json" ||
  fatal "the commit probe failed"
rm -rf "$tmp/probe"

# ---- 4c: store.sync = "interval" ---------------------------------------------------------
d3=$tmp/interval
mkdir -p "$d3"
port=$("$loadgen" -m port)
write_config "$d3" warn "$port" file "sync = \"interval\", sync_interval = \"$interval\""
start_daemon "$d3" "$d3/parley.conf.lua"
echo "  store.sync = \"interval\" ($interval): $rate req/s for $rate_secs s on $rate_conns connections"
lg warmup_interval -q -m single -n "$n_warm" -c "$single_conns" -s 1 -i "$run_id-iw" -k w
lg rate_interval -m rate -r "$rate" -t "$rate_secs" -c "$rate_conns" -s 1 -i "$run_id-i" -T $((rate_secs + 120))
alive "rate (interval)"
spoken_wait "$d3" $(($(jget "$tmp/rate_interval.json" requests) + n_warm))
stop_daemon

# ---- 4d: the null plugin -----------------------------------------------------------------
d4=$tmp/null
mkdir -p "$d4"
port=$("$loadgen" -m port)
write_config "$d4" warn "$port" null
start_daemon "$d4" "$d4/parley.conf.lua"
echo "  batch ingest with the null plugin: $n_batch events, $batch_size per request"
lg warmup_null -q -m single -n "$n_warm" -c "$single_conns" -s 1 -i "$run_id-nw" -k w
lg batch_null -m batch -n "$n_batch" -b "$batch_size" -c "$batch_conns" -s 1 -i "$run_id-n" -T 600
alive "batch ingest (null)"
stop_daemon

# ---- 4e: the decision rules on ----------------------------------------------------------
# Quiet hours from 12 to 13 hours ahead of Paris's present hour: every speak computes them in
# the contact's zone, and none is held within the run.
d5=$tmp/rules
mkdir -p "$d5"
port=$("$loadgen" -m port)
zone=Europe/Paris
qh=$((10#$(TZ=$zone date +%H)))
qfrom=$(printf '%02d:00' $(((qh + 12) % 24))) qto=$(printf '%02d:00' $(((qh + 13) % 24)))
write_config "$d5" warn "$port" file "" \
  "topics = { \"newsletter\" }, timezone = \"UTC\",
  caps = { { max = 3, per = \"7d\", channel = \"email\" }, { max = 5, per = \"7d\" } },
  suppress = { email = { \"abuse@example.com\", \"noreply@example.com\" } }," \
  "quiet_hours = { from = \"$qfrom\", to = \"$qto\" }, consent = { marketing = \"opt_out\", newsletter = \"opt_in\" },"
start_daemon "$d5" "$d5/parley.conf.lua"
echo "  batch ingest with caps, quiet hours ($qfrom-$qto $zone), consent and suppression on: $n_batch events"
lg warmup_rules -q -m single -n "$n_warm" -c "$single_conns" -s 1 -i "$run_id-rw" -k w -z "$zone"
lg batch_rules -m batch -n "$n_batch" -b "$batch_size" -c "$batch_conns" -s 1 -i "$run_id-r" -T 600 -z "$zone"
alive "batch ingest (rules)"
spoken_wait "$d5" $((n_batch + n_warm))
stop_daemon

# ---- 5: footprint of waiting conversations -----------------------------------------------
d2=$tmp/waiting
mkdir -p "$d2"
port=$("$loadgen" -m port)
write_config "$d2" warn "$port"
start_daemon "$d2" "$d2/parley.conf.lua"
first_start_ms=$start_ms
sleep 0.5
rss0=$(rss_kb) anon0=$(anon_kb) disk0=$(disk_b "$d2/var") alloc0=$(disk_alloc_b "$d2/var")
echo "  loading $n_wait waiting conversations ($batch_size per request)"
lg load -m batch -n "$n_wait" -b "$batch_size" -c "$batch_conns" -s 1 -i "$run_id" -T 900
alive "loading waiting conversations"
spoken_wait "$d2" "$n_wait"
sleep 0.5
rss1=$(rss_kb) anon1=$(anon_kb) disk1=$(disk_b "$d2/var") alloc1=$(disk_alloc_b "$d2/var")

# ---- 6: restart --------------------------------------------------------------------------
echo "  restart with $n_wait waiting conversations"
stop_daemon
stop_wait_ms=$stop_ms
disk2=$(disk_b "$d2/var") alloc2=$(disk_alloc_b "$d2/var")
sed -i 's/log_level = "warn"/log_level = "info"/' "$d2/parley.conf.lua" # to see "listening"
start_daemon "$d2" "$d2/parley.conf.lua"
restart_ms=$start_ms
grep -q "serve listening" "$log" || errors+=("restart: /healthz answered but the daemon never logged that it is listening")
rss_restart=$(rss_kb)
durable=false
if body=$("$loadgen" -p "$port" -m get -u /v1/contacts/b1 -w 0 2>/dev/null) &&
   printf '%s' "$body" | grep -q '"journey":"welcome"[^]]*"status":"listening"'; then
  durable=true
fi
stop_daemon

# ---- report ------------------------------------------------------------------------------
batch_eps=$(jget "$tmp/batch.json" events_per_s)
load_eps=$(jget "$tmp/load.json" events_per_s)
single_rps=$(jget "$tmp/single.json" requests_per_s)
r50=$(jget "$tmp/rate.json" p50) r90=$(jget "$tmp/rate.json" p90) r99=$(jget "$tmp/rate.json" p99)
rmax=$(jget "$tmp/rate.json" max) rach=$(jget "$tmp/rate.json" requests_per_s)
s50=$(jget "$tmp/single.json" p50) s99=$(jget "$tmp/single.json" p99)
b99=$(jget "$tmp/batch.json" p99)
null_eps=$(jget "$tmp/batch_null.json" events_per_s) nb99=$(jget "$tmp/batch_null.json" p99)
rules_eps=$(jget "$tmp/batch_rules.json" events_per_s) rb99=$(jget "$tmp/batch_rules.json" p99)
c50=$(jget "$tmp/probe.json" p50) c99=$(jget "$tmp/probe.json" p99) cmax=$(jget "$tmp/probe.json" max)
i50=$(jget "$tmp/rate_interval.json" p50) i99=$(jget "$tmp/rate_interval.json" p99)
imax=$(jget "$tmp/rate_interval.json" max) iach=$(jget "$tmp/rate_interval.json" requests_per_s)
hb50=$(jget "$tmp/stall_base.json" p50) hb99=$(jget "$tmp/stall_base.json" p99) hbmax=$(jget "$tmp/stall_base.json" max)
h50=$(jget "$tmp/stall_probe.json" p50) h99=$(jget "$tmp/stall_probe.json" p99) hmax=$(jget "$tmp/stall_probe.json" max)
hn=$(jget "$tmp/stall_probe.json" ok) hbn=$(jget "$tmp/stall_base.json" ok)
stall_eps=$(jget "$tmp/stall_load.json" events_per_s) stall_load_s=$(jget "$tmp/stall_load.json" seconds)
disk_per=$(calc "($disk1 - $disk0) / $n_wait" 0)
alloc_per=$(calc "($alloc1 - $alloc0) / $n_wait" 0)
rss_per=$(calc "($rss1 - $rss0) * 1024 / $n_wait" 0)
anon_per=$(calc "($anon1 - $anon0) * 1024 / $n_wait" 0)
restart_s=$(calc "$restart_ms / 1000" 3)
store=durable
[ "$durable" = true ] || store="in-memory (conversations do not survive a restart)"

verdict() { if awk "BEGIN { exit !($1) }"; then echo PASS; else echo MISS; fi; }
v_batch=$(verdict "$batch_eps >= 100000")
v_null=$(verdict "$null_eps >= 100000")
v_single=$(verdict "$single_rps >= 15000")
p99_bound=$(calc "$c99 + 1" 3)
v_p99=$(verdict "$r99 <= $p99_bound && $rach >= 0.95 * $rate")
v_interval=$(verdict "$i99 < 2 && $iach >= 0.95 * $rate")
v_stall=$(verdict "$hmax <= 100")
v_disk=$(verdict "$disk_per < 1024")
v_restart=$(verdict "$restart_ms < 5000")
[ "$durable" = true ] || { v_disk="n/a (nothing on disk)"; v_restart="n/a (not durable)"; }

row() { printf '  %-52s %s\n' "$1" "$2"; }
echo
echo "Parley benchmark results (store: $store; scale $scale; $pinning)"
row "batch ingest ($n_batch events, $batch_size/request)" "$(calc "$batch_eps" 0) events/s (request p99 $b99 ms)"
row "batch ingest while loading $n_wait waiting" "$(calc "$load_eps" 0) events/s"
row "/healthz, idle ($hbn in $stall_base_secs s): p50 / p99 / max" "$hb50 / $hb99 / $hbmax ms"
row "/healthz under $stall_size-event requests: p50 / p99 / max" "$h50 / $h99 / $hmax ms ($hn in $stall_secs s)"
row "  the requests: $n_stall events, $stall_conns connections" "$(calc "$stall_eps" 0) events/s for $stall_load_s s"
row "single events, closed loop ($single_conns conns)" "$(calc "$single_rps" 0) req/s (p50 $s50 ms, p99 $s99 ms)"
row "single events at $rate req/s for $rate_secs s (achieved)" "$(calc "$rach" 0) req/s"
row "  latency from scheduled send: p50 / p90 / p99 / max" "$r50 / $r90 / $r99 / $rmax ms"
row "one durable LMDB commit ($n_probe): p50 / p99 / max" "$c50 / $c99 / $cmax ms"
row "sync = interval ($interval), $rate req/s (achieved)" "$(calc "$iach" 0) req/s"
row "  latency from scheduled send: p50 / p99 / max" "$i50 / $i99 / $imax ms"
row "batch ingest, null plugin ($n_batch events)" "$(calc "$null_eps" 0) events/s (request p99 $nb99 ms)"
row "batch ingest, caps + quiet hours + consent on" "$(calc "$rules_eps" 0) events/s (request p99 $rb99 ms; $(calc "100 * $rules_eps / $batch_eps" 0)% of step 1)"
row "disk per waiting conversation (du -sb; allocated)" "$disk_per B; $alloc_per B  ($disk1 B for $n_wait)"
row "RSS per waiting conversation (VmRSS; anon)" "$rss_per B; $anon_per B  (VmRSS $rss0 -> $rss1 KiB)"
row "start, empty data_dir (exec to /healthz 200)" "$first_start_ms ms"
row "restart with $n_wait waiting (exec to /healthz 200)" "$restart_ms ms (RSS after $rss_restart KiB)"
row "stop (SIGTERM to exit) with $n_wait waiting" "$stop_wait_ms ms"
[ "$durable" = true ] || row "restart:" "conversations not durable yet"
echo
echo "== summary ($ncpu cores; $pinning) =="
sum() { printf '  %-52s %-24s %s\n' "$@"; }
sum "batch ingest (>= 100000 events/s)" "$(calc "$batch_eps" 0) events/s" "$v_batch"
sum "batch ingest, null plugin (>= 100000 events/s)" "$(calc "$null_eps" 0) events/s" "$v_null"
sum "batch ingest, caps + quiet hours + consent on" "$(calc "$rules_eps" 0) events/s" "($(calc "100 * $rules_eps / $batch_eps" 0)% of the first row)"
sum "single events, $single_conns conns (>= 15000 req/s)" "$(calc "$single_rps" 0) req/s" "$v_single"
sum "commit probe: one durable commit p50 / p99" "$c50 / $c99 ms" "(measured)"
sum "p99 at $rate req/s (<= probe p99 + 1 = $p99_bound ms)" "$r99 ms" "$v_p99"
sum "p99 at $rate req/s, sync=interval (< 2 ms)" "$i99 ms" "$v_interval"
sum "/healthz max, $stall_size/request (<= 100 ms)" "$hmax ms" "$v_stall"
sum "disk per waiting conv. (< 1024 B)" "$disk_per B" "$v_disk"
sum "restart with $n_wait waiting (< 5 s)" "$restart_s s" "$v_restart"
[ "$durable" = true ] || echo "  restart: conversations not durable yet (the store is in memory)"
[ "$scale" = 1 ] || echo "  scaled run (BENCH_SCALE=$scale): the targets are stated for the full run"
for w in "${warnings[@]+"${warnings[@]}"}"; do echo "  warning: $w"; done
if [ ${#errors[@]} -eq 0 ]; then
  echo "  errors: none (every request 200 with all events applied; every event spoken)"
else
  for e in "${errors[@]}"; do echo "  ERROR: $e"; done
fi

# ---- JSON --------------------------------------------------------------------------------
jstr() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }
jarr() {
  local sep="" out="["
  for x in "$@"; do out+="$sep\"$(jstr "$x")\""; sep=","; done
  printf '%s]' "$out"
}
mkdir -p "$(dirname "$results")"
cat >"$results" <<EOF
{
  "time": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "host": "$(jstr "$(uname -n)")", "cpus": $ncpu, "pinning": "$(jstr "$pinning")",
  "scale": $scale, "store_durable": $durable,
  "batch": $(cat "$tmp/batch.json"),
  "stall": {"events_per_request": $stall_size, "events": $n_stall, "connections": $stall_conns,
            "healthz_idle": $(cat "$tmp/stall_base.json"),
            "healthz_under_load": $(cat "$tmp/stall_probe.json"),
            "load": $(cat "$tmp/stall_load.json")},
  "single": $(cat "$tmp/single.json"),
  "rate": $(cat "$tmp/rate.json"),
  "commit_probe": $(cat "$tmp/probe.json"),
  "rate_interval": $(cat "$tmp/rate_interval.json"), "interval": "$interval",
  "batch_null": $(cat "$tmp/batch_null.json"),
  "batch_rules": $(cat "$tmp/batch_rules.json"), "rules_quiet_hours": "$qfrom-$qto $zone",
  "load_waiting": $(cat "$tmp/load.json"),
  "waiting": {
    "conversations": $n_wait,
    "disk_bytes_before": $disk0, "disk_bytes_after": $disk1, "disk_bytes_after_stop": $disk2,
    "disk_alloc_bytes_before": $alloc0, "disk_alloc_bytes_after": $alloc1, "disk_alloc_bytes_after_stop": $alloc2,
    "disk_bytes_per_conversation": $disk_per, "disk_alloc_bytes_per_conversation": $alloc_per,
    "rss_kib_before": $rss0, "rss_kib_after": $rss1, "rss_bytes_per_conversation": $rss_per,
    "rss_anon_kib_before": $anon0, "rss_anon_kib_after": $anon1, "rss_anon_bytes_per_conversation": $anon_per
  },
  "start_ms_empty": $first_start_ms, "restart_ms": $restart_ms, "stop_ms": $stop_wait_ms,
  "rss_kib_after_restart": $rss_restart, "conversations_survived_restart": $durable,
  "targets": {"batch_events_per_s": "$v_batch", "batch_null_events_per_s": "$v_null",
              "single_requests_per_s": "$v_single", "rate_p99_vs_probe": "$v_p99",
              "rate_interval_p99": "$v_interval", "healthz_max_under_load": "$v_stall",
              "disk_per_conversation": "$(jstr "$v_disk")",
              "restart": "$(jstr "$v_restart")"},
  "warnings": $(jarr "${warnings[@]+"${warnings[@]}"}"),
  "errors": $(jarr "${errors[@]+"${errors[@]}"}")
}
EOF
echo "  results: $results"
[ ${#errors[@]} -eq 0 ] || exit 1
if [ "${BENCH_STRICT:-0}" = 1 ]; then
  case "$v_batch $v_null $v_single $v_interval $v_stall $v_p99 $v_disk $v_restart" in *MISS*|*n/a*) exit 1 ;; esac
fi
exit 0
