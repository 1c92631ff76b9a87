"""Task registry: declarative task files, loaded tasks, and the settings they define.

A task file (``tasks/<name>.toml``) says what a task is: languages, pinned source
files and checksums, licence, citation, candidate unit and the published counts.
This module turns it into settings:

* ``mono``  X -> X        (queries in X, pool = X's candidates)
* ``cross`` X -> Y, X != Y (queries in X, pool = Y's candidates)
* ``multi`` X -> all      (queries in X, pool = union of the selected languages)
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .data import DataSource, LanguageData, fetch_file, load_lareqa, resolve_source
from .errors import XlirError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

FAMILIES = ("mono", "cross", "multi")
TASKS_ENV = "XLIR_BENCH_TASKS"
MULTI_POOL = "all"


@dataclass(frozen=True)
class TaskSpec:
    """What a task file declares; no data is read.

    ``format`` picks the loader: ``lareqa`` (pinned files, ``files``/``counts``/
    ``url_template``), ``lareqa-paragraph`` (MTEB-style paragraph retrieval over
    the pinned files of ``source_task``, see :mod:`xlir_bench.paragraphs`),
    ``beir`` or ``ir_datasets`` (see :mod:`xlir_bench.sources`); format-specific
    keys stay in ``options``.
    """

    name: str
    title: str
    description: str
    languages: tuple[str, ...]
    license: str
    citation: str = ""
    files: dict[str, dict[str, str]] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    url_template: str = ""
    license_url: str = ""
    candidate_unit: str = "sentence"
    format: str = "lareqa"
    relevance_threshold: float = 1.0  # grade at or above which a candidate is relevant for binary measures
    options: dict = field(default_factory=dict)
    source_file: str = ""

    def url(self, lang: str) -> str:
        return self.url_template.format(lang=lang)


@dataclass(frozen=True)
class Setting:
    """One retrieval setting: queries of ``query_lang`` against the pool of ``pool_langs``."""

    task: str
    query_lang: str
    pool: str  # a language, or "all" for the multilingual pool
    family: str
    pool_langs: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.task}:{self.query_lang}->{self.pool}"


@dataclass
class Task:
    """A task with its data loaded for the selected languages."""

    spec: TaskSpec
    langs: tuple[str, ...]
    data: dict[str, LanguageData]
    checksums: dict[str, str] = field(default_factory=dict)  # file path -> sha256

    @property
    def name(self) -> str:
        return self.spec.name


def task_folder() -> Path:
    """The repository's ``tasks/`` in a checkout, else the copy installed as ``xlir_bench.task_files``."""
    checkout = Path(__file__).resolve().parent.parent / "tasks"
    if checkout.is_dir():
        return checkout
    return Path(str(resources.files("xlir_bench.task_files")))


def _builtin_task_files() -> list[Path]:
    return sorted(task_folder().glob("*.toml"))


FORMATS = ("lareqa", "lareqa-paragraph", "beir", "ir_datasets")
_REQUIRED = {
    "lareqa": ("files", "url_template"),
    "lareqa-paragraph": ("source_task",),
    "beir": ("path",),
    "ir_datasets": ("ir_datasets",),
}
_UNITS = {"lareqa": "sentence", "lareqa-paragraph": "paragraph"}
_OPTIONS = (
    "path",
    "split",
    "language",
    "language_field",
    "per_language_folders",
    "ir_datasets",
    "source_task",
    "strip",
)


def load_spec(path: Path) -> TaskSpec:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        fmt = raw.get("format", "lareqa")
        if fmt not in FORMATS:
            raise KeyError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
        for key in _REQUIRED[fmt]:
            if key not in raw:
                raise KeyError(f"{key} (needed by format {fmt})")
        if fmt == "lareqa-paragraph":
            raw = {**_source_files(path, raw["source_task"]), **raw}
        return TaskSpec(
            name=raw["name"],
            title=raw.get("title", raw["name"]),
            description=raw.get("description", ""),
            languages=tuple(raw["languages"]),
            license=raw["license"],
            citation=raw.get("citation", "").strip(),
            files=raw.get("files", {}),
            counts=raw.get("counts", {}),
            url_template=raw.get("url_template", ""),
            license_url=raw.get("license_url", ""),
            candidate_unit=raw.get("candidate_unit", _UNITS.get(fmt, "document")),
            format=fmt,
            relevance_threshold=float(raw.get("relevance_threshold", 1)),
            options={key: value for key, value in raw.items() if key in _OPTIONS},
            source_file=str(path),
        )
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise XlirError(f"{path}: invalid task file ({type(exc).__name__}: {exc}); fix the TOML") from exc


def _source_files(path: Path, source_task: str) -> dict:
    """The pinned ``files`` and ``url_template`` of the LAReQA task file beside ``path`` that a paragraph task reuses."""
    source = path.parent / f"{source_task}.toml"
    if not source.is_file():
        raise XlirError(f"{path}: source_task {source_task!r} needs {source} beside it; fix source_task")
    spec = load_spec(source)
    if spec.format != "lareqa":
        raise XlirError(f"{path}: source_task {source_task!r} has format {spec.format!r}; it must be a lareqa task")
    return {"files": spec.files, "url_template": spec.url_template}


