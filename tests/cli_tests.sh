#!/bin/sh
# The command line as TAP: every subcommand answers --help with its usage on stdout and
# exit 0; an unknown option or a missing or extra operand exits 2 with the usage on stderr,
# and writes nothing (run in an empty scratch folder). Then `parley token`: a token made,
# listed (never its secret), refused twice under one name, revoked.
parley=$(pwd)/../core/parley
scratch=$(mktemp -d /tmp/parley-cli-XXXXXX)
trap 'rm -rf "$scratch"' EXIT
cmds="serve check inspect replay send erase backup test keygen version token"
echo "1..11"

bad=
for c in $cmds "plugin sign" "plugin verify"; do
  out=$(cd "$scratch" && $parley $c --help 2>/dev/null); rc=$?
  [ $rc -eq 0 ] && echo "$out" | grep -q "^usage: parley ${c%% *}" || bad="$bad $c($rc)"
done
if [ -z "$bad" ]; then echo "ok 1 - every subcommand prints its usage for --help and exits 0"
else echo "not ok 1 - every subcommand prints its usage for --help and exits 0:$bad"; fi

bad=
for c in $cmds "plugin sign"; do
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
