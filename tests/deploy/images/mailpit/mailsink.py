"""An SMTP sink keeping messages in memory, with Mailpit's message list at GET /api/v1/messages."""

import email
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

MESSAGES: list[dict] = []


class Keep:
    async def handle_DATA(self, server, session, envelope):  # noqa: N802, ANN001, ANN201 - aiosmtpd's hook
        parsed = email.message_from_bytes(envelope.content)
        MESSAGES.append({"ID": str(len(MESSAGES) + 1), "To": [{"Address": a} for a in envelope.rcpt_tos],
                         "Subject": parsed.get("Subject", "")})
        return "250 Message accepted"


class Api(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's hook
        if self.path.split("?")[0] != "/api/v1/messages":
            self.send_error(404)
            return
        body = json.dumps({"total": len(MESSAGES), "messages": MESSAGES}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    Controller(Keep(), hostname="0.0.0.0", port=1025).start()
    threading.Thread(target=ThreadingHTTPServer(("0.0.0.0", 8025), Api).serve_forever, daemon=True).start()
    while True:
        time.sleep(3600)