def task_files() -> list[Path]:
    """Built-in task files, then those in the folders of ``XLIR_BENCH_TASKS`` (os.pathsep-separated)."""
    extra = [Path(folder) for folder in os.environ.get(TASKS_ENV, "").split(os.pathsep) if folder]
    return _builtin_task_files() + [path for folder in extra for path in sorted(folder.glob("*.toml"))]


def registry() -> dict[str, TaskSpec]:
    """All known tasks by name."""
    specs = [load_spec(path) for path in task_files()]
    return {spec.name: spec for spec in specs}


def get_spec(name: str) -> TaskSpec:
    """A task by name, or the task file at ``name`` when it is a path to a ``.toml`` file."""
    if name.endswith(".toml") and Path(name).is_file():
        return load_spec(Path(name))
    specs = registry()
    if name not in specs:
        raise XlirError(
            f"unknown task {name!r}; choose from {', '.join(sorted(specs))} (see `xlir-bench tasks`), "
            f"give a task file path, or add its folder to {TASKS_ENV}"
        )
    return specs[name]


def select_langs(spec: TaskSpec, langs: list[str] | None) -> tuple[str, ...]:
    """The task's languages, restricted to ``langs`` when given (unknown ones are an error)."""
    if not langs:
        return spec.languages
    unknown = [lang for lang in langs if lang not in spec.languages]
    if unknown:
        raise XlirError(
            f"--langs: {', '.join(unknown)} not in task {spec.name}; its languages are {', '.join(spec.languages)}"
        )
    return tuple(lang for lang in spec.languages if lang in langs)


def parse_families(settings: list[str] | str | None) -> tuple[str, ...]:
    if settings is None:
        return FAMILIES
    items = settings.split(",") if isinstance(settings, str) else list(settings)
    items = [item.strip() for item in items if item.strip()]
    unknown = [item for item in items if item not in FAMILIES]
    if unknown or not items:
        raise XlirError(
            f"--settings: {', '.join(unknown) or '(empty)'} is not a setting family; use a comma list of mono,cross,multi"
        )
    return tuple(family for family in FAMILIES if family in items)


def enumerate_settings(task: str, langs: tuple[str, ...], families: tuple[str, ...]) -> list[Setting]:
    """Mono X->X, cross X->Y (X != Y) and multi X->all settings over ``langs``."""
    settings = []
    for query_lang in langs:
        if "mono" in families:
            settings.append(Setting(task, query_lang, query_lang, "mono", (query_lang,)))
        if "cross" in families:
            settings += [Setting(task, query_lang, pool, "cross", (pool,)) for pool in langs if pool != query_lang]
        if "multi" in families:
            settings.append(Setting(task, query_lang, MULTI_POOL, "multi", langs))
    return settings


def load_task(spec: TaskSpec, langs: tuple[str, ...], source: DataSource | None = None) -> Task:
    """Load the data of ``langs``: pinned LAReQA files (verified), a BEIR folder or ir_datasets collections."""
    if spec.format == "beir":
        from .sources import load_beir

        root = Path(spec.source_file).parent if spec.source_file else Path.cwd()
        data, checksums = load_beir(spec.options, langs, root)
        return Task(spec, langs, data, checksums)
    if spec.format == "ir_datasets":
        from .sources import load_ir_datasets

        data, checksums = load_ir_datasets(spec.options, langs)
        return Task(spec, langs, data, checksums)
    if spec.format == "lareqa-paragraph":
        from .paragraphs import load_paragraph_task

        data, checksums = load_paragraph_task(spec, langs, source or resolve_source())
        return Task(spec, langs, data, checksums)
    return _load_lareqa_task(spec, langs, source or resolve_source())


def has_judged_queries(task: Task, setting: Setting) -> bool:
    """Whether some query of the setting has a candidate at or above the relevance threshold in its pool."""
    threshold = task.spec.relevance_threshold
    for qid in task.data[setting.query_lang].question_ids:
        for lang in setting.pool_langs:
            if any(grade >= threshold for grade in task.data[lang].qrels.get(qid, {}).values()):
                return True
    return False


def _load_lareqa_task(spec: TaskSpec, langs: tuple[str, ...], source: DataSource) -> Task:
    """Verify and parse the files of ``langs``; refuse data whose counts differ from the published ones."""
    data, checksums = {}, {}
    for lang in langs:
        entry = spec.files[lang]
        path = fetch_file(source, entry["path"], spec.url(lang), entry["sha256"])
        checksums[entry["path"]] = entry["sha256"]
        data[lang] = load_lareqa(path, lang)
        _check_counts(spec, data[lang], path)
    return Task(spec, langs, data, checksums)


def _check_counts(spec: TaskSpec, lang_data: LanguageData, path: Path) -> None:
    expected = spec.counts.get(lang_data.lang)
    if not expected:
        return
    got = {"questions": len(lang_data.questions), "candidates": len(lang_data.candidates)}
    if got != {"questions": expected["questions"], "candidates": expected["candidates"]}:
        raise XlirError(f"{path}: loaded {got} but task {spec.name} publishes {expected}; replace the file")
