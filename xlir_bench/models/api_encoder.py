"""OpenAI-compatible embedding APIs as an encoder: ``--model openai:NAME --api-base URL``.

Each batch of texts is one ``POST {api_base}/embeddings`` with
``{"model": NAME, "input": [...]}``, the standard library's HTTP client only.
How a question differs from a candidate is the user's choice, and any mix of:

* separate model names (``api_query_model`` / ``api_passage_model``),
* an input-type field in the request (``api_input_type="query,passage"``, field
  name ``api_input_type_field``, default ``input_type``),
* text prefixes (``query_prompt`` / ``passage_prompt``, e.g. E5's ``query: ``).

Requests run ``api_concurrency`` at a time (threads), at most ``api_rpm`` a minute,
each with a timeout; 429, 5xx, 408, timeouts and connection errors are retried with
exponential backoff and jitter (a ``Retry-After`` in seconds is obeyed). A reply is
checked before anything uses it: JSON with one finite vector per input, all of one
dimension, put in input order by ``index``. The API key comes from an environment
variable and never reaches a record, a message or the fingerprint.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

import numpy as np

from xlir_bench.core.errors import XlirError
from xlir_bench.models.encoders import _digest

PREFIX = "openai:"
DEFAULT_API_BASE = "https://api.openai.com/v1"
DEFAULT_KEY_ENV = "OPENAI_API_KEY"
MAX_DELAY_S = 60.0  # one backoff wait never exceeds this (a server's Retry-After may)
MAX_RETRY_AFTER_S = 600.0


@dataclass
class ApiUsage:
    """What the API was asked for in one run: the ``api`` field of the run record."""

    requests: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    total_tokens: int = 0


class _Transient(Exception):
    """A failure worth retrying; ``retry_after`` is the server's wish in seconds, if any."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class _Cancelled(Exception):
    """Another request of the same call failed for good; this one stops."""


class _RateLimiter:
    """Spaces request starts at least 60/rpm seconds apart, across all threads."""

    def __init__(self, rpm: float | None) -> None:
        self.interval = 60.0 / rpm if rpm else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self, stop: threading.Event) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            stop.wait(start - now)


def parse_api_base(value: str) -> tuple[str, str]:
    """``URL`` -> (display form without credentials, embeddings endpoint); refuses what is not plain http(s)."""
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


def _parse_input_type(value: str | Sequence[str] | None) -> tuple[str, str] | None:
    if value is None:
        return None
    items = [item.strip() for item in value.split(",")] if isinstance(value, str) else list(value)
    if len(items) != 2 or not all(items):
        raise XlirError(
            f"--api-input-type {value}: give two values QUERY,PASSAGE, e.g. query,passage or search_query,search_document"
        )
    return items[0], items[1]


API_OPTIONS = (
    "api_base", "api_key_env", "api_query_model", "api_passage_model", "api_input_type", "api_input_type_field",
    "api_dimensions", "api_concurrency", "api_rpm", "api_timeout", "api_max_retries", "api_backoff",
    "batch_size", "query_prompt", "passage_prompt",
)  # fmt: skip  -- the options OpenAIEncoder takes, declared for the model table


