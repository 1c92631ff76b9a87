"""Options as value objects: the one check that a mapping of options holds only known names.

An unknown name is an error with a did-you-mean, never silently dropped (a typo
such as ``setings="mono"`` would otherwise run every family).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from xlir_bench.core.errors import XlirError


def suggestion(name: str, known: Iterable[str]) -> str:
    """``; did you mean X?`` for the closest known name, or nothing."""
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def check_known(given: Mapping[str, Any] | Iterable[str], known: Iterable[str], where: str) -> None:
    """Refuse the first name of ``given`` that is not in ``known``, naming ``where`` and the known names."""
    known = set(known)
    for name in given:
        if name not in known:
            listed = ", ".join(sorted(known)) or "none"
            raise XlirError(f"{where}: unknown option {name!r}{suggestion(name, known)} (known: {listed})")
