#!/bin/sh
# The command line as TAP: every subcommand answers --help with its usage on stdout and
# exit 0; an unknown option or a missing or extra operand exits 2 with the usage on stderr,
# and writes nothing (run in an empty scratch folder). Then `parley token`: a token made,
# listed (never its secret), refused twice under one name, revoked. Last `parley plugin
# try`: the file plugin, and the webhook plugin against the test receiver
# (webhook_receiver.py, started once here), with the exit status of each outcome, and
# the email plugin against the test SMTP server (smtp_sink.py, started once here), and the
# sms plugin against the test SMS provider (sms_provider.py, generic dialect, started once
# here).
parley=$(pwd)/../core/parley
scratch=$(mktemp -d /tmp/parley-cli-XXXXXX)
trap 'rm -rf "$scratch"' EXIT
cmds="serve check inspect stats replay send erase backup test keygen version token"
echo "1..25"

bad=
for c in $cmds "plugin sign" "plugin verify" "plugin try"; do
  out=$(cd "$scratch" && $parley $c --help 2>/dev/null); rc=$?
  [ $rc -eq 0 ] && echo "$out" | grep -q "^usage: parley ${c%% *}" || bad="$bad $c($rc)"
done
if [ -z "$bad" ]; then echo "ok 1 - every subcommand prints its usage for --help and exits 0"
else echo "not ok 1 - every subcommand prints its usage for --help and exits 0:$bad"; fi

bad=
for c in $cmds "plugin sign" "plugin try"; do
  err=$(cd "$scratch" && $parley $c --no-such-option x y 2>&1 >/dev/null); rc=$?
  [ $rc -eq 2 ] && echo "$err" | grep -q "usage: parley" || bad="$bad $c($rc)"
done
if [ -z "$bad" ]; then echo "ok 2 - an unknown option exits 2 with the usage"
else echo "not ok 2 - an unknown option exits 2 with the usage:$bad"; fi

if [ -z "$(ls -A "$scratch")" ]; then echo "ok 3 - none of that wrote a file"
else ls -A "$scratch" | sed 's/^/# /'; echo "not ok 3 - none of that wrote a file"; fi

# ---- parley token, on a data_dir of its own ----
conf="$scratch/token.conf.lua"
data="$scratch/data"
printf 'return { data_dir = "%s" }\n' "$data" >"$conf"
tok() { $parley token "$@" -c "$conf"; }
# tap N DESCRIPTION CONDITION-STATUS: prints ok/not ok
tap() { if [ "$3" -eq 0 ]; then echo "ok $1 - $2"; else echo "not ok $1 - $2"; fi; }

out=$(tok create --name ci --scope events:write 2>"$scratch/err"); rc=$?
echo "$out" | grep -Eq '^prl_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$' && [ $rc -eq 0 ] &&
  [ "$(echo "$out" | wc -l)" -eq 1 ] && grep -q "shown only this once" "$scratch/err"; ok=$?
