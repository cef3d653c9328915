"""A local receiver for the chat and SMS webhooks during `make run`: checks each signature and logs one line per
message (its idempotency key and size, never its text)."""

from __future__ import annotations

import argparse
import json
import os

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from clinicflow.notifications.channels import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify


def sink_app(secret: bytes) -> Starlette:
    """The receiving app: 401 for a bad signature, 200 otherwise."""

    async def receive(request: Request) -> JSONResponse:
        body = await request.body()
        valid = verify(secret, request.headers.get(TIMESTAMP_HEADER, "0"), body,
                       request.headers.get(SIGNATURE_HEADER, ""))
        print(json.dumps({"event": "webhook received", "path": request.url.path, "signature_valid": valid,
                          "idempotency_key": request.headers.get("Idempotency-Key"), "bytes": len(body)}),
              flush=True)
        return JSONResponse({"ok": valid}, status_code=200 if valid else 401)

    return Starlette(routes=[Route("/{channel}", receive, methods=["POST"])])


def main() -> None:
    """``WEBHOOK_SINK_SECRET=… python -m clinicflow.localinfra.webhook_sink --port P``."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    secret = os.environ["WEBHOOK_SINK_SECRET"].encode()
    uvicorn.run(sink_app(secret), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
