"""HTTP plumbing of the embeddings-API encoder: a whole-request watchdog, no redirects, reading replies.

The socket timeout applies to each read, so :class:`Watchdog` closes a request's socket once
``--api-timeout`` has passed since it started (a reply trickled a byte a second cannot hold a
run; Ctrl-C ends requests in flight the same way). Redirects are not followed: urllib would
re-send the Authorization header to the new location.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence
from urllib.parse import urlsplit

import numpy as np

from xlir_bench.core.errors import XlirError
from xlir_bench.core.text import visible

DEFAULT_API_BASE = "https://api.openai.com/v1"

_WATCH = threading.local()  # the watchdog of the request this thread is sending


class Watchdog:
    """Closes a request's socket once ``--api-timeout`` has passed since it started.

    The socket timeout applies to each read, so a server that trickles its reply a byte a
    second would otherwise hold the run forever; closing the socket also ends a request
    at once when the run stops (Ctrl-C, or another request failed for good).
    """

    def __init__(self, timeout: float) -> None:
        self.sock: socket.socket | None = None
        self.expired = False
        self._timer = threading.Timer(timeout, self.expire)
        self._timer.daemon = True

    def __enter__(self) -> Watchdog:
        _WATCH.current = self
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()
        _WATCH.current = None

    def adopt(self, sock: socket.socket) -> None:
        self.sock = sock
        if self.expired:
            self.expire()

    def expire(self) -> None:
        self.expired = True
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _adopt(sock: socket.socket) -> None:
    watch = getattr(_WATCH, "current", None)
    if watch is not None:
        watch.adopt(sock)


class _WatchedHTTP(http.client.HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _adopt(self.sock)


class _WatchedHTTPS(http.client.HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _adopt(self.sock)


class HTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(_WatchedHTTP, req)


class HTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(_WatchedHTTPS, req, context=self._context)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """A 3xx stays an HTTPError: urllib would re-send the Authorization header to the new location."""

    def redirect_request(self, *args, **kwargs):
        return None


def read_quietly(exc: urllib.error.HTTPError) -> bytes:
    try:
        return exc.read()
    except (OSError, http.client.HTTPException):
        return b""


def retry_after(headers) -> float | None:
    """``Retry-After`` in seconds (the HTTP-date form is ignored: backoff applies)."""
    value = headers.get("Retry-After") if headers is not None else None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if seconds >= 0 and np.isfinite(seconds) else None


def server_message(raw: bytes) -> str:
    """The API's own error message (OpenAI's ``error.message``), one short line."""
    try:
        reply = json.loads(raw)
        message = reply["error"]["message"] if isinstance(reply.get("error"), dict) else reply.get("error") or reply
    except (ValueError, UnicodeDecodeError, AttributeError, KeyError, TypeError):
        message = raw.decode("utf-8", "replace")
    text = " ".join(str(message).split())
    return (text[:200] + "...") if len(text) > 200 else text or "no message"


def parse_api_base(value: str) -> tuple[str, str]:
    """``URL`` -> (display form without credentials, embeddings endpoint); refuses what is not plain http(s)."""
    if not value.strip() or any(char.isspace() or not char.isprintable() for char in value.strip()):
        raise XlirError(f"--api-base {visible(repr(value))}: a URL holds no spaces or control characters; give e.g. {DEFAULT_API_BASE}")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise XlirError(f"--api-base {value}: give an http:// or https:// URL, e.g. {DEFAULT_API_BASE}")
    if parts.username or parts.password:
        raise XlirError(
            "--api-base: the URL holds a user name or password; remove it and put the key in the "
            "environment variable named by --api-key-env"
        )
    if parts.query or parts.fragment:
        raise XlirError(f"--api-base {value}: remove the ?query/#fragment; give the base URL, e.g. {DEFAULT_API_BASE}")
    try:
        port = parts.port
    except ValueError:
        raise XlirError(f"--api-base {value}: the port is not a number in 0..65535") from None
    host = parts.hostname.lower()
    base = f"{parts.scheme}://{host}{f':{port}' if port else ''}{parts.path.rstrip('/')}"
    return base, base + "/embeddings"


def parse_input_type(value: str | Sequence[str] | None) -> tuple[str, str] | None:
    if value is None:
        return None
    items = [item.strip() for item in value.split(",")] if isinstance(value, str) else list(value)
    if len(items) != 2 or not all(items):
        raise XlirError(
            f"--api-input-type {value}: give two values QUERY,PASSAGE, e.g. query,passage or search_query,search_document"
        )
    return items[0], items[1]