class OpenAIEncoder:
    """An OpenAI-compatible ``/embeddings`` endpoint as a dense encoder.

    Scores are inner products of the returned vectors as they are (OpenAI and E5
    servers return unit vectors). The fingerprint digests the API address (host,
    port, path), the model name(s), how queries and passages are told apart and
    the requested dimension — never the key. It names the API model, not its
    weights: if a provider changes the model behind a name, clear the cache.
    """

    def __init__(
        self,
        model: str,
        api_base: str | None = None,
        api_key_env: str | None = None,
        api_query_model: str | None = None,
        api_passage_model: str | None = None,
        api_input_type: str | Sequence[str] | None = None,
        api_input_type_field: str | None = None,
        api_dimensions: int | None = None,
        api_concurrency: int = 4,
        api_rpm: float | None = None,
        api_timeout: float = 300.0,
        api_max_retries: int = 5,
        api_backoff: float = 0.5,
        batch_size: int = 64,
        query_prompt: str | None = None,
        passage_prompt: str | None = None,
        progress: bool = True,
    ) -> None:
        if not model.strip():
            raise XlirError(f"--model {PREFIX}: name the API's model, e.g. {PREFIX}text-embedding-3-small")
        self.name = PREFIX + model
        self.base, self.endpoint = parse_api_base(api_base or DEFAULT_API_BASE)
        self.key_env = api_key_env or DEFAULT_KEY_ENV
        self._key = os.environ.get(self.key_env) or None
        if api_key_env and self._key is None:
            raise XlirError(
                f"--api-key-env {api_key_env}: that environment variable is not set; export the API key in it"
            )
        self.models = {"query": api_query_model or model, "passage": api_passage_model or model}
        self.input_type = _parse_input_type(api_input_type)
        self.input_type_field = api_input_type_field or "input_type"
        if api_input_type_field and self.input_type is None:
            raise XlirError("--api-input-type-field: give --api-input-type QUERY,PASSAGE too, the values to send in it")
        self.prompts = {"query": query_prompt or "", "passage": passage_prompt or ""}
        _check_ranges(batch_size, api_concurrency, api_max_retries, api_timeout, api_backoff, api_rpm, api_dimensions)
        self.dimensions = api_dimensions
        self.batch_size = batch_size
        self.concurrency = api_concurrency
        self.timeout = api_timeout
        self.max_retries = api_max_retries
        self.backoff = api_backoff
        self.progress = progress
        self.dim: int | None = api_dimensions
        self.usage = ApiUsage()
        self._limiter = _RateLimiter(api_rpm)
        self._lock = threading.Lock()
        # proxies from the environment still apply; redirects do not (they would carry the key elsewhere)
        self._opener = urllib.request.build_opener(_NoRedirect())

    def __repr__(self) -> str:  # never the key
        return f"OpenAIEncoder({self.name!r}, api_base={self.base!r}, api_key_env={self.key_env!r})"

    @property
    def fingerprint(self) -> str:
        signal = {
            "models": self.models,
            "input_type": [self.input_type_field, *self.input_type] if self.input_type else None,
            "prompts": self.prompts,
        }
        return _digest("openai-api", self.base.split("://", 1)[1], signal, self.dimensions)

    def api_usage(self) -> dict[str, int]:
        """Requests sent (retries included), retries, and the token usage the API reported."""
        with self._lock:
            return asdict(self.usage)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, "query")

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, "passage")

    def _encode(self, texts: Sequence[str], role: str) -> np.ndarray:
        from tqdm.auto import tqdm

        if not texts:
            return np.zeros((0, self.dim or 0), np.float32)
        batches = [list(texts[i : i + self.batch_size]) for i in range(0, len(texts), self.batch_size)]
        blocks: list[np.ndarray | None] = [None] * len(batches)
        stop = threading.Event()
        desc = "encode queries" if role == "query" else "encode passages"
        with (
            tqdm(total=len(texts), desc=desc, unit="text", disable=not self.progress, leave=False) as bar,
            ThreadPoolExecutor(max_workers=min(self.concurrency, len(batches))) as pool,
        ):
            futures = {
                pool.submit(self._request, self._body(batch, role), len(batch), stop): i
                for i, batch in enumerate(batches)
            }
            try:
                for future in as_completed(futures):
                    blocks[futures[future]] = future.result()
                    bar.update(len(batches[futures[future]]))
            except BaseException:
                stop.set()  # the other threads give up at their next wait
                for future in futures:
                    future.cancel()
                raise
        return np.vstack(blocks)

    def _body(self, batch: list[str], role: str) -> bytes:
        body: dict[str, object] = {"model": self.models[role], "input": [self.prompts[role] + text for text in batch]}
        if self.input_type:
            body[self.input_type_field] = self.input_type[0 if role == "query" else 1]
        if self.dimensions:
            body["dimensions"] = self.dimensions
        return json.dumps(body, ensure_ascii=False).encode("utf-8")

    def _request(self, body: bytes, count: int, stop: threading.Event) -> np.ndarray:
        """One batch, with retries of transient failures; the checked (count, dim) float32 matrix."""
        for attempt in range(self.max_retries + 1):
            self._limiter.wait(stop)
            if stop.is_set():
                raise _Cancelled
            with self._lock:
                self.usage.requests += 1
            try:
                return self._check(self._send(body), count)
            except _Transient as exc:
                if attempt == self.max_retries:
                    raise self._error(self._gave_up(str(exc), attempt + 1)) from None
                with self._lock:
                    self.usage.retries += 1
                stop.wait(self._delay(attempt, exc.retry_after))
        raise AssertionError("unreachable")  # pragma: no cover

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, MAX_RETRY_AFTER_S)
        ceiling = min(MAX_DELAY_S, self.backoff * 2**attempt)
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # jitter: threads hit by one 429 do not return together

    def _gave_up(self, reason: str, tries: int) -> str:
        if "connection refused" in reason:
            return f"cannot reach {self.base} ({reason}) after {tries} tries; start the server or fix --api-base"
        return (
            f"{self.endpoint} failed {tries} times (last: {reason}); lower --api-concurrency/--api-rpm, "
            "raise --api-max-retries/--api-timeout, or try later"
        )

    def _send(self, body: bytes) -> bytes:
        """POST once; the reply body of a 2xx, an XlirError for a permanent failure, _Transient otherwise."""
        headers = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": "xlir-bench"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        request = urllib.request.Request(self.endpoint, data=body, headers=headers, method="POST")
        try:
            with self._opener.open(request, timeout=self.timeout) as reply:
                return reply.read()
        except urllib.error.HTTPError as exc:
            raise self._http_error(exc.code, exc.headers, _read_quietly(exc)) from None
        except urllib.error.URLError as exc:
            raise self._network_error(exc.reason) from None
        except (OSError, http.client.HTTPException) as exc:  # timeouts, resets and short reads while reading
            raise self._network_error(exc) from None

    def _http_error(self, status: int, headers, raw: bytes) -> Exception:
        where = f"model {self.name}: {self.endpoint}"
        if status in (401, 403):
            sent = "the key in" if self._key else "no key: the environment variable"
            unset = "" if self._key else " is not set"
            return self._error(
                f"{where} refused the request (HTTP {status}, authentication); sent {sent} {self.key_env}{unset}; "
                f"set {self.key_env} to a valid API key (or name another variable with --api-key-env)"
            )
        if status == 404:
            return self._error(
                f"{where} answered HTTP 404 ({_server_message(raw)}): unknown model or route; check the model "
                "name and that --api-base is the API's base URL (/embeddings is appended, e.g. .../v1)"
            )
        if status in (408, 429) or status >= 500:
            return _Transient(f"HTTP {status}", _retry_after(headers))
        if 300 <= status < 400:
            return self._error(
                f"{where} answered HTTP {status} (redirect to {headers.get('Location', '?')}); redirects are not "
                "followed, give the final URL as --api-base"
            )
        return self._error(f"{where} answered HTTP {status}: {_server_message(raw)}")

    def _network_error(self, reason: object) -> Exception:
        if isinstance(reason, ssl.SSLCertVerificationError):
            return self._error(f"model {self.name}: TLS certificate of {self.base} not trusted ({reason.reason})")
        if isinstance(reason, socket.gaierror):
            return self._error(f"model {self.name}: cannot resolve the host of --api-base {self.base}; check the URL")
        if isinstance(reason, TimeoutError):
            return _Transient(f"no reply within --api-timeout {self.timeout:g}s")
        if isinstance(reason, ConnectionRefusedError):
            return _Transient("connection refused")
        return _Transient(f"{type(reason).__name__}: {reason}" if isinstance(reason, BaseException) else str(reason))

    def _check(self, raw: bytes, count: int) -> np.ndarray:
        """The reply's vectors in input order, or an XlirError saying what is wrong with it."""
        where = f"model {self.name}: {self.endpoint}"
        try:
            reply = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise self._error(
                f"{where} did not answer JSON ({raw[:60]!r}); is --api-base the API's base URL?"
            ) from None
        data = reply.get("data") if isinstance(reply, dict) else None
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise self._error(
                f"{where}: the reply has no 'data' list of objects; is it an OpenAI-compatible embeddings API?"
            )
        if len(data) != count:
            raise self._error(f"{where} returned {len(data)} vectors for {count} inputs")
        by_index = {item.get("index"): item for item in data if type(item.get("index")) is int}
        if sorted(by_index) != list(range(count)):
            raise self._error(f"{where}: the reply's 'index' fields are not 0..{count - 1} once each")
        matrix = self._matrix([by_index[i].get("embedding") for i in range(count)], where)
        self._record_usage(reply.get("usage"))
        return matrix

    def _matrix(self, embeddings: list, where: str) -> np.ndarray:
        try:
            matrix = np.array(embeddings)
        except ValueError:  # ragged lists
            raise self._error(f"{where} returned vectors of different dimensions in one reply") from None
        if matrix.ndim != 2 or matrix.dtype.kind not in "iuf" or matrix.shape[1] == 0:
            raise self._error(
                f"{where}: 'embedding' is not a list of numbers in every item (base64? the request asks for floats)"
            )
        with np.errstate(over="ignore"):
            matrix = matrix.astype(np.float32)
        if not np.isfinite(matrix).all():
            raise self._error(f"{where} returned NaN, inf or out-of-range values")
        with self._lock:
            if self.dim is None:
                self.dim = matrix.shape[1]
            expected = self.dim
        if matrix.shape[1] != expected:
            asked = " (--api-dimensions)" if self.dimensions else " (earlier replies)"
            raise self._error(f"{where} returned dimension {matrix.shape[1]}, expected {expected}{asked}")
        return matrix

    def _record_usage(self, usage: object) -> None:
        if not isinstance(usage, dict):
            return
        with self._lock:
            for field in ("prompt_tokens", "total_tokens"):
                value = usage.get(field)
                if isinstance(value, int) and not isinstance(value, bool):
                    setattr(self.usage, field, getattr(self.usage, field) + value)

    def _error(self, message: str) -> XlirError:
        """An XlirError whose text cannot carry the key, whatever a server echoed."""
        if self._key:
            message = message.replace(self._key, "[key]")
        return XlirError(message)


