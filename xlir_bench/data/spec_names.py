"""Name patterns a task file's values must match (shared by the task-file checker and the format rows)."""

from __future__ import annotations

import re

TASK_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
LANGUAGE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
