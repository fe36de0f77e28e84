"""Loopback addresses for tests and benchmarks that need a server that is not there."""

from __future__ import annotations

import socket


def dead_url() -> str:
    """A loopback port nothing listens on (bound, then closed: connections are refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/v1"
