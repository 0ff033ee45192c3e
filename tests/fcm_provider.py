#!/usr/bin/python3
"""Google's OAuth token endpoint and FCM's HTTP v1 API, for the tests, on loopback: what
the push channel talks to.

    fcm_provider.py LOGFILE PUBLIC_KEY_PEM

Prints the port it listens on (one line), then serves until killed.

POST /token checks what Google checks of a service account's assertion (RFC 7523): the
form's grant_type is jwt-bearer; the JWT's header says RS256; its signature verifies with
PUBLIC_KEY_PEM (the public half of the key the test made); iss is CLIENT_EMAIL (below), aud this
endpoint's URL, scope FCM's; iat is not in the future nor over 5 minutes old, exp at most
an hour after it and not past. It answers {"access_token", "expires_in": 3600} or 400
{"error": "invalid_grant", "error_description": why}.

POST /v1/projects/PROJECT/messages:send checks the bearer token is one it issued (else
401 UNAUTHENTICATED), the body is {"message": {...}} with a token, data values are
strings, and the notification and data take at most 4096 bytes (else 400
INVALID_ARGUMENT). Then it answers as the device token's prefix says, counting attempts per
(token, data.parley_message_id):

    dead-     404 UNREGISTERED
    bad-      400 INVALID_ARGUMENT on message.token
    busy-     429 QUOTA_EXCEEDED with Retry-After: 1 on the first attempt, then sent
    down-     503 UNAVAILABLE on the first attempt, then sent
    garbage-  502 with an HTML page on the first attempt, then sent
    hang-     no answer for 3 s on the first attempt, then sent
    anything else: 200 {"name": "projects/PROJECT/messages/<n>"}

Each request is one JSON line in LOGFILE: kind "token" (ok, why) or "send" (token,
message, attempt, status)."""
import base64
import json
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

LOGFILE, KEYFILE = sys.argv[1:3]
CLIENT_EMAIL = "parley-test@shop-test.iam.gserviceaccount.com"  # the test's key file names these
PROJECT = "shop-test"
SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
LOCK = threading.Lock()
ATTEMPTS = {}
ISSUED = set()
COUNT = [0]
PORT = [0]
with open(KEYFILE, "rb") as f:
    PUBLIC = serialization.load_pem_public_key(f.read())


def note(line):
    with LOCK:
        try:
            with open(LOGFILE, "a") as f:
                f.write(json.dumps(line) + "\n")
        except OSError:
            pass  # the test is over and its folder gone


def unb64(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def assertion_problem(jwt):
    """None when the assertion is one Google takes, else why not."""
    parts = jwt.split(".")
    if len(parts) != 3:
        return "not a JWT"
    try:
        head, claims, sig = json.loads(unb64(parts[0])), json.loads(unb64(parts[1])), unb64(parts[2])
    except ValueError:
        return "not base64url JSON"
    if head.get("alg") != "RS256" or head.get("typ") != "JWT":
        return "header must say alg RS256, typ JWT"
    try:
        PUBLIC.verify(sig, (parts[0] + "." + parts[1]).encode(), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return "signature does not verify"
    now = time.time()
    if claims.get("iss") != CLIENT_EMAIL:
        return "iss is not the service account"
    if claims.get("aud") != "http://127.0.0.1:%d/token" % PORT[0]:
        return "aud is not the token endpoint"
    if claims.get("scope") != SCOPE:
        return "scope is not firebase.messaging"
    iat, exp = claims.get("iat"), claims.get("exp")
    if not isinstance(iat, int) or not isinstance(exp, int):
        return "iat and exp must be integers"
    if iat > now + 60 or iat < now - 300:
        return "iat is in the future or too old"
    if exp <= now or exp - iat > 3600:
        return "exp is past, or more than an hour after iat"
    return None


def fcm_error(http, status, code, extra=None):
    details = [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": code}]
    if extra:
        details.append(extra)
    return json.dumps({"error": {"code": http, "message": code.lower(), "status": status, "details": details}})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body, ctype="application/json", headers=()):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # a client that gave up waiting (hang-)

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/token":
            self.token(raw)
        elif self.path == "/v1/projects/%s/messages:send" % PROJECT:
            self.send(raw)
        else:
            self.answer(404, json.dumps({"error": {"code": 404, "status": "NOT_FOUND"}}))

    def token(self, raw):
        form = urllib.parse.parse_qs(raw.decode(errors="replace"))
        why = None
        if self.headers.get("Content-Type") != "application/x-www-form-urlencoded":
            why = "not a form"
        elif form.get("grant_type") != [GRANT]:
            why = "grant_type is not jwt-bearer"
        else:
            why = assertion_problem((form.get("assertion") or [""])[0])
        note({"kind": "token", "ok": why is None, "why": why})
        if why:
            self.answer(400, json.dumps({"error": "invalid_grant", "error_description": why}))
            return
        with LOCK:
            COUNT[0] += 1
            tok = "ya29.test-%d" % COUNT[0]
            ISSUED.add(tok)
        self.answer(200, json.dumps({"access_token": tok, "expires_in": 3600, "token_type": "Bearer"}))

    def send(self, raw):
        auth = self.headers.get("Authorization", "")
        try:
            msg = json.loads(raw)["message"]
            token = msg["token"]
        except (ValueError, KeyError, TypeError):
            msg, token = None, None
        line = {"kind": "send", "token": token, "message": msg}
        with LOCK:
            known = auth.startswith("Bearer ") and auth[7:] in ISSUED
        payload = len(json.dumps(msg.get("notification", {}), separators=(",", ":"))) + \
            len(json.dumps(msg.get("data", {}), separators=(",", ":"))) if msg else 0
        if not known:
            status, body = 401, json.dumps({"error": {"code": 401, "status": "UNAUTHENTICATED"}})
        elif token is None or not isinstance(msg.get("data", {}), dict) or \
                not all(isinstance(v, str) for v in msg.get("data", {}).values()) or payload > 4096:
            status, body = 400, fcm_error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT")
        else:
            status, body = self.as_token_says(token, msg, line)
        line["status"] = status
        note(line)
        if status == 0:
            return
        headers = [("Retry-After", "1")] if status == 429 else []
        self.answer(status, body, "text/html" if body.startswith("<") else "application/json", headers)

    def as_token_says(self, token, msg, line):
        key = (token, msg.get("data", {}).get("parley_message_id"))
        with LOCK:
            ATTEMPTS[key] = ATTEMPTS.get(key, 0) + 1
            attempt = ATTEMPTS[key]
            COUNT[0] += 1
            n = COUNT[0]
        line["attempt"] = attempt
        if token.startswith("dead-"):
            return 404, fcm_error(404, "NOT_FOUND", "UNREGISTERED")
        if token.startswith("bad-"):
            return 400, fcm_error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": "message.token", "description": "Invalid registration token"}]})
        if attempt == 1 and token.startswith("busy-"):
            return 429, fcm_error(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED")
        if attempt == 1 and token.startswith("down-"):
            return 503, fcm_error(503, "UNAVAILABLE", "UNAVAILABLE")
        if attempt == 1 and token.startswith("garbage-"):
            return 502, "<html>bad gateway</html>"
        if attempt == 1 and token.startswith("hang-"):
            time.sleep(3)
        return 200, json.dumps({"name": "projects/%s/messages/%d" % (PROJECT, n)})


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    PORT[0] = server.server_address[1]
    print(PORT[0], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