[ $ok -eq 0 ] || { echo "# rc=$rc out=$out"; sed 's/^/# /' "$scratch/err"; }
tap 4 "token create prints one token (prl_<12 hex>_<43 base64url>) on stdout, a warning on stderr" $ok
token=$out
secret=${token#prl_????????????_}

out=$(tok create --name ci --scope admin 2>"$scratch/err"); rc=$?
[ $rc -eq 1 ] && [ -z "$out" ] && grep -q "a token named 'ci' exists already" "$scratch/err"; ok=$?
tap 5 "a name taken: exit 1, nothing on stdout, the reason" $ok

bad=
err=$(tok create --name x --scope events:write,nope 2>&1 >/dev/null); rc=$?
[ $rc -eq 2 ] && echo "$err" | grep -q "unknown scope 'nope'" &&
  echo "$err" | grep -q "events:write, contacts:read, contacts:write, metrics:read, admin" || bad="$bad unknown-scope($rc)"
for args in "--name x" "--scope admin" "--name 'a b' --scope admin" "--name x --scope" "--name" "--scope ,"; do
  err=$(eval tok create "$args" 2>&1 >/dev/null); rc=$?
  [ $rc -eq 2 ] && echo "$err" | grep -q "^usage: parley token" || bad="$bad [$args]($rc)"
done
for args in "list extra" "list --name x" "revoke" "revoke a b" "nope"; do
  err=$(tok $args 2>&1 >/dev/null); rc=$?
  [ $rc -eq 2 ] && echo "$err" | grep -q "^usage: parley token" || bad="$bad [$args]($rc)"
done
tap 6 "an unknown scope (named, the valid ones listed), a missing name, scope or value: exit 2 with the usage${bad:+:$bad}" \
  "$([ -z "$bad" ]; echo $?)"

tok create --name ops --scope admin --scope contacts:read,metrics:read >/dev/null 2>&1; rc=$?
out=$(tok list 2>&1); lrc=$?
[ $rc -eq 0 ] && [ $lrc -eq 0 ] && echo "$out" | grep -Eq '^ci +[0-9a-f]{12} +20[0-9-]{8}T[0-9:]{8}Z +events:write$' &&
  echo "$out" | grep -Eq '^ops +[0-9a-f]{12} +[0-9TZ:-]+ +contacts:read,metrics:read,admin$'; ok=$?
[ $ok -eq 0 ] || echo "$out" | sed 's/^/# /'
tap 7 "token list: name, id, created, scopes (repeated --scope and comma lists add up)" $ok

! echo "$out" | grep -qF -e "$secret" -e "prl_" -e "hash" && ! grep -qF "$secret" "$data/auth/tokens" &&
  ! grep -qF "$token" "$data/auth/tokens"; ok=$?
tap 8 "neither the list nor the tokens file holds the token or its secret" $ok

modes=$(stat -c '%a' "$data/auth" "$data/auth/tokens" "$data/auth/key" | tr '\n' ' ')
[ "$modes" = "700 600 600 " ]; ok=$?
tap 9 "the auth folder is 0700, the tokens file and the key 0600 (got: $modes)" $ok

out=$(tok revoke ci 2>&1); rc=$?
[ $rc -eq 0 ] && echo "$out" | grep -q "revoked token 'ci'" && ! tok list 2>&1 | grep -q '^ci '; ok=$?
tap 10 "token revoke removes the token" $ok

err=$(tok revoke ci 2>&1 >/dev/null); rc=$?
[ $rc -eq 1 ] && echo "$err" | grep -q "no token named 'ci'"; ok=$?
tap 11 "revoking a name that is not there: exit 1 with the reason" $ok

# ---- parley plugin try ----
try() { $parley plugin try "$@" 2>"$scratch/try.err"; }
lines="$scratch/spoken.jsonl"
out=$(try file --to ann@example.com --set path="$lines" --set receipts=true --text hello); rc=$?
[ $rc -eq 0 ] && echo "$out" | grep -q '^delivered$' &&
  echo "$out" | grep -Eq '^event: \{"id":"try-[0-9a-f]{16}:delivered","type":"file.delivered"' &&
  grep -q '"channel":"file","contact":"try","address":"ann@example.com".*"text":"hello"' "$lines"; ok=$?
[ $ok -eq 0 ] || { echo "# rc=$rc"; echo "$out" | sed 's/^/# /'; sed 's/^/# /' "$scratch/try.err"; }
tap 12 "plugin try file: the message written, 'delivered' and the receipt event printed, exit 0" $ok

conf="$scratch/try.conf.lua"
printf 'return { channels = { audit = { plugin = "file", path = "%s" } } }\n' "$scratch/audit.jsonl" >"$conf"
out=$(try file --channel audit -c "$conf" --to bo@example.com); rc=$?
err=$(try file --channel nope -c "$conf" --to bo@example.com); rc2=$?
[ $rc -eq 0 ] && grep -q '"channel":"audit".*"address":"bo@example.com"' "$scratch/audit.jsonl" &&
  [ $rc2 -eq 78 ] && grep -q "no channel 'nope'" "$scratch/try.err"; ok=$?
tap 13 "plugin try --channel with -c takes that channel's settings; a channel not there: exit 78" $ok

secret=whsec_cGFybGV5LXdlYmhvb2stdGVzdC1zZWNyZXQtMzItYnk=
export HOOK_SECRET="$secret"
/usr/bin/python3 "${srcdir:-.}/webhook_receiver.py" "$secret" "$scratch/receiver.jsonl" >"$scratch/port" &
receiver=$!
trap 'kill $receiver 2>/dev/null; rm -rf "$scratch"' EXIT
for i in $(seq 100); do [ -s "$scratch/port" ] && break; sleep 0.05; done
port=$(cat "$scratch/port")
hook() { path=$1; shift; try webhook --to ann@example.com --set url="http://127.0.0.1:$port/$path" \
  --set secret='{"env":"HOOK_SECRET"}' --set timeout_ms=2000 --set provider_id_header=X-Receipt-Id --text hi "$@"; }

out=$(hook ok); rc=$?
id=$(echo "$out" | sed -n 's/^sending \(try-[0-9a-f]*\) .*/\1/p')
[ $rc -eq 0 ] && [ -n "$id" ] && echo "$out" | grep -qx "delivered: provider id rcpt-$id" &&
  grep -q "\"id\": \"$id\".*\"sig_ok\": true, \"ts_ok\": true, \"status\": 200" "$scratch/receiver.jsonl"; ok=$?
[ $ok -eq 0 ] || { echo "# rc=$rc"; echo "$out" | sed 's/^/# /'; sed 's/^/# /' "$scratch/try.err"; }
tap 14 "plugin try webhook: signed, verified by the receiver, delivered with its id, exit 0" $ok

out=$(hook bad); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -qx "failed: rejected: HTTP 400: bad payload"; ok=$?
[ $ok -eq 0 ] || { echo "# rc=$rc"; echo "$out" | sed 's/^/# /'; }
tap 15 "plugin try webhook answered 400: failed for good (rejected, the body), exit 1" $ok

out=$(hook busy); rc=$?
[ $rc -eq 75 ] && echo "$out" | grep -qx "retry: HTTP 429 (retry after 2000 ms)"; ok=$?
[ $ok -eq 0 ] || { echo "# rc=$rc"; echo "$out" | sed 's/^/# /'; }
tap 16 "plugin try webhook answered 429 Retry-After: 2: retry after 2000 ms, exit 75" $ok

out=$(try webhook --to x --set url=http://192.0.2.1/ --set secret='{"env":"HOOK_SECRET"}'); rc=$?
[ $rc -eq 78 ] && grep -q "init failed for channel 'webhook': url: http:// is only allowed to a loopback address" \
  "$scratch/try.err"; ok=$?
export SHORT=whsec_c2hvcnQ=
out2=$(try webhook --to x --set url=https://192.0.2.1/ --set secret='{"env":"SHORT"}'); rc2=$?
[ $ok -eq 0 ] && [ $rc2 -eq 78 ] && grep -q "secret: the key is 5 bytes, at least 24 are needed" "$scratch/try.err"; ok=$?
out3=$(try webhook --to x --set url=https://192.0.2.1/ --set secret="$secret"); rc3=$?
[ $ok -eq 0 ] && [ $rc3 -eq 78 ] && grep -q "setting 'secret'.*env" "$scratch/try.err" &&
  ! grep -q "$secret" "$scratch/try.err"; ok=$?
tap 17 "plugin try webhook with plain http to another host, a short secret, or one written in: exit 78, the reason" $ok

try file --set path="$lines" >/dev/null; rc=$?
grep -q "to ADDRESS is needed" "$scratch/try.err"; said=$?
try file --to x --wait forever >/dev/null; rc2=$?
[ $rc -eq 2 ] && [ $said -eq 0 ] && [ $rc2 -eq 2 ] && grep -q "^usage: parley plugin try" "$scratch/try.err"; ok=$?
tap 18 "plugin try without --to, or with a --wait that is no duration: exit 2" $ok

# The email plugin against the test SMTP server: delivered with the server's queue id; a
# 550 failed for good with the server's words; no subject, an invalid From, plain SMTP to
# a host that is not loopback: the reason, and the exit status.
/usr/bin/python3 "${srcdir:-.}/smtp_sink.py" "$scratch/smtp.jsonl" >"$scratch/smtp_port" &
sink=$!
trap 'kill $receiver $sink 2>/dev/null; rm -rf "$scratch"' EXIT
for i in $(seq 100); do [ -s "$scratch/smtp_port" ] && break; sleep 0.05; done
smtp_port=$(cat "$scratch/smtp_port")
export EMAIL_KEY=an-email-signing-key-of-forty-or-more-bytes-0123
mail() { try email --set url="smtp://127.0.0.1:$smtp_port" --set from='Shop <hello@shop.example>' \
  --set public_url=https://parley.shop.example --set signing_key='{"env":"EMAIL_KEY"}' "$@"; }
out=$(mail --to ann@example.com --subject Hi --text hello); rc=$?
out2=$(mail --to bad@example.com --subject Hi --text hello); rc2=$?
[ $rc -eq 0 ] && echo "$out" | grep -qx "delivered: provider id Q1" && [ $rc2 -eq 1 ] &&
  echo "$out2" | grep -q "^failed: invalid_address: SMTP 550 5.1.1 .*no such user"; ok=$?
[ $ok -eq 0 ] || { echo "# rc=$rc rc2=$rc2"; echo "$out$out2" | sed 's/^/# /'; sed 's/^/# /' "$scratch/try.err"; }
tap 19 "plugin try email: delivered with the server's queue id (exit 0); a 550 invalid_address with its words (exit 1)" $ok

out=$(mail --to ann@example.com --text hello); rc=$?
out2=$(mail --to ann@example.com --subject Hi --text hello --set from=nobody); rc2=$?
grep -q "init failed for channel 'email': 'nobody' is not one mailbox" "$scratch/try.err"; said=$?
out3=$(mail --to ann@example.com --subject Hi --text hello --set url=smtp://192.0.2.1:587 --set timeout='"1s"'); rc3=$?
[ $rc -eq 1 ] && echo "$out" | grep -qx "failed: other: the template has no subject" && [ $rc2 -eq 78 ] &&
  [ $said -eq 0 ] && [ $rc3 -eq 75 ]; ok=$?
[ $ok -eq 0 ] || { echo "# rc=$rc rc2=$rc2 rc3=$rc3"; echo "$out$out2$out3" | sed 's/^/# /'; }
tap 20 "plugin try email: no subject failed (exit 1), an invalid From refused (78), a server away retried (75)" $ok

# TLS: implicit (smtps://) and STARTTLS (required by the server before MAIL), the server's
# certificate trusted through ca_file; without it, the certificate does not verify: retry.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$scratch/key.pem" -out "$scratch/cert.pem" >/dev/null 2>&1
/usr/bin/python3 "${srcdir:-.}/smtp_sink.py" "$scratch/smtps.jsonl" 0 "$scratch/cert.pem" "$scratch/key.pem" smtps \
  >"$scratch/smtps_port" &
sink2=$!
/usr/bin/python3 "${srcdir:-.}/smtp_sink.py" "$scratch/starttls.jsonl" 0 "$scratch/cert.pem" "$scratch/key.pem" \
  starttls >"$scratch/starttls_port" &
sink3=$!
trap 'kill $receiver $sink $sink2 $sink3 2>/dev/null; rm -rf "$scratch"' EXIT
for i in $(seq 100); do [ -s "$scratch/smtps_port" ] && [ -s "$scratch/starttls_port" ] && break; sleep 0.05; done
tls() { try email --set from='Shop <hello@shop.example>' --set public_url=https://parley.shop.example \
  --set signing_key='{"env":"EMAIL_KEY"}' --to ann@example.com --subject Hi --text hello "$@"; }
out=$(tls --set url="smtps://127.0.0.1:$(cat "$scratch/smtps_port")" --set ca_file="$scratch/cert.pem"); rc=$?
out2=$(tls --set url="smtp://127.0.0.1:$(cat "$scratch/starttls_port")" --set ca_file="$scratch/cert.pem"); rc2=$?
out3=$(tls --set url="smtps://127.0.0.1:$(cat "$scratch/smtps_port")"); rc3=$?
[ $rc -eq 0 ] && [ $rc2 -eq 0 ] && [ $rc3 -eq 75 ] && grep -q '"tls": true' "$scratch/smtps.jsonl" &&
  grep -q '"tls": true' "$scratch/starttls.jsonl"; ok=$?
[ $ok -eq 0 ] || { echo "# rc=$rc rc2=$rc2 rc3=$rc3"; echo "$out$out2$out3" | sed 's/^/# /'; sed 's/^/# /' "$scratch/try.err"; }
tap 21 "plugin try email over TLS: smtps and STARTTLS delivered with ca_file (exit 0), an unknown certificate retried (75)" $ok

# AUTH over STARTTLS: the user and its password (a SECRET, from the environment) logged in
# and the message taken; a wrong password delivers nothing and is not "delivered".
export SMTP_PASS=s3cret SMTP_BAD=badpw-7Q
out=$(tls --set url="smtp://127.0.0.1:$(cat "$scratch/starttls_port")" --set ca_file="$scratch/cert.pem" \
  --set username=shop --set password='{"env":"SMTP_PASS"}' --to auth-ok@example.com); rc=$?
out2=$(tls --set url="smtp://127.0.0.1:$(cat "$scratch/starttls_port")" --set ca_file="$scratch/cert.pem" \
  --set username=shop --set password='{"env":"SMTP_BAD"}' --set timeout=5s --to auth-bad@example.com); rc2=$?
[ $rc -eq 0 ] && grep -q '"rcpt_tos": \["auth-ok@example.com"\].*"auth_user": "shop"' "$scratch/starttls.jsonl" &&
  [ $rc2 -eq 75 ] && echo "$out2" | grep -q "^retry: login refused: SMTP 535" &&
  ! grep -q '"rcpt_tos": \["auth-bad@example.com"\]' "$scratch/starttls.jsonl" &&
  ! grep -q "s3cret\|badpw-7Q" "$scratch/try.err"; ok=$?
[ $ok -eq 0 ] || { echo "# rc=$rc rc2=$rc2"; echo "$out$out2" | sed 's/^/# /'; sed 's/^/# /' "$scratch/try.err"; }
tap 22 "plugin try email with AUTH: logged in and delivered (exit 0); a wrong password retried as a refused login (75), no secret in the output" $ok

# The sms plugin, generic dialect, against the test provider: a text measured by the
# plugin's check and delivered with the provider's id; a text longer than max_segments
# refused by the check and never sent; the provider down: retried. public_url is a closed
# loopback port, so the provider's receipts go nowhere off this machine.
/usr/bin/python3 "${srcdir:-.}/sms_provider.py" "$scratch/sms.jsonl" >"$scratch/sms_port" &
provider=$!
trap 'kill $receiver $sink $sink2 $sink3 $provider 2>/dev/null; rm -rf "$scratch"' EXIT
for i in $(seq 100); do [ -s "$scratch/sms_port" ] && break; sleep 0.05; done
sms_port=$(cat "$scratch/sms_port")
export SMS_SECRET=an-inbound-secret-of-thirty-two-bytes-0123
sms() { try sms --set dialect=generic --set url="http://127.0.0.1:$sms_port/messages" --set from=+4915112345678 \
  --set public_url=http://127.0.0.1:1 --set inbound_secret='{"env":"SMS_SECRET"}' \
  --set id_path=messages.0.id --set error_path=error.message --set timeout=2s --to +4915199999999 "$@"; }

out=$(sms --text "Your cart misses you"); rc=$?
id=$(echo "$out" | sed -n 's/^sending \(try-[0-9a-f]*\) .*/\1/p')
[ $rc -eq 0 ] && [ -n "$id" ] && echo "$out" | grep -qx 'checked: {"segments":1,"encoding":"GSM-7","characters":20}' &&
  echo "$out" | grep -qx "delivered: provider id prov-[0-9]*" &&
  grep -q "\"to\": \"+4915199999999\", \"text\": \"Your cart misses you\", \"reference\": \"$id\".*\"status\": 201" \
    "$scratch/sms.jsonl" && ! grep -q "$SMS_SECRET" "$scratch/try.err"; ok=$?
[ $ok -eq 0 ] || { echo "# rc=$rc"; echo "$out" | sed 's/^/# /'; sed 's/^/# /' "$scratch/try.err"; }
tap 23 "plugin try sms: the text measured by check (1 GSM-7 segment), delivered with the provider's id, exit 0" $ok

long=$(printf 'Your cart: %0150d' 0)
out=$(sms --set max_segments=1 --text "$long"); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -qx "refused by check: the text needs 2 segments (161 characters in GSM-7), more than the 1 allowed" &&
  ! echo "$out" | grep -q "^delivered" && ! grep -q "Your cart: 0" "$scratch/sms.jsonl"; ok=$?
[ $ok -eq 0 ] || { echo "# rc=$rc"; echo "$out" | sed 's/^/# /'; }
tap 24 "plugin try sms: a text over max_segments refused by check with what it measured, never sent, exit 1" $ok

kill $provider; wait $provider 2>/dev/null
out=$(sms --text "Anyone there?"); rc=$?
[ $rc -eq 75 ] && echo "$out" | grep -q "^retry: the gateway did not answer: " &&
  ! grep -q "Anyone there" "$scratch/sms.jsonl"; ok=$?
[ $ok -eq 0 ] || { echo "# rc=$rc"; echo "$out" | sed 's/^/# /'; }
tap 25 "plugin try sms: the provider down, the text retried (exit 75)" $ok
