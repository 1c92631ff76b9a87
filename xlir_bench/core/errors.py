"""User-facing errors.

Every problem a user can fix (bad option, missing file, corrupt data, broken model)
is raised as :class:`XlirError` with a one-line message that names the culprit and
the fix. The CLI prints that line and exits with code 2; nothing is written.
"""

from __future__ import annotations


class XlirError(Exception):
    """A problem with the user's input, reported as one line: what is wrong and how to fix it."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))
