#!/bin/sh
# Fuzzing, as a TAP test in `make check`: builds each libFuzzer target with clang (ASan,
# UBSan) from the core sources it exercises, seeds a corpus, and runs it for a bounded
# time (PARLEY_FUZZ_SECONDS, default 6). A crash, a leak, a sanitizer report or a broken
# invariant fails the target; the input that did it is kept in tests/fuzz/crashes/.
#   targets: events (HTTP bodies, NDJSON; a profile sent alone), records (stored records), memory (conversation
#   memory, MessagePack), tmpl (message templates), pattern (the journeys' pattern matcher
#   against Lua's string library: find, match, gmatch, gsub), http (the HTTP server's
#   request side: whatever a client sends, every answer is whole and JSON), dsn (the email
#   channel's bounce and complaint reader, GMime underneath: every answer keeps its promises),
#   links (the email channel's click tracking, plugins/email: any HTML, libxml2 underneath),
#   sms (the sms channel's parsers, plugins/sms: texts measured, replies in any charset,
#   provider JSON and answers), push (the push channel's reading of FCM's and APNs's
#   answers, plugins/push)
set -u
srcdir=${srcdir:-.}
top=$(cd "$srcdir/.." && pwd)
out=$(pwd)/fuzz-out
seconds=${PARLEY_FUZZ_SECONDS:-6}
mkdir -p "$out/crashes"
pkgs="lua5.4 libcjson msgpack"
cflags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I$top/core -I$top/sdk/include $(pkg-config --cflags $pkgs)"
libs="$(pkg-config --libs $pkgs) -lm"

