"""Task registry: declarative task files, loaded tasks, and the settings they define.

A task file (``tasks/<name>.toml``) says what a task is: languages, pinned source
files and checksums, licence, citation, candidate unit and the published counts.
This module turns it into settings:

* ``mono``  X -> X        (queries in X, pool = X's candidates)
* ``cross`` X -> Y, X != Y (queries in X, pool = Y's candidates)
* ``multi`` X -> all      (queries in X, pool = union of the selected languages)
"""

from __future__ import annotations

import difflib
import math
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .constants import FAMILIES, MULTI_POOL
from .data import DataSource, LanguageData, fetch_file, load_lareqa, resolve_source
from .errors import XlirError
from .files import read_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

TASKS_ENV = "XLIR_BENCH_TASKS"


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


FORMATS = ("lareqa", "lareqa-paragraph", "lareqa-split", "beir", "ir_datasets")
PINNED_FORMATS = ("lareqa", "lareqa-paragraph", "lareqa-split")  # read from the LAReQA mirror
OVERRIDE_ENV = "XLIR_BENCH_OVERRIDE_TASKS"
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_LANG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

# Every key a task file may hold, with its type; per format, the keys it needs.
_COMMON = {
    "name": str,
    "title": str,
    "description": str,
    "languages": list,
    "license": str,
    "license_url": str,
    "homepage": str,
    "citation": str,
    "candidate_unit": str,
    "format": str,
    "relevance_threshold": (int, float),
}
_BY_FORMAT = {
    "lareqa": {"files": dict, "counts": dict, "url_template": str},
    "beir": {"path": str, "split": str, "language": str, "language_field": str, "per_language_folders": bool},
    "ir_datasets": {"ir_datasets": dict},
    "lareqa-paragraph": {"source_task": str, "strip": bool, "counts": dict},
    "lareqa-split": {"source_task": str, "split": str, "part": str},
}
_REQUIRED = {
    "lareqa": ("files", "url_template"),
    "lareqa-paragraph": ("source_task",),
    "lareqa-split": ("source_task", "split"),
    "beir": ("path",),
    "ir_datasets": ("ir_datasets",),
}
_UNITS = {"lareqa": "sentence", "lareqa-paragraph": "paragraph", "lareqa-split": "sentence"}
_OPTIONS = (
    "path",
    "split",
    "language",
    "language_field",
    "per_language_folders",
    "ir_datasets",
    "source_task",
    "strip",
    "split",
    "part",
)


def _type_name(kind) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {
        str: "a string",
        list: "a list",
        dict: "a table",
        bool: "true or false",
        int: "a number",
        float: "a number",
    }
    return " or ".join(dict.fromkeys(names[k] for k in kinds))


def _check_keys(raw: dict, fmt: str, where: str) -> None:
    allowed = {**_COMMON, **_BY_FORMAT[fmt]}
    for key, value in raw.items():
        if key not in allowed:
            close = difflib.get_close_matches(key, list(allowed), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(sorted(allowed))}"
            raise XlirError(f"{where}: unknown key {key!r} for format {fmt!r}; {hint}")
        kind = allowed[key]
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise XlirError(f"{where}: {key} must be {_type_name(kind)}, not {type(value).__name__}")
    for key in ("name", "license", "languages", *_REQUIRED[fmt]):
        if key not in raw:
            raise XlirError(f"{where}: missing key {key!r} (format {fmt}); add it to the task file")


def _check_languages(raw: dict, where: str) -> tuple[str, ...]:
    langs = raw["languages"]
    bad = [lang for lang in langs if not isinstance(lang, str) or not _LANG.fullmatch(lang) or lang == MULTI_POOL]
    if not langs or bad:
        raise XlirError(
            f"{where}: languages must be a non-empty list of codes of letters, digits, _ or - "
            f"(not {MULTI_POOL!r}); bad: {', '.join(map(repr, bad)) or '(empty list)'}"
        )
    if len(set(langs)) != len(langs):
        raise XlirError(f"{where}: languages lists a code twice; list each language once")
    return tuple(langs)


