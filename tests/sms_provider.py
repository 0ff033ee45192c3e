#!/usr/bin/python3
"""A JSON-over-HTTP SMS provider for the tests, on loopback: what the sms channel's
generic dialect talks to.

    sms_provider.py LOGFILE

Prints the port it listens on (one line), then serves until killed. POST /messages takes
{"from", "to", "text", "reference", "status_callback"} (the channel's default body) and
answers as the text's first word says, counting attempts per Idempotency-Key:

    garbage       200 with an HTML page on the first attempt, then accepted
    busy          503 on the first attempt, then accepted
    reject        400 {"error": {"message": "content refused"}}
    undeliverable accepted; the receipt then says failed ("absent subscriber")
    anything else 201 {"messages": [{"id": "prov-<n>"}]}

A text it accepted gets a receipt a moment later: {"status": "delivered"} (or failed)
POSTed to its status_callback, as a provider calls back. Each request is one JSON line in
LOGFILE: the request's fields, its Idempotency-Key and Authorization, the attempt, the
status answered; each receipt a line with "receipt" and the daemon's answer."""
import json
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOGFILE = sys.argv[1]
LOCK = threading.Lock()
ATTEMPTS = {}
COUNT = [0]


def note(line):
    with LOCK:
        try:
            with open(LOGFILE, "a") as f:
                f.write(json.dumps(line) + "\n")
        except OSError:
            pass  # the test is over and its folder gone


def call_back(url, status):
    time.sleep(0.2)
    body = {"status": status}
    if status == "failed":
        body["error"] = {"message": "absent subscriber"}
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            code = r.status
    except urllib.error.HTTPError as e:
        code = e.code
    except OSError:
        code = 0
    note({"receipt": status, "url": url, "answer": code})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body, ctype="application/json"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n)
        try:
            msg = json.loads(raw)
        except ValueError:
            msg = {}
        key = self.headers.get("Idempotency-Key", "")
        with LOCK:
            ATTEMPTS[key] = ATTEMPTS.get(key, 0) + 1
            attempt = ATTEMPTS[key]
            COUNT[0] += 1
            seq = COUNT[0]
        word = (msg.get("text") or "").split(" ")[0].lower()
        line = dict(msg, idem=key, auth=self.headers.get("Authorization"), attempt=attempt, path=self.path,
                    json_ok=bool(msg))
        if word == "garbage" and attempt == 1:
            status, body, ctype = 200, "<html>maintenance</html>", "text/html"
        elif word == "busy" and attempt == 1:
            status, body, ctype = 503, "{\"error\": {\"message\": \"busy\"}}", "application/json"
        elif word == "reject":
            status, body, ctype = 400, "{\"error\": {\"message\": \"content refused\"}}", "application/json"
        else:
            status, body, ctype = 201, json.dumps({"messages": [{"id": "prov-%d" % seq}]}), "application/json"
        line["status"] = status
        note(line)
        self.answer(status, body, ctype)
        cb = msg.get("status_callback")
        if status == 201 and cb:
            threading.Thread(target=call_back, args=(cb, "failed" if word == "undeliverable" else "delivered"),
                             daemon=True).start()


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
