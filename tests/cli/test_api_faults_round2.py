"""Embedding-API faults of issue 23 (item 4), against raw-socket servers on 127.0.0.1 that stop by themselves.

A reply trickled a byte at a time must not outlast ``--api-timeout``; a gigantic reply is refused before it
fills memory; a long ``Retry-After`` is announced and capped by ``--api-max-wait``; one Ctrl-C ends the run.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from xlir_bench.cli.app import cli

HERE = Path(__file__).resolve().parents[1]
MINI = ["--task", HERE / "fixtures" / "lareqa-mini.toml", "--data-dir", HERE / "fixtures" / "lareqa-mini"]


@pytest.fixture(autouse=True)
def _local_only(monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def _read_request(conn: socket.socket) -> list[str]:
    """The texts of one POST (headers, then Content-Length bytes of JSON)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, body = data.split(b"\r\n\r\n", 1)
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
    while len(body) < length:
        body += conn.recv(65536)
    return json.loads(body)["input"]


def _good_reply(texts: list[str]) -> bytes:
    data = [{"index": i, "embedding": [float(len(t)), 1.0, float(i % 3)]} for i, t in enumerate(texts)]
    body = json.dumps({"data": data}).encode()
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


class Server:
    """Answers each connection with ``answer(conn, n)``; ends after ``lifetime`` seconds whatever happens."""

    def __init__(self, answer, lifetime: float = 60.0) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.answer, self.deadline, self.requests = answer, time.monotonic() + lifetime, 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while time.monotonic() < self.deadline:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.requests += 1
            threading.Thread(target=self._one, args=(conn, self.requests), daemon=True).start()
        self.sock.close()

    def _one(self, conn: socket.socket, n: int) -> None:
        try:
            with conn:
                self.answer(conn, n, self.deadline)
        except OSError:
            pass

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


def trickle(conn, n, deadline):
    _read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
    while time.monotonic() < deadline:  # a byte every 0.2 s, never done
        conn.sendall(b" ")
        time.sleep(0.2)


def huge(conn, n, deadline):
    _read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n[")
    block = b"0," * (1 << 19)  # 1 MiB per send, no Content-Length: the size is only known by reading
    for _ in range(200):
        if time.monotonic() > deadline:
            break
        conn.sendall(block)


def retry_after_once(conn, n, deadline):
    texts = _read_request(conn)
    if n == 1:
        conn.sendall(b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 100000\r\nContent-Length: 0\r\n\r\n")
    else:
        conn.sendall(_good_reply(texts))


def api_run(server: Server, tmp_path: Path, *options: object):
    args = ["run", "--model", "openai:m", "--api-base", server.base, *MINI, "--no-cache", "-q", "-o", tmp_path / "r.json",
            "--api-concurrency", "1", *options]  # fmt: skip
    return CliRunner().invoke(cli, [str(a) for a in args])


def one_error(result, *culprits):
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in result.output, result.output
    for culprit in culprits:
        assert culprit in errors[0], (culprit, errors[0])


def test_a_trickled_reply_is_stopped_at_the_api_timeout(tmp_path):
    server = Server(trickle, lifetime=30)
    start = time.monotonic()
    result = api_run(server, tmp_path, "--api-timeout", "1", "--api-max-retries", "1", "--api-backoff", "0")
    took = time.monotonic() - start
    one_error(result, "failed 2 times", "--api-timeout 1s")
    assert took < 8, took  # two tries of 1 s each, not the 100,000 s the trickle would take
    assert not (tmp_path / "r.json").exists()


def test_a_gigantic_reply_is_refused_before_it_fills_memory(tmp_path):
    server = Server(huge, lifetime=60)
    result = api_run(server, tmp_path, "--batch-size", "2")
    one_error(result, "more than 18 MiB", "batch of 2 texts", "embeddings API")
    assert server.requests == 1  # refused for good, not retried


def test_a_long_retry_after_is_announced_and_capped(tmp_path):
    server = Server(retry_after_once, lifetime=30)
    start = time.monotonic()
    result = api_run(server, tmp_path, "--api-max-wait", "0.5")
    assert result.exit_code == 0, result.output
    assert time.monotonic() - start < 10
    assert "warning:" in result.stderr and "Retry-After" in result.stderr and "capped by --api-max-wait 0.5s" in result.stderr


def test_api_max_wait_is_refused_without_an_api_model(tmp_path):
    result = CliRunner().invoke(cli, ["run", "--model", "bm25", "--api-max-wait", "1", "-o", str(tmp_path / "r.json")])
    one_error(result, "--api-max-wait", "bm25")


def test_one_ctrl_c_stops_a_run_waiting_on_the_api(tmp_path):
    server = Server(trickle, lifetime=90)  # the old code waited for the server to give up
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parent), os.environ.get("PYTHONPATH", "")])}
    args = [sys.executable, "-c", "from xlir_bench.cli import main; main()", "run", "--model", "openai:m", "--api-base",
            server.base, *map(str, MINI), "--no-cache", "-q", "-o", str(tmp_path / "r.json"), "--api-timeout", "300"]  # fmt: skip
    # SIG_DFL: a pytest started in the background of a shell ignores SIGINT, and its children inherit that
    restore = lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)  # noqa: E731
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=restore)
    deadline = time.monotonic() + 30
    while server.requests == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    try:
        _, err = process.communicate(timeout=30)  # generous for a loaded machine; far below 90 s
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("one Ctrl-C did not stop the run within 30 s")
    assert process.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert not (tmp_path / "r.json").exists()
