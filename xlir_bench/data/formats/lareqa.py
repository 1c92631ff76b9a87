"""``format = "lareqa"``: LAReQA's SQuAD-format JSON with sentence breaks, pinned by sha256 (Roy et al. 2020)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from xlir_bench.core.errors import XlirError
from xlir_bench.data.formats.base import Format, Loaded
from xlir_bench.data.lareqa import DataSource, LanguageData, load_lareqa, pinned_files

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def check(raw: dict[str, Any], langs: tuple[str, ...], where: str, path: Path) -> dict[str, Any]:
    _check_url(raw["url_template"], where)
    for lang in langs:
        _check_file_entry(raw["files"].get(lang), lang, where)
    for lang, entry in raw.get("counts", {}).items():
        check_count_entry(entry, lang, where)
    return raw


def _check_url(template: str, where: str) -> None:
    try:
        filled = template.format(lang="x")
    except Exception as exc:  # noqa: BLE001 - str.format raises several types for a bad field
        raise XlirError(f"{where}: url_template may hold {{lang}} and nothing else in braces ({exc!r})") from exc
    if "{lang}" not in template or not filled.startswith("https://"):
        raise XlirError(f"{where}: url_template must be an https:// URL containing {{lang}}")


def _check_file_entry(entry: Any, lang: str, where: str) -> None:
    if not isinstance(entry, dict) or set(entry) != {"path", "sha256"}:
        raise XlirError(f"{where}: files.{lang} must be {{ path = \"...\", sha256 = \"...\" }}")
    if not isinstance(entry["path"], str) or not entry["path"]:
        raise XlirError(f"{where}: files.{lang}.path must be a relative path inside the data folder")
    if not isinstance(entry["sha256"], str) or not _SHA256.fullmatch(entry["sha256"]):
        raise XlirError(f"{where}: files.{lang}.sha256 must be 64 lower-case hex digits")


def check_count_entry(entry: Any, lang: str, where: str) -> None:
    ok = isinstance(entry, dict) and all(
        isinstance(entry.get(k), int) and not isinstance(entry.get(k), bool) and entry[k] >= 0
        for k in ("questions", "candidates")
    )
    if not ok or set(entry) != {"questions", "candidates"}:
        raise XlirError(f"{where}: counts.{lang} must be {{ questions = N, candidates = N }}")


def load(spec: Any, langs: tuple[str, ...], source: DataSource | None) -> Loaded:
    """Verify and parse the files of ``langs``; refuse data whose counts differ from the published ones."""
    paths, checksums = pinned_files(spec, langs, source)
    data = {}
    for lang, path in paths.items():
        data[lang] = load_lareqa(path, lang)
        _check_counts(spec, data[lang], path)
    return data, checksums


def _check_counts(spec: Any, lang_data: LanguageData, path: Path) -> None:
    expected = spec.counts.get(lang_data.lang)
    if not expected:
        return
    got = {"questions": len(lang_data.questions), "candidates": len(lang_data.candidates)}
    if got != {"questions": expected["questions"], "candidates": expected["candidates"]}:
        raise XlirError(f"{path}: loaded {got} but task {spec.name} publishes {expected}; replace the file")


FORMAT = Format(
    name="lareqa",
    summary="LAReQA / SQuAD-format JSON with sentence breaks; candidates are sentences (XQuAD-R, MLQA-R)",
    keys={"files": dict, "counts": dict, "url_template": str},
    required=("files", "url_template"),
    load=load,
    unit="sentence",
    pinned=True,
    check=check,
)
