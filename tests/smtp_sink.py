#!/usr/bin/python3
"""The SMTP server the email channel is tested against (Debian's python3-aiosmtpd), on
loopback. Usage: smtp_sink.py LOG [PORT [CERT KEY smtps|starttls]]: with a certificate,
TLS from the first byte (smtps) or STARTTLS required before MAIL (and AUTH offered after it:
user "shop", password "s3cret"). Prints its port, then appends one JSON line to
LOG per RCPT answer ({"event": "rcpt"}) and per message taken ({"event": "message"}):
the envelope, the client's port (one per connection), the raw message's longest line, and the message as Python's `email`
package parses it (headers decoded, each MIME part decoded). A recipient whose local
part starts with "bad" is answered 550 (no such user); one starting with "busy" is
answered 451 the first time, then taken."""
import asyncio
import email
import email.policy
import json
import signal
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

LOG = sys.argv[1]
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 0
TLS = None
if len(sys.argv) > 5:
    import ssl
    TLS = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    TLS.load_cert_chain(sys.argv[3], sys.argv[4])
MODE = sys.argv[5] if len(sys.argv) > 5 else None
seen_busy = set()
queued = [0]


def note(obj):
    with open(LOG, "a", encoding="utf-8") as f:
        f.write(json.dumps(obj) + "\n")


def parsed(raw):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    parts = []
    for p in msg.walk():
        if p.is_multipart():
            continue
        parts.append({"type": p.get_content_type(), "charset": p.get_content_charset(),
                      "encoding": p.get("Content-Transfer-Encoding"), "body": p.get_content()})
    names = ["From", "To", "Reply-To", "Date", "Message-ID", "Subject", "Return-Path",
             "List-Unsubscribe", "List-Unsubscribe-Post", "MIME-Version"]
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii", "replace")
    return {"headers": {n: str(msg[n]) if msg[n] is not None else None for n in names},
            "content_type": msg.get_content_type(), "parts": parts, "raw_head": head,
            "longest_line": max(len(l) for l in raw.split(b"\r\n")),
            "crlf_only": b"\n" not in raw.replace(b"\r\n", b"")}


def authenticate(server, session, envelope, mechanism, auth_data):
    """AUTH (offered after STARTTLS only) succeeds for the user "shop" with the password
    "s3cret"; it is optional, and a message notes who logged in."""
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"shop" and auth_data.password == b"s3cret"
    note({"event": "auth", "login": auth_data.login.decode("utf-8", "replace")
          if isinstance(auth_data, LoginPassword) else None, "ok": ok})
    return AuthResult(success=ok, handled=False, auth_data=auth_data)  # not handled: 535 is sent


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0]
        code = 250
        if local.startswith("bad"):
            code = 550
            answer = "550 5.1.1 <%s>: Recipient address rejected: no such user" % address
        elif local.startswith("busy") and address not in seen_busy:
            seen_busy.add(address)
            code = 451
            answer = "451 4.3.0 Try again later"
        else:
            envelope.rcpt_tos.append(address)
            answer = "250 OK"
        note({"event": "rcpt", "rcpt": address, "code": code})
        return answer

    async def handle_DATA(self, server, session, envelope):
        queued[0] += 1
        qid = "Q%d" % queued[0]
        tls = session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None
        note({"event": "message", "mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
              "queue_id": qid, "ehlo": session.host_name, "tls": tls, "peer_port": session.peer[1],
              "auth_user": session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None,
              **parsed(envelope.original_content)})
        return "250 2.0.0 Ok: queued as " + qid


async def main():
    loop = asyncio.get_running_loop()
    if MODE == "starttls":
        factory = lambda: SMTP(Handler(), hostname="sink.test", tls_context=TLS, require_starttls=True,
                               authenticator=authenticate)
    else:
        factory = lambda: SMTP(Handler(), hostname="sink.test")
    server = await loop.create_server(factory, "127.0.0.1", PORT, reuse_address=True,
                                      ssl=TLS if MODE == "smtps" else None)
    print(server.sockets[0].getsockname()[1], flush=True)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    server.close()


asyncio.run(main())