def _check_lareqa(raw: dict, langs: tuple[str, ...], where: str) -> None:
    try:
        filled = raw["url_template"].format(lang="x")
    except Exception as exc:  # noqa: BLE001 - str.format raises several types for a bad field
        raise XlirError(f"{where}: url_template may hold {{lang}} and nothing else in braces ({exc!r})") from exc
    if "{lang}" not in raw["url_template"] or not filled.startswith("https://"):
        raise XlirError(f"{where}: url_template must be an https:// URL containing {{lang}}")
    for lang in langs:
        entry = raw["files"].get(lang)
        if not isinstance(entry, dict) or set(entry) != {"path", "sha256"}:
            raise XlirError(f'{where}: files.{lang} must be {{ path = "...", sha256 = "..." }}')
        if not isinstance(entry["path"], str) or not entry["path"]:
            raise XlirError(f"{where}: files.{lang}.path must be a relative path inside the data folder")
        if not isinstance(entry["sha256"], str) or not _SHA256.fullmatch(entry["sha256"]):
            raise XlirError(f"{where}: files.{lang}.sha256 must be 64 lower-case hex digits")
    for lang, entry in raw.get("counts", {}).items():
        ok = isinstance(entry, dict) and all(
            isinstance(entry.get(k), int) and not isinstance(entry.get(k), bool) and entry[k] >= 0
            for k in ("questions", "candidates")
        )
        if not ok or set(entry) != {"questions", "candidates"}:
            raise XlirError(f"{where}: counts.{lang} must be {{ questions = N, candidates = N }}")


def _check_ir_datasets(raw: dict, where: str) -> None:
    for key, value in raw["ir_datasets"].items():
        if not isinstance(value, str) or not value:
            raise XlirError(f"{where}: ir_datasets.{key} must be a dataset id string")


