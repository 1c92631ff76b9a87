"""Escaping for strings that come from records or task files and end up in Markdown or HTML.

A run record is data someone else may have written: a model called
``<script>…`` or ``x | y`` must show as text, never become markup or break a table.
"""

from __future__ import annotations

import html
import re

_LEADING_MARKUP = re.compile(r"^\s*([#>=*+-])")


def md_cell(value: object) -> str:
    """One Markdown table cell or heading text: ``|``, ``\\`` and ``<`` escaped, newlines folded, no leading ``#``/``>``/list mark."""
    text = " ".join(str(value).split())
    text = text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")
    return _LEADING_MARKUP.sub(lambda m: "\\" + m.group(1), text)


def html_text(value: object) -> str:
    """Text for an HTML element or attribute (quotes included)."""
    return html.escape(str(value), quote=True)


def with_interval(value: float | None, interval: list | None, digits: int = 4) -> str:
    """``0.2988 ± 0.0108`` (half the 95 % interval's width), or the value alone when there is no interval."""
    if value is None:
        return ""
    if not interval or None in interval:
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} ± {(interval[1] - interval[0]) / 2:.{digits}f}"
