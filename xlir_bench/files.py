"""File I/O that cannot hurt the user: atomic writes, confined paths, safe names, bounded reads.

Every file xlir-bench writes goes through :func:`write_atomic` (a temporary file
in the target folder, fsync, rename, so a crash or Ctrl-C leaves either the old
file or the new one, never half of one, and no temporary file behind). Every path
that comes from a task file or a record goes through :func:`confine`, and every
name that comes from data (task, language, model, setting) through
:func:`safe_name` before it becomes part of a file name.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import XlirError

# A run record of the whole benchmark is ~10 MB of JSON; anything far beyond is not one.
MAX_RECORD_BYTES = 512 * 2**20


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_atomic(path: str | os.PathLike, data: str | bytes, mode: int | None = None) -> Path:
    """Write ``data`` to ``path``: temporary file in the same folder, fsync, rename (gzip for ``.gz``).

    ``mode`` defaults to what an ordinary new file gets (0666 less the umask);
    mkstemp alone would make it private (0600).
    """
    path = Path(path)
    if path.exists() and not path.is_file():  # renaming over /dev/null (as root) would replace the device
        raise XlirError(f"{path}: not a regular file (a device, pipe or folder); give a file path")
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if path.suffix == ".gz":
        raw = gzip.compress(raw, mtime=0)  # mtime=0: the same content gives byte-identical files
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode if mode is not None else 0o666 & ~_umask())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable; not every file system lets a folder be opened for that."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")


def safe_name(name: str, fallback: str = "unnamed") -> str:
    """``name`` as one file-name component: letters, digits and ``._+-`` only, no leading dot, at most 100 chars."""
    cleaned = _UNSAFE.sub("_", str(name)).lstrip(".")[:100]
    return cleaned or fallback


def confine(root: Path, relative: str, what: str) -> Path:
    """``root / relative``, refused unless it is a relative path that stays inside ``root`` (symlinks resolved)."""
    if not isinstance(relative, str) or not relative:
        raise XlirError(f"{what}: expected a relative path inside {root}, got {relative!r}")
    candidate = Path(relative)
    if candidate.is_absolute() or relative.startswith("~"):
        raise XlirError(f"{what}: {relative!r} is an absolute path; give a path relative to {root}")
    try:
        resolved = (root / candidate).resolve()
        inside = resolved.is_relative_to(root.resolve())
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise XlirError(f"{what}: {root / candidate} cannot be resolved ({exc}); fix the symlinks") from exc
    if not inside:
        link = next((p for p in [root / candidate, *(root / candidate).parents] if p.is_symlink()), None)
        why = f"{link} is a symlink to {resolved}" if link else f"{relative!r} resolves to {resolved}"
        raise XlirError(
            f"{what}: {why}, which leads outside {root}; keep the files inside that folder (copy, not link)"
        )
    return resolved


def check_writable_file(path: str | os.PathLike, option: str) -> Path:
    """Fail now, not after an hour of encoding, if ``path`` cannot be written; creates nothing."""
    path = Path(path)
    if path.is_dir():
        raise XlirError(f"{option} {path}: is a folder; give a file name")
    if path.exists() and not path.is_file():
        raise XlirError(f"{option} {path}: not a regular file (a device or pipe?); give a file path")
    if path.exists() and not os.access(path, os.W_OK):
        raise XlirError(f"{option} {path}: the file is not writable; choose another path")
    check_writable_folder(path.parent if str(path.parent) else Path("."), option)
    return path


def check_writable_folder(folder: str | os.PathLike, option: str) -> Path:
    """Prove that ``folder`` exists and takes new files, or could be created; creates nothing.

    Nothing is made now, so a command that fails later on bad input leaves no empty folders.
    """
    folder = Path(folder)
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise XlirError(f"{option} {folder}: {existing} exists and is not a folder; choose another path")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise XlirError(f"{option} {folder}: cannot write in {existing} (permission denied); choose another path")
    try:  # os.access trusts permission bits; /proc, read-only mounts and root need a real try
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".xlir-bench-probe.")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise XlirError(f"{option} {folder}: cannot write in {existing} ({exc.strerror}); choose another path") from exc
    return folder


def read_text(path: str | os.PathLike, what: str, fix: str) -> str:
    """A UTF-8 text file, or one clear error for a missing file, a folder, or bytes that are not UTF-8."""
    path = Path(path)
    if path.is_dir():
        raise XlirError(f"{path}: is a folder, expected a {what} file; {fix}")
    try:
        return path.read_text(encoding="utf-8-sig")  # a BOM some editors add is not part of the text
    except FileNotFoundError as exc:
        raise XlirError(f"{path}: no such {what} file; {fix}") from exc
    except UnicodeDecodeError as exc:
        raise XlirError(f"{path}: not UTF-8 text (byte {exc.start}); save the {what} as UTF-8") from exc
    except OSError as exc:
        raise XlirError(f"{path}: cannot read the {what} ({exc.strerror}); {fix}") from exc


def iter_jsonl(path: str | os.PathLike, what: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-empty line; one clear error for anything that is not a JSON object."""
    path = Path(path)
    text = read_text(path, what, f"give a {what} file with one JSON object per line")
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise XlirError(f"{path}:{number}: not valid JSON ({exc.msg}); one JSON object per line") from exc
        if not isinstance(row, dict):
            raise XlirError(f"{path}:{number}: a {type(row).__name__}, not a JSON object; one object per line")
        yield number, row


def read_bytes_capped(path: Path, limit: int | None = None) -> bytes:
    """The file's bytes (gunzipped for ``.gz``), refusing more than ``limit`` bytes either way (no gzip bomb)."""
    limit = MAX_RECORD_BYTES if limit is None else limit
    with open(path, "rb") as handle:
        raw = handle.read(limit + 1)
    if len(raw) > limit:
        raise XlirError(f"{path}: larger than {limit / 2**20:.3g} MiB; not a run record")
    if path.suffix != ".gz":
        return raw
    inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflate.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise XlirError(f"{path}: damaged gzip ({exc}); re-run `xlir-bench run` or copy the file again") from exc
    if len(out) > limit:
        raise XlirError(f"{path}: decompresses to more than {limit / 2**20:.3g} MiB; not a run record")
    if not inflate.eof:
        raise XlirError(f"{path}: truncated gzip; re-run `xlir-bench run` or copy the file again")
    return out