def load_spec(path: Path) -> TaskSpec:
    """Read and validate one task file; every problem is one line naming the key and the fix."""
    where = str(path)
    try:
        raw = tomllib.loads(read_text(path, "task TOML", "give a task file (.toml)"))
    except tomllib.TOMLDecodeError as exc:
        raise XlirError(f"{where}: invalid TOML ({exc}); fix the syntax") from exc
    fmt = raw.get("format", "lareqa")
    if fmt not in FORMATS:
        raise XlirError(f"{where}: format {fmt!r} is not one of {', '.join(FORMATS)}")
    _check_keys(raw, fmt, where)
    if not _NAME.fullmatch(raw["name"]):
        raise XlirError(
            f"{where}: name {raw['name']!r} must be lower-case letters, digits, '.', '_' or '-' (at most 64)"
        )
    langs = _check_languages(raw, where)
    threshold = raw.get("relevance_threshold", 1)
    if not math.isfinite(threshold) or threshold <= 0:
        raise XlirError(
            f"{where}: relevance_threshold {threshold} must be a positive number (the lowest relevant grade)"
        )
    for key in ("language", "language_field"):
        if key in raw and not _LANG.fullmatch(raw[key]):
            raise XlirError(f"{where}: {key} {raw[key]!r} must be letters, digits, _ or - (a code or a field name)")
    if fmt == "lareqa":
        _check_lareqa(raw, langs, where)
    elif fmt == "ir_datasets":
        _check_ir_datasets(raw, where)
    elif fmt == "lareqa-paragraph":
        if not _NAME.fullmatch(raw["source_task"]):
            raise XlirError(f"{where}: source_task {raw['source_task']!r} must be a task name beside this file")
        raw = {**_source_files(path, raw["source_task"]), **raw}
    return TaskSpec(
        name=raw["name"],
        title=raw.get("title", raw["name"]),
        description=raw.get("description", ""),
        languages=langs,
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
    for folder in extra:
        if not folder.is_dir():
            raise XlirError(f"{TASKS_ENV}: {folder} is not a folder; list folders of task files (.toml)")
    return _builtin_task_files() + [path for folder in extra for path in sorted(folder.glob("*.toml"))]


def overrides_allowed() -> bool:
    return os.environ.get(OVERRIDE_ENV, "") not in ("", "0")


def registry(allow_override: bool | None = None) -> dict[str, TaskSpec]:
    """All known tasks by name; a task file whose name is already taken is refused unless overrides are allowed."""
    allow = overrides_allowed() if allow_override is None else allow_override
    specs: dict[str, TaskSpec] = {}
    for path in task_files():
        spec = load_spec(path)
        if spec.name in specs:
            _refuse_shadow(spec, specs[spec.name], allow)
        specs[spec.name] = spec
    return specs


def _refuse_shadow(new: TaskSpec, old: TaskSpec, allow: bool) -> None:
    if allow and Path(old.source_file).parent != Path(new.source_file).parent:
        return
    raise XlirError(
        f"{new.source_file}: task name {new.name!r} is already defined by {old.source_file}; "
        f"rename the task, or set {OVERRIDE_ENV}=1 to let it replace the other one"
    )


def get_spec(name: str, allow_override: bool | None = None) -> TaskSpec:
    """A task by name, or the task file at ``name`` when it names a ``.toml`` file."""
    if name.endswith(".toml") or os.sep in name:
        path = Path(name)
        if not path.is_file():
            raise XlirError(f"--task {name}: no such task file; give a .toml path or a task name (`xlir-bench tasks`)")
        spec = load_spec(path)
        known = registry(allow_override)
        if spec.name in known and Path(known[spec.name].source_file).resolve() != path.resolve():
            _refuse_shadow(spec, known[spec.name], overrides_allowed() if allow_override is None else allow_override)
        return spec
    specs = registry(allow_override)
    if name not in specs:
        close = difflib.get_close_matches(name, list(specs), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise XlirError(
            f"unknown task {name!r}; {hint}choose from {', '.join(sorted(specs))} (see `xlir-bench tasks`), "
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
        data, checksums = load_beir(spec.options, langs, root, spec.languages)
        return Task(spec, langs, data, checksums)
    if spec.format == "ir_datasets":
        from .sources import load_ir_datasets

        data, checksums = load_ir_datasets(spec.options, langs)
        return Task(spec, langs, data, checksums)
    if spec.format == "lareqa-paragraph":
        from .paragraphs import load_paragraph_task

        data, checksums = load_paragraph_task(spec, langs, source or resolve_source())
        return Task(spec, langs, data, checksums)
    if spec.format == "lareqa-split":
        from .split import load_split_task

        data, checksums = load_split_task(spec, langs, source or resolve_source())
        return Task(spec, langs, data, checksums)
    return _load_lareqa_task(spec, langs, source or resolve_source())


def load_selection(
    names: Sequence[str], langs: Sequence[str] | None = None, data_dir: str | os.PathLike | None = None
) -> list[Task]:
    """The one way to go from task names (or task files) and a language list to loaded tasks."""
    selection = [(spec, select_langs(spec, list(langs) if langs else None)) for spec in map(get_spec, names)]
    pinned = any(spec.format in PINNED_FORMATS for spec, _ in selection)  # files from the mirror
    source = resolve_source(data_dir) if pinned else None
    return [load_task(spec, chosen, source) for spec, chosen in selection]


def has_judged_queries(task: Task, setting: Setting) -> bool:
    """Whether some query of the setting has a candidate at or above the relevance threshold in its pool."""
    threshold = task.spec.relevance_threshold
    for qid in task.data[setting.query_lang].question_ids:
        for lang in setting.pool_langs:
            if any(grade >= threshold for grade in task.data[lang].qrels.get(qid, {}).values()):
                return True
    return False


def pinned_files(spec: TaskSpec, langs: tuple[str, ...], source: DataSource) -> tuple[dict[str, Path], dict[str, str]]:
    """The verified local file of each language (downloaded if allowed) and {file: sha256} for the record."""
    paths, checksums = {}, {}
    for lang in langs:
        entry = spec.files[lang]
        paths[lang] = fetch_file(source, entry["path"], spec.url(lang), entry["sha256"])
        checksums[entry["path"]] = entry["sha256"]
    return paths, checksums


def _load_lareqa_task(spec: TaskSpec, langs: tuple[str, ...], source: DataSource) -> Task:
    """Verify and parse the files of ``langs``; refuse data whose counts differ from the published ones."""
    paths, checksums = pinned_files(spec, langs, source)
    data = {}
    for lang, path in paths.items():
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
