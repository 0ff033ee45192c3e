#!/usr/bin/python3
"""Apple's APNs provider API, for the tests, on loopback: HTTP/2 over TLS (python3-h2),
what the push channel's iOS devices go to.

    apns_provider.py LOGFILE DIR

DIR holds the test's files: server.pem and server.key (the certificate it serves, for
127.0.0.1, which the daemon trusts through http_client.ca_file) and apns.pub (the public
half of the team's .p8 key). Prints the port it listens on (one line), then serves until
killed.

POST /3/device/<token> checks what APNs checks: "authorization: bearer <JWT>" whose
header is {"alg": "ES256", "kid": KEY_ID} and claims {"iss": TEAM_ID, "iat"}, the ES256
signature (r || s) verifying with apns.pub, iat not in the future nor over an hour old
(else 403 ExpiredProviderToken / InvalidProviderToken); apns-topic is TOPIC (else 400
BadTopic);
apns-push-type is alert or background, apns-priority 10 or 5 (5 for background); the body
is JSON of at most 4096 bytes (else 413 PayloadTooLarge). Then it answers as the token's
prefix says, counting attempts per (token, apns-id):

    dead-    410 Unregistered
    bad-     400 BadDeviceToken
    busy-    429 TooManyRequests on the first attempt, then sent
    down-    503 ServiceUnavailable on the first attempt, then sent
    anything else: 200 with the request's apns-id

Each request is one JSON line in LOGFILE: token, headers, body, status, attempt, the
connection it came on (conn) and the JWT's iat."""
import base64
import json
import os
import socket
import ssl
import sys
import threading
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

LOGFILE, DIR = sys.argv[1:3]
KEY_ID, TEAM_ID, TOPIC = "ABC123DEFG", "TEAM123456", "com.example.shop"  # the test's settings
LOCK = threading.Lock()
ATTEMPTS = {}
CONNS = [0]
with open(os.path.join(DIR, "apns.pub"), "rb") as f:
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


def token_problem(auth):
    """None, or (status, reason, iat) for a provider token APNs would refuse."""
    if not auth.startswith("bearer "):
        return 403, "MissingProviderToken", None
    parts = auth[7:].split(".")
    try:
        head, claims, sig = json.loads(unb64(parts[0])), json.loads(unb64(parts[1])), unb64(parts[2])
    except (ValueError, IndexError):
        return 403, "InvalidProviderToken", None
    iat = claims.get("iat")
    if head.get("alg") != "ES256" or head.get("kid") != KEY_ID or claims.get("iss") != TEAM_ID or len(sig) != 64:
        return 403, "InvalidProviderToken", iat
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    try:
        PUBLIC.verify(der, (parts[0] + "." + parts[1]).encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return 403, "InvalidProviderToken", iat
    if not isinstance(iat, int) or iat > time.time() + 60:
        return 403, "InvalidProviderToken", iat
    if iat < time.time() - 3600:
        return 403, "ExpiredProviderToken", iat
    return None


def answer(headers, body, conn_id):
    path = headers.get(":path", "")
    token = path[len("/3/device/"):] if path.startswith("/3/device/") else None
    line = {"token": token, "headers": {k: v for k, v in headers.items() if k != "authorization"},
            "conn": conn_id}
    try:
        line["body"] = json.loads(body)
    except ValueError:
        line["body"] = None
    problem = token_problem(headers.get("authorization", ""))
    line["iat"] = problem[2] if problem else json.loads(unb64(headers["authorization"][7:].split(".")[1]))["iat"]
    ptype, prio = headers.get("apns-push-type"), headers.get("apns-priority")
    if headers.get(":method") != "POST" or token is None:
        status, reason = 404, "BadPath"
    elif problem:
        status, reason = problem[0], problem[1]
    elif headers.get("apns-topic") != TOPIC:
        status, reason = 400, "BadTopic"
    elif ptype not in ("alert", "background") or prio not in ("10", "5") or (ptype == "background" and prio != "5"):
        status, reason = 400, "BadPriority"
    elif len(body) > 4096:
        status, reason = 413, "PayloadTooLarge"
    elif line["body"] is None or "aps" not in line["body"]:
        status, reason = 400, "PayloadEmpty"
    else:
        key = (token, headers.get("apns-id"))
        with LOCK:
            ATTEMPTS[key] = ATTEMPTS.get(key, 0) + 1
            line["attempt"] = attempt = ATTEMPTS[key]
        status, reason = 200, None
        if token.startswith("dead-"):
            status, reason = 410, "Unregistered"
        elif token.startswith("bad-"):
            status, reason = 400, "BadDeviceToken"
        elif attempt == 1 and token.startswith("busy-"):
            status, reason = 429, "TooManyRequests"
        elif attempt == 1 and token.startswith("down-"):
            status, reason = 503, "ServiceUnavailable"
    line["status"] = status
    note(line)
    out = [(":status", str(status)), ("apns-id", headers.get("apns-id") or "00000000-0000-0000-0000-000000000000")]
    data = b"" if reason is None else json.dumps({"reason": reason}).encode()
    return out, data


def serve(sock, conn_id):
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    streams = {}
    try:
        while True:
            data = sock.recv(65535)
            if not data:
                return
            for ev in conn.receive_data(data):
                if isinstance(ev, h2.events.RequestReceived):
                    streams[ev.stream_id] = [dict(ev.headers), b""]
                elif isinstance(ev, h2.events.DataReceived):
                    streams[ev.stream_id][1] += ev.data
                    conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                elif isinstance(ev, h2.events.StreamEnded):
                    headers, body = streams.pop(ev.stream_id)
                    out, data_out = answer(headers, body, conn_id)
                    out.append(("content-length", str(len(data_out))))
                    conn.send_headers(ev.stream_id, out, end_stream=not data_out)
                    if data_out:
                        conn.send_data(ev.stream_id, data_out, end_stream=True)
                elif isinstance(ev, h2.events.ConnectionTerminated):
                    return
            sock.sendall(conn.data_to_send())
    except (OSError, h2.exceptions.ProtocolError):
        return
    finally:
        sock.close()


def main():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(DIR, "server.pem"), os.path.join(DIR, "server.key"))
    ctx.set_alpn_protocols(["h2"])
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    print(listener.getsockname()[1], flush=True)
    while True:
        raw, _ = listener.accept()
        try:
            tls = ctx.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):
            raw.close()
            continue
        CONNS[0] += 1
        threading.Thread(target=serve, args=(tls, CONNS[0]), daemon=True).start()


if __name__ == "__main__":
    main()
