"""Escaping for strings that come from records or task files and end up in Markdown or HTML.

A run record is data someone else may have written: a model called
``<script>…`` or ``x | y`` must show as text, never become markup or break a table.
"""

from __future__ import annotations

import html
import re
import unicodedata

_LEADING_MARKUP = re.compile(r"^\s*([#>=*+-])")
# control, format (zero-width, bidi overrides), surrogate, private-use, unassigned, line/paragraph separators
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def _escaped(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def visible(value: object, keep: str = "", ascii_only: bool = False) -> str:
    """``value`` as text that cannot act on a terminal: control and invisible characters written as ``\\x1b``.

    Text from a file or a server (a model name, an API's error message) may hold ANSI/OSC
    escapes that recolour a terminal or change its title. ``keep`` names characters left
    as they are (``"\\n"`` for multi-line output); ``ascii_only`` also escapes every
    non-ASCII character, so a Cyrillic ``е`` in ``еn`` shows as ``\\u0435n``.
    """
    text = str(value)
    return "".join(
        _escaped(char)
        if char not in keep and (unicodedata.category(char) in _HIDDEN or (ascii_only and ord(char) > 126))
        else char
        for char in text
    )


def md_cell(value: object) -> str:
    """One Markdown table cell or heading text: ``|``, ``\\`` and ``<`` escaped, newlines folded, no leading ``#``/``>``/list mark."""
    text = visible(" ".join(str(value).split()))
    text = text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")
    return _LEADING_MARKUP.sub(lambda m: "\\" + m.group(1), text)


def html_text(value: object) -> str:
    """Text for an HTML element or attribute (quotes included)."""
    return html.escape(visible(value, keep="\n\t"), quote=True)


def with_interval(value: float | None, interval: list | None, digits: int = 4) -> str:
    """``0.2988 ± 0.0108`` (half the 95 % interval's width), or the value alone when there is no interval."""
    if value is None:
        return ""
    if not interval or None in interval:
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} ± {(interval[1] - interval[0]) / 2:.{digits}f}"
