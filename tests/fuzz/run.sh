#!/bin/sh
# Fuzzing, as a TAP test in `make check`: builds each libFuzzer target with clang (ASan,
# UBSan) from the core sources it exercises, seeds a corpus, and runs it for a bounded
# time (PARLEY_FUZZ_SECONDS, default 6). A crash, a leak, a sanitizer report or a broken
# invariant fails the target; the input that did it is kept in tests/fuzz/crashes/.
#   targets: events (HTTP bodies, NDJSON), records (stored records), memory (conversation
#   memory, MessagePack), tmpl (message templates)
set -u
srcdir=${srcdir:-.}
top=$(cd "$srcdir/.." && pwd)
out=$(pwd)/fuzz-out
seconds=${PARLEY_FUZZ_SECONDS:-6}
mkdir -p "$out/crashes"
pkgs="lua5.4 libcjson msgpack"
cflags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I$top/core -I$top/sdk/include $(pkg-config --cflags $pkgs)"
libs="$(pkg-config --libs $pkgs) -lm"

targets="events records memory tmpl"
echo "1..4"
n=0
for t in $targets; do
  n=$((n + 1))
  case $t in
    events) src="$top/core/event.c $top/core/profile.c $top/core/text.c $top/core/timestamp.c" ;;
    records) src="$top/core/store/codec.c $top/core/store/records.c $top/core/mpcheck.c" ;;
    memory) src="$top/core/lua/lhost_memory.c $top/core/mpcheck.c" ;;
    tmpl) src="$top/core/lua/tmpl.c $top/core/util.c" ;;
  esac
  corpus="$out/corpus-$t"
  mkdir -p "$corpus"
  case $t in
    events)
      printf '{"id":"e1","type":"cart.updated","contact":"c1","data":{"items":[1,2]},"profile":{"email":"a@b.c"}}\n{"type":"x","contact":"y","time":1795000000.5}\n{"type":"x","contact":"y","time":"2026-11-18T10:30:00.250+01:00"}\n' > "$corpus/batch"
      printf '{"type":"x","contact":"c","extra":1}' > "$corpus/unknown"
      printf '{"type":"x","contact":"Zo\303\253","data":{"s":"a\\u0000b","t":"\\ud83d\\ude00"}}' > "$corpus/strings" ;;
    records)
      printf '\x98\x01\xa2c1\xa2{}\x01\x92\x07\x08\x91\x08\x92\xa1j\x05\x92\x05\xa2hi' > "$corpus/contact"
      printf '\x9e\x01\xa2c1\xa7welcome\x01\xa5nudge\xc4\x01\x80\x91\xa1e\xcd\x01\x00\x00\xc0\xc0\x01\x02\x90' > "$corpus/conv" ;;
    memory)
      printf '\x83\xa1a\x01\xa1b\x92\xc3\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00\xa1c\x81\xa1d\xa3x\x00y' > "$corpus/map" ;;
    tmpl)
      printf 'Hi {{contact.first_name|there}},\n<p>{{ items }}</p> {{a.b}}' > "$corpus/simple"
      printf '{{unclosed' > "$corpus/bad" ;;
  esac
  bin="$out/fuzz_$t"
  if ! clang $cflags -o "$bin" "$srcdir/fuzz/fuzz_$t.c" $src $libs > "$out/build-$t.log" 2>&1; then
    sed 's/^/# /' "$out/build-$t.log"
    echo "not ok $n - fuzz_$t builds"
    continue
  fi
  # A damaged MessagePack header may claim billions of elements, and msgpack-c asks malloc
  # for room for them up front. In production such a malloc fails (returns NULL) and the
  # record is refused as malformed; the options below make the fuzzer behave the same
  # instead of stopping at the first huge request.
  if ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=1 "$bin" -max_total_time="$seconds" \
      -max_len=4096 -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1048576 \
      -artifact_prefix="$out/crashes/$t-" "$corpus" > "$out/run-$t.log" 2>&1; then
    runs=$(grep -o 'Done [0-9]* runs' "$out/run-$t.log" | tail -1)
    echo "ok $n - fuzz_$t: $runs in ${seconds}s, no crash"
  else
    tail -n 40 "$out/run-$t.log" | sed 's/^/# /'
    echo "not ok $n - fuzz_$t found a failing input (kept in $out/crashes)"
  fi
done
