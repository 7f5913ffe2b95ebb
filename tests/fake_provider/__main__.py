"""Run the fake provider in the foreground: ``python -m tests.fake_provider --port 0``.

Prints ``{"base_url": ...}`` as one JSON line on stdout once it listens, then serves until
SIGTERM or SIGINT. Script it through the ``/_control/*`` endpoints.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from .server import FakeProvider


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fake_provider", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--default-reply", default="ok", help="content of the default reply")
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="added before every default reply"
    )
    parser.add_argument(
        "--lax-schema",
        action="store_true",
        help="answer schema-invalid bodies anyway (errors are still recorded)",
    )
    args = parser.parse_args(argv)

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    fake = FakeProvider(
        host=args.host,
        port=args.port,
        strict_schema=not args.lax_schema,
        default_reply=args.default_reply,
        default_latency=args.latency_ms / 1000,
    )
    with fake:
        sys.stdout.write(json.dumps({"base_url": fake.base_url}) + "\n")
        sys.stdout.flush()
        while not stop.wait(0.2):
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