targets="events records memory tmpl pattern http dsn links sms push"
echo "1..10"
n=0
for t in $targets; do
  n=$((n + 1))
  case $t in
    events) src="$top/core/event.c $top/core/profile.c $top/core/devices.c $top/core/text.c $top/core/timestamp.c" ;;
    records) src="$top/core/store/codec.c $top/core/store/records.c $top/core/mpcheck.c" ;;
    memory) src="$top/core/lua/lhost_memory.c $top/core/mpcheck.c" ;;
    tmpl) src="$top/core/lua/tmpl_parse.c $top/core/lua/tmpl_render.c $top/core/lua/tmpl_format.c \
      $top/core/lua/tmpl_locale.c $top/core/lua/tmpl_json.c $top/core/util.c $top/core/zones.c $(pkg-config --cflags --libs glib-2.0)" ;;
    pattern) src="$top/core/lua/lhost_pattern.c $top/core/clock.c -lev" ;;
    http) src="$top/core/http/parse.c $top/core/http/reply.c $top/core/http/conn.c $top/core/util.c -lhttp_parser -lev" ;;
    dsn) src="$top/plugins/email/email_dsn.c -I$top/plugins/email $(pkg-config --cflags --libs gmime-3.0)" ;;
    sms) src="-I$top/plugins/sms $top/plugins/sms/sms_text.c $top/plugins/sms/sms_keyword.c $top/plugins/sms/sms_json.c $top/plugins/sms/sms_kannel.c $top/plugins/sms/sms_generic.c $(pkg-config --cflags --libs libcurl)" ;;
    push) src="-I$top/plugins/push $top/plugins/push/push.c $top/plugins/push/push_key.c $top/plugins/push/push_oauth.c \
      $top/plugins/push/push_fcm.c $top/plugins/push/push_fanout.c $top/plugins/push/push_receipt.c \
      $top/plugins/push/push_apns.c $top/plugins/push/push_apns_key.c $(pkg-config --cflags --libs libsodium libcrypto)" ;;
    links) src="-I$top/plugins/email $(pkg-config --cflags libxml-2.0) $top/plugins/email/email_links.c $(pkg-config --libs libxml-2.0)" ;;
  esac
  corpus="$out/corpus-$t"
  mkdir -p "$corpus"
  case $t in
    events)
      printf '{"id":"e1","type":"cart.updated","contact":"c1","data":{"items":[1,2]},"profile":{"email":"a@b.c"}}\n{"type":"x","contact":"y","time":1795000000.5}\n{"type":"x","contact":"y","time":"2026-11-18T10:30:00.250+01:00"}\n' > "$corpus/batch"
      printf '{"type":"x","contact":"c","extra":1}' > "$corpus/unknown"
      printf '{"devices":{"tok:1":{"platform":"ios","app_id":"com.a","last_seen":"2027-01-01T00:00:00Z"},"t2":null}}' > "$corpus/devices"
      printf '{"email":"a@b.co","consent":{"sms":null,"email":true},"address":{"city":"Lyon","zip":null},"tags":[1,null]}' > "$corpus/profile"
      printf '{"type":"x","contact":"Zo\303\253","data":{"s":"a\\u0000b","t":"\\ud83d\\ude00"}}' > "$corpus/strings" ;;
    records)
      printf '\x98\x01\xa2c1\xa2{}\x01\x92\x07\x08\x91\x08\x92\xa1j\x05\x92\x05\xa2hi' > "$corpus/contact"
      printf '\x9e\x01\xa2c1\xa7welcome\x01\xa5nudge\xc4\x01\x80\x91\xa1e\xcd\x01\x00\x00\xc0\xc0\x01\x02\x90' > "$corpus/conv" ;;
    memory)
      printf '\x83\xa1a\x01\xa1b\x92\xc3\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00\xa1c\x81\xa1d\xa3x\x00y' > "$corpus/map" ;;
    http)
      printf '\007GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nHEAD /a%%2Fb?q=1 HTTP/1.1\r\nHost: x\r\n\r\n' > "$corpus/pipelined"
      printf '\077POST /v1/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{"a"\r\n0\r\n\r\n' > "$corpus/chunked"
      printf '\001POST /v1/events HTTP/1.0\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\n{}\nGET / HTTP/1.1\r\n\r\n' > "$corpus/http10"
      printf '\020GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 9999\r\n\r\n' > "$corpus/big" ;;
    dsn)
      cp "$top"/tests/unit/dsn/*.eml "$corpus/" ;;
    links)
      # Byte 0: bit 0 asks for the open pixel.
      printf '\001<!DOCTYPE html><html><head><meta charset="utf-8"></head><body><p>Caf\303\251 &amp; <a href="https://a.example/?x=1&amp;y=2" data-parley-link="cta">go</a> <a href=" HTTP://b.example ">b</a> <a href="mailto:a@b.c">m</a> <a href="#top" data-parley-track="off">t</a></p></body></html>' > "$corpus/doc"
      printf '\000<div><p>unclosed <a href=https://c.example/>x<td>y</span></a><b>\360\237\230\200' > "$corpus/broken"
      printf '\001Hi <a href="https://d.example/">there</a><!--[if mso]><a href="https://e.example/">o</a><![endif]-->' > "$corpus/fragment" ;;
    push)
      printf '\006{"error":{"code":404,"status":"NOT_FOUND","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"UNREGISTERED"}]}}' > "$corpus/unregistered"
      printf '\011{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","details":[{"@type":"x.FcmError","errorCode":"QUOTA_EXCEEDED"},{"fieldViolations":[{"field":"message.token"}]}]}}\00030' > "$corpus/busy"
      printf '\007{"reason":"Unregistered","timestamp":1800000000000}' > "$corpus/apns_gone"
      printf '\000{"name":"projects/p/messages/1"}' > "$corpus/sent" ;;
    sms)
      printf '\000Hello \342\202\254 {x}\000{"messages":[{"id":"p1"}],"error":{"message":"no"}}' > "$corpus/gsm"
      printf '\001\004\077\004\100\000\041' > "$corpus/utf16"
      printf '\002 stop! \000[1,2]' > "$corpus/stop"
      printf '\003caf\351 \360\237\230\200 \000{"a":' > "$corpus/latin" ;;
    tmpl)
      printf 'Hi {{contact.first_name|there}},\n<p>{{ items }}</p> {{a.b}}' > "$corpus/simple"
      printf '{{unclosed' > "$corpus/bad"
      printf '{{#items}}\n  <li>{{name}} {{{raw}}} {{& raw}} {{price|currency:EUR}}</li>\n{{/items}}\n{{^items}}none{{/items}}{{! note }}' > "$corpus/loop"
      printf '{{#a}}{{#b}}{{.}}{{/b}}{{/a}} {{n|plural:item:items}} {{when|datetime}} {{n|number:2|x}}' > "$corpus/nested"
      printf '{{#a}}{{/b}} {{> p}} {{=<%% %%>=}} {{x|currency:eur}} {{.}}' > "$corpus/errors" ;;
    pattern)
      # One call a line: byte 0 and byte 1 in octal (see fuzz_pattern.c), subject, pattern,
      # replacement. Byte 0: 0 find, 1 match, 2 gmatch, 3 gsub, +4 plain, +8*k the k-th
      # init; byte 1: gsub's replacement (0 the string, 1 a table, 2 and 3 functions, 4 a
      # number, 5 nil, 6 true, 7 a function returning a table), +8*k the k-th n.
      k=0
      while IFS='|' read -r b0 b1 subj pat repl; do
        k=$((k + 1))
        printf "\\$b0\\$b1%s\\000%s\\000%s" "$subj" "$pat" "$repl" > "$corpus/seed$k"
      done <<'SEEDS'
001|000|  hello world  |^%s*(.-)%s*$|
001|000|  CART-42  |^%s*(.-)%s*$|
001|000|key = value|(%w+)%s*=%s*(%w+)|
001|000|2024-01-15|(%d+)-(%d+)-(%d+)|
001|000|ann.lee@example.com|^[%w._%-]+@[%w.-]+%.%a+$|
001|000|https://x.io/a?b=1|^(%a+)://([^/]+)(/?.*)$|
001|000|v1.2.3|^v(%d+)%.(%d+)%.(%d+)$|
001|000|-12.5e3|^[+-]?%d+%.?%d*[eE]?[+-]?%d*$|
001|000|x = 0x1F|0[xX](%x+)|
001|000|{"a":1}|^%s*{(.*)}%s*$|
001|000|f(a(b)c)d|%b()|
001|000|((x)|%b()|
001|000|aaa|%baa|
001|000|THE (quick) fox|%f[%a]%a+|
001|000|say "hi" now|(["'])(.-)%1|
001|000|abcabc|(abc)%1|
001|000|aXbXc|(X).-%1|
001|000|aaab|a-b|
001|000|[[x]]|%[(.*)%]|
001|000|hello|()ll()|
001|000|a,b,,c|^(.-),(.*)$|
001|000|a]b^c-d|[]^-]+|
001|000|AbC 12_x|[^%l%d ]+|
001|000|zzz|%z+|
001|000|abc|(a|
001|000|abc|[a|
001|000|abc|%|
001|000|abc|a)|
001|000|abc|%fa|
001|000|abc|(a)%2|
001|000|abc|%b|
001|000|aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa|a*a*a*a*a*a*a*a*a*a*a*a*b|
001|000|abababababababababab|(.-)(.-)(.-)(.-)(.-)c|
000|000|hello world|o w|
004|000|a.b|.|
000|000|hello|l+|
000|000|hello|$|
000|000|hello|%f[%W]|
040|000|hello|l|
070|000|hello||
050|000|hello|l?l|
002|000|one two three|%a+|
002|000|k1=v1, k2=v2|(%w+)=(%w+)|
002|000|abc||
002|000|abc|()|
002|000|a,b,,c|([^,]*)|
002|000|^a^a|^a|
002|000|abc|b*|
022|000|hello world|%a+|
003|000|hello world|o|0
003|000|hello world|(%w+)|<%1>
003|000|hello||-
003|000|abc|%w|%0%0
003|000|abc|b|%%
003|000|abc|()b|%1
003|000|abc|x*|-
003|000|abc|b*|-
003|000|aaa|^a|b
003|000|THE (quick) fox|%f[%A]|.
003|000|abc|b|%2
003|000|abc|b|x%
003|001|$name is $age|%$(%w+)|
003|001|ab|()|
003|002|k=v|(%w)=(%w)|
003|002|hello world|(o)(.)|
003|003|ab aab abb|a+|
003|004|abc|b|
003|005|abc|b|
003|007|abc|%w|
003|020|aaa|a|b
003|060|aaa|a|b
SEEDS
      ;;
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
