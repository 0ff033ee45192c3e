#!/usr/bin/python3
"""A Standard Webhooks receiver for the tests, on loopback.

    webhook_receiver.py SECRET LOGFILE

Prints the port it listens on (one line), then serves until killed. Every request is
verified as a receiver should (https://www.standardwebhooks.com): webhook-signature must
hold "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>" for the key in SECRET
("whsec_<base64>"), and webhook-timestamp must be within five minutes of now; a request
that fails either is answered 401. Then it answers as the path says, or, on "/", as the
first word of the message's contact says ("ok-1" -> ok):

    ok        200, with X-Receipt-Id: rcpt-<webhook-id>
    busy      429 with Retry-After: 2 on the first attempt, then 200
    busydate  429 with Retry-After as an HTTP date 3 s ahead on the first attempt, then 200
    slow      200 after 3 s (past the channel's timeout)
    e500      500
    hang      reads the request, then never answers
    close     reads the request, then closes the connection without a word
    bad       400 "bad payload";  gone 410;  nobody 404

Each request is one JSON line in LOGFILE: time, path, id, contact, attempt, sig_ok,
ts_ok, status (0 when nothing was answered), tenant (its X-Tenant header, or null)."""
import base64
import email.utils
import hashlib
import hmac
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET, LOGFILE = sys.argv[1], sys.argv[2]
KEY = base64.b64decode(SECRET[len("whsec_"):])
LOCK = threading.Lock()


def verify(headers, body):
    """(signature valid, timestamp within tolerance)"""
    wid = headers.get("webhook-id", "")
    ts = headers.get("webhook-timestamp", "")
    signed = ("%s.%s." % (wid, ts)).encode() + body
    want = base64.b64encode(hmac.new(KEY, signed, hashlib.sha256).digest()).decode()
    sigs = headers.get("webhook-signature", "").split(" ")
    sig_ok = any(s.startswith("v1,") and hmac.compare_digest(s[3:], want) for s in sigs)
    ts_ok = ts.isdigit() and abs(time.time() - int(ts)) <= 300
    return sig_ok, ts_ok


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def note(self, data, sig_ok, ts_ok, status):
        line = {"time": time.time(), "path": self.path, "id": self.headers.get("webhook-id"),
                "contact": data.get("contact"), "attempt": data.get("attempt"),
                "sig_ok": sig_ok, "ts_ok": ts_ok, "status": status,
                "tenant": self.headers.get("X-Tenant")}
        with LOCK, open(LOGFILE, "a") as f:
            f.write(json.dumps(line) + "\n")

    def answer(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        sig_ok, ts_ok = verify(self.headers, body)
        try:
            data = json.loads(body)["data"]
        except (ValueError, KeyError, TypeError):
            data = {}
        if not (sig_ok and ts_ok):
            self.note(data, sig_ok, ts_ok, 401)
            return self.answer(401, b"invalid signature")
        what = self.path.strip("/") or (data.get("contact") or "").split("-")[0]
        first = data.get("attempt") == 1
        if what == "ok" or (what in ("busy", "busydate") and not first):
            self.note(data, sig_ok, ts_ok, 200)
            return self.answer(200, b"{}", [("X-Receipt-Id", "rcpt-" + self.headers["webhook-id"])])
        if what == "busy":
            self.note(data, sig_ok, ts_ok, 429)
            return self.answer(429, b"", [("Retry-After", "2")])
        if what == "busydate":
            self.note(data, sig_ok, ts_ok, 429)
            when = email.utils.formatdate(time.time() + 3, usegmt=True)
            return self.answer(429, b"", [("Retry-After", when)])
        if what in ("hang", "close", "slow"):
            self.note(data, sig_ok, ts_ok, 200 if what == "slow" else 0)
            if what == "hang":
                time.sleep(3600)
            if what == "slow":
                time.sleep(3)
                return self.answer(200, b"{}")
            self.close_connection = True
            return
        status = {"e500": 500, "bad": 400, "gone": 410, "nobody": 404}.get(what, 400)
        self.note(data, sig_ok, ts_ok, status)
        return self.answer(status, b"bad payload" if status == 400 else b"")


class Server(ThreadingHTTPServer):
    daemon_threads = True


server = Server(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
