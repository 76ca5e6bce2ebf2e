"""A minimal plain-text SMTP server on 127.0.0.1 that keeps every message (and AUTH line) it receives, for the
report mail tests."""

from __future__ import annotations

import email
import email.policy
import socketserver
import threading
from typing import List


class _Handler(socketserver.StreamRequestHandler):
    def reply(self, text: str) -> None:
        self.wfile.write((text + "\r\n").encode("ascii"))

    def handle(self) -> None:
        self.reply("220 localhost test sink")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            verb = line.decode("ascii", "replace").strip().split(" ", 1)[0].upper()
            if verb == "EHLO":
                # no STARTTLS: a plain-text server; AUTH PLAIN only when the test asks for it
                auth = b"250-AUTH PLAIN\r\n" if self.server.offer_auth else b""
                self.wfile.write(b"250-localhost\r\n" + auth + b"250 8BITMIME\r\n")
            elif verb == "AUTH" and self.server.offer_auth:
                self.server.auth_lines.append(line.decode("ascii", "replace").strip())  # what went over the wire
                self.reply("235 accepted")
            elif verb in ("HELO", "MAIL", "RCPT", "RSET", "NOOP"):
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 go ahead")
                data = bytearray()
                while True:
                    chunk = self.rfile.readline()
                    if chunk in (b".\r\n", b".\n", b""):
                        break
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                self.server.messages.append(email.message_from_bytes(bytes(data), policy=email.policy.default))
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")


class SmtpSink(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, offer_auth: bool = False) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.messages: List[email.message.EmailMessage] = []
        self.offer_auth = offer_auth
        self.auth_lines: List[str] = []  # AUTH commands received, in clear text (the sink offers no TLS)
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def __enter__(self) -> SmtpSink:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()
