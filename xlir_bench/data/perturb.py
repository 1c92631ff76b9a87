"""Query perturbations for the robustness track: seeded, applied to questions only, Unicode-correct.

Every edit works on grapheme clusters (a base character with the combining marks
that follow it), so a Devanagari vowel sign, a Thai tone mark or an Arabic haraka
is never torn from its letter. Each query gets its own random stream, seeded by
(seed, perturbation, question id, language), so a query's perturbed form does not
depend on which other queries are in the run.

Perturbations (``NAME[:LEVEL]``; LEVEL is a rate in [0, 1]):

* ``typo`` — character noise: each cluster is, with probability LEVEL (default
  0.05), deleted, duplicated (insert), replaced by a letter of the same text
  (substitute) or swapped with its right neighbour, one of the four at random.
  ``insert``, ``delete``, ``substitute`` and ``swap`` apply one operation alone.
* ``diacritics`` — strips accents and diacritics (Latin, Greek, Cyrillic combining
  accents; Vietnamese tone marks; Arabic harakat) from a LEVEL share of the words
  (default 1.0). Marks that are letters' vowels (Devanagari matras, Thai vowels) stay.
* ``case`` — flips the case of a LEVEL share of the words (default 0.2).
* ``punct`` — deletes each punctuation mark with probability LEVEL (default 0.5).
* ``codeswitch`` — replaces a LEVEL share of the words (default 0.2) by the words at
  the same relative position of the parallel question in another language of the
  task (chosen at random among those that have it). Texts written without spaces
  (Chinese, Thai) count each cluster as a word.
* ``dialect`` — a profile composing them: diacritics:1.0, case:0.1, punct:0.5,
  typo:LEVEL (default 0.03) and codeswitch:0.1.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from xlir_bench.core.errors import XlirError

DEFAULTS = {
    "typo": 0.05,
    "insert": 0.05,
    "delete": 0.05,
    "substitute": 0.05,
    "swap": 0.05,
    "diacritics": 1.0,
    "case": 0.2,
    "punct": 0.5,
    "codeswitch": 0.2,
    "dialect": 0.03,
}
# Combining blocks whose marks are accents, not vowels: stripping them keeps the word readable.
_ACCENT_RANGES = (
    (0x0300, 0x036F),
    (0x1AB0, 0x1AFF),
    (0x1DC0, 0x1DFF),
    (0x20D0, 0x20FF),
    (0x064B, 0x065F),
    (0x0670, 0x0670),
)


@dataclass(frozen=True)
class Perturbation:
    name: str
    level: float

    @property
    def spec(self) -> str:
        return f"{self.name}:{self.level:g}"


@dataclass(frozen=True)
class QueryContext:
    """What a perturbation may use besides the text: its id, language and parallel questions."""

    qid: str
    lang: str
    parallel: dict[str, str]  # other language -> the same question in it


def parse_perturbation(value: str) -> Perturbation:
    name, _, level = value.partition(":")
    if name not in DEFAULTS:
        raise XlirError(f"--perturb {value}: unknown perturbation {name!r}; choose from {', '.join(DEFAULTS)}")
    try:
        rate = float(level) if level else DEFAULTS[name]
    except ValueError:
        raise XlirError(f"--perturb {value}: level {level!r} is not a number; write NAME:0.1") from None
    if not 0.0 <= rate <= 1.0:
        raise XlirError(f"--perturb {value}: level must be between 0 and 1")
    return Perturbation(name, rate)


def clusters(text: str) -> list[str]:
    """Grapheme clusters: each base character with the combining marks (and joiners) after it."""
    out: list[str] = []
    for char in text:
        joins = unicodedata.category(char).startswith("M") or char in "\u200c\u200d"
        if out and (joins or out[-1][-1] == "\u200d"):
            out[-1] += char
        else:
            out.append(char)
    return out


def _is_accent(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in _ACCENT_RANGES)


def strip_accents(word: str) -> str:
    decomposed = unicodedata.normalize("NFD", word)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not _is_accent(c)))


def _words(text: str) -> tuple[list[str], str]:
    """Words and the joiner to put them back together (clusters for unspaced scripts)."""
    words = text.split()
    if len(words) <= 1 and len(clusters(text)) > 1 and not text.isascii():
        return clusters(text), ""
    return words, " "


def _rng(seed: int, name: str, context: QueryContext) -> np.random.Generator:
    digest = hashlib.sha256(f"{seed}\0{name}\0{context.lang}\0{context.qid}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _char_noise(text: str, rate: float, rng: np.random.Generator, ops: Sequence[str]) -> str:
    units = clusters(text)
    letters = [u for u in units if u[0].isalpha()] or units
    out: list[str] = []
    i = 0
    while i < len(units):
        unit = units[i]
        if not unit.isspace() and rng.random() < rate:
            op = ops[int(rng.integers(len(ops)))]
            if op == "delete":
                i += 1
                continue
            if op == "insert":
                out += [unit, unit]
            elif op == "substitute":
                out.append(letters[int(rng.integers(len(letters)))])
            elif op == "swap" and i + 1 < len(units) and not units[i + 1].isspace():
                out += [units[i + 1], unit]
                i += 2
                continue
            else:
                out.append(unit)
        else:
            out.append(unit)
        i += 1
    return "".join(out)


def _map_words(text: str, rate: float, rng: np.random.Generator, change: Callable[[str], str]) -> str:
    words, joiner = _words(text)
    return joiner.join(change(w) if rng.random() < rate else w for w in words)


def _punct(text: str, rate: float, rng: np.random.Generator) -> str:
    return "".join(
        u for u in clusters(text) if not (unicodedata.category(u[0]).startswith("P") and rng.random() < rate)
    )


def _codeswitch(text: str, rate: float, rng: np.random.Generator, context: QueryContext) -> str:
    if not context.parallel:
        return text
    other = context.parallel[sorted(context.parallel)[int(rng.integers(len(context.parallel)))]]
    words, joiner = _words(text)
    foreign, _ = _words(other)
    if not words or not foreign:
        return text
    out = []
    for i, word in enumerate(words):
        if rng.random() < rate:
            out.append(foreign[min(len(foreign) - 1, i * len(foreign) // len(words))])
        else:
            out.append(word)
    return joiner.join(out) if joiner else " ".join(_regroup(out, words))


def _regroup(out: list[str], original: list[str]) -> list[str]:
    """Unspaced text with foreign words inserted: glue original clusters, space around foreign words."""
    groups: list[str] = []
    for new, old in zip(out, original, strict=True):
        if new == old and groups and not groups[-1].endswith("\0"):
            groups[-1] += new
        else:
            groups.append(new if new == old else new + "\0")
    return [g.rstrip("\0") for g in groups]


_CHAR_OPS = {
    "typo": ("insert", "delete", "substitute", "swap"),
    "insert": ("insert",),
    "delete": ("delete",),
    "substitute": ("substitute",),
    "swap": ("swap",),
}


def apply(perturbation: Perturbation, text: str, context: QueryContext, seed: int = 0) -> str:
    """The perturbed form of one question."""
    rng = _rng(seed, perturbation.name, context)
    name, rate = perturbation.name, perturbation.level
    if name in _CHAR_OPS:
        return _char_noise(text, rate, rng, _CHAR_OPS[name])
    if name == "diacritics":
        return _map_words(text, rate, rng, strip_accents)
    if name == "case":
        return _map_words(text, rate, rng, str.swapcase)
    if name == "punct":
        return _punct(text, rate, rng)
    if name == "codeswitch":
        return _codeswitch(text, rate, rng, context)
    profile = [
        Perturbation("diacritics", 1.0),
        Perturbation("case", 0.1),
        Perturbation("punct", 0.5),
        Perturbation("typo", rate),
        Perturbation("codeswitch", 0.1),
    ]
    for step in profile:
        text = apply(step, text, context, seed)
    return text


def apply_all(perturbations: Sequence[Perturbation], text: str, context: QueryContext, seed: int = 0) -> str:
    for perturbation in perturbations:
        text = apply(perturbation, text, context, seed)
    return text


def perturb_task_questions(task, perturbations: Sequence[Perturbation], seed: int = 0) -> dict[str, list[str]]:
    """Perturbed questions of every language of a loaded task, parallel questions taken from the task itself."""
    by_id: dict[str, dict[str, str]] = {}
    for lang in task.langs:
        for qid, question in zip(task.data[lang].question_ids, task.data[lang].questions, strict=True):
            by_id.setdefault(qid, {})[lang] = question
    out = {}
    for lang in task.langs:
        data = task.data[lang]
        out[lang] = [
            apply_all(
                perturbations,
                question,
                QueryContext(qid, lang, {k: v for k, v in by_id[qid].items() if k != lang}),
                seed,
            )
            for qid, question in zip(data.question_ids, data.questions, strict=True)
        ]
    return out