def _check_ranges(batch_size, concurrency, max_retries, timeout, backoff, rpm, dimensions) -> None:
    """What the CLI's option types check, for callers of the Python API."""
    limits = [
        ("--batch-size", batch_size, 1),
        ("--api-concurrency", concurrency, 1),
        ("--api-max-retries", max_retries, 0),
        ("--api-backoff", backoff, 0),
        ("--api-dimensions", dimensions if dimensions is not None else 1, 1),
    ]
    for option, value, low in limits:
        if value < low:
            raise XlirError(f"{option} {value}: must be at least {low}")
    for option, value in (("--api-timeout", timeout), ("--api-rpm", rpm if rpm is not None else 1)):
        if not value > 0:
            raise XlirError(f"{option} {value}: must be more than 0")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A 3xx stays an HTTPError: urllib would re-send the Authorization header to the new location."""

    def redirect_request(self, *args, **kwargs):
        return None


def _read_quietly(exc: urllib.error.HTTPError) -> bytes:
    try:
        return exc.read()
    except (OSError, http.client.HTTPException):
        return b""


def _retry_after(headers) -> float | None:
    """``Retry-After`` in seconds (the HTTP-date form is ignored: backoff applies)."""
    value = headers.get("Retry-After") if headers is not None else None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if seconds >= 0 and np.isfinite(seconds) else None


def _server_message(raw: bytes) -> str:
    """The API's own error message (OpenAI's ``error.message``), one short line."""
    try:
        reply = json.loads(raw)
        message = reply["error"]["message"] if isinstance(reply.get("error"), dict) else reply.get("error") or reply
    except (ValueError, UnicodeDecodeError, AttributeError, KeyError, TypeError):
        message = raw.decode("utf-8", "replace")
    text = " ".join(str(message).split())
    return (text[:200] + "...") if len(text) > 200 else text or "no message"
