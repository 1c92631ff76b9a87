"""Build a SentencePiece ``precompiled_charsmap`` from a character -> replacement table.

SentencePiece (and the ``tokenizers`` ``Precompiled`` normalizer that reads the same
bytes) stores its NFKC-like normalisation rules as::

    trie_size (uint32 LE, bytes) | trie (Darts-clone double array, uint32 LE units) | replacements

The trie maps the UTF-8 bytes of a source sequence to the byte offset of its
replacement in ``replacements`` (NUL-terminated UTF-8 strings). A lookup walks the
double array: from node position ``p`` the child for byte ``c`` sits at
``p ^ offset(unit[p]) ^ c`` and must carry label ``c``; a node that ends a key has
its value in the unit at ``p ^ offset(unit[p])`` (the child of label 0).

Unit layout (Darts-clone, ``DoubleArrayBuilderUnit``): bits 0-7 label, bit 8
has-leaf, bit 9 "offset is shifted by 8", bits 10-30 offset, bit 31 set on value units.

Reference: T. Kudo and J. Richardson, "SentencePiece: A simple and language independent
subword tokenizer and detokenizer", EMNLP 2018 (normalizer.cc: ``PrefixMatch``,
``Builder::CompileCharsMap``); S. Yata, darts-clone (double-array trie).
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Mapping

_HAS_LEAF = 1 << 8
_IS_VALUE = 1 << 31
_MAX_OFFSET = 1 << 21  # offsets below this are stored unshifted; our tries are far smaller
_END = -1  # trie-dict key of "a key ends here"


def build_charsmap(table: Mapping[str, str]) -> bytes:
    """The precompiled charsmap that replaces each key of ``table`` (whole key) by its value."""
    if not table:
        raise ValueError("build_charsmap: empty table")
    blob, offset_of = _replacement_blob(table.values())
    trie: dict = {}
    for key, value in table.items():
        if not key:
            raise ValueError("build_charsmap: empty key")
        node = trie
        for byte in key.encode("utf-8"):
            node = node.setdefault(byte, {})
        node[_END] = offset_of[value]
    units = _double_array(trie)
    array = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(array)) + array + blob


def lookup(charsmap: bytes, data: bytes) -> tuple[int, str] | None:
    """(matched byte length, replacement) of the shortest key that prefixes ``data``, else None.

    A second reader of the format, used to check the builder independently of ``tokenizers``.
    """
    (size,) = struct.unpack_from("<I", charsmap, 0)
    units = struct.unpack_from(f"<{size // 4}I", charsmap, 4)
    blob = charsmap[4 + size :]
    pos = _offset(units[0])
    for depth, byte in enumerate(data, 1):
        pos ^= byte
        if pos >= len(units) or units[pos] & (_IS_VALUE | 0xFF) != byte:
            return None
        unit = units[pos]
        pos ^= _offset(unit)
        if unit & _HAS_LEAF:
            start = units[pos] & (_IS_VALUE - 1)
            return depth, blob[start : blob.index(b"\0", start)].decode("utf-8")
    return None


def _offset(unit: int) -> int:
    return (unit >> 10) << ((unit & (1 << 9)) >> 6)


def _replacement_blob(values) -> tuple[bytes, dict[str, int]]:
    blob = bytearray()
    offset_of: dict[str, int] = {}
    for value in values:
        if value not in offset_of:
            offset_of[value] = len(blob)
            blob += value.encode("utf-8") + b"\0"
    return bytes(blob), offset_of


def _double_array(trie: dict) -> list[int]:
    """Place the trie's nodes breadth first; each node gets a base no other node uses."""
    units = [0]
    used = bytearray(b"\1")  # slot 0 is the root
    bases: set[int] = set()
    queue = deque([(0, trie)])
    while queue:
        slot, node = queue.popleft()
        labels = sorted(label for label in node if label != _END)
        needed = ([0] if _END in node else []) + labels
        base = _free_base(used, bases, needed)
        relative = slot ^ base
        if relative >= _MAX_OFFSET:  # pragma: no cover - needs a trie of over two million units
            raise ValueError("build_charsmap: table too large for unshifted offsets")
        end = max(base ^ label for label in needed) + 1
        if end > len(units):
            units += [0] * (end - len(units))
            used += bytes(end - len(used))
        bases.add(base)
        units[slot] |= (relative << 10) | (_HAS_LEAF if _END in node else 0)
        if _END in node:
            units[base] = node[_END] | _IS_VALUE
            used[base] = 1
        for label in labels:
            child = base ^ label
            units[child] = label
            used[child] = 1
            queue.append((child, node[label]))
    # An unused slot must not look like a child of label 0 (a NUL byte in the input).
    return [unit if taken else _IS_VALUE for unit, taken in zip(units, used, strict=True)]


def _free_base(used: bytearray, bases: set[int], needed: list[int]) -> int:
    first = needed[0]
    free = used.find(0, 1)
    while True:
        if free < 0:
            free = len(used)
        base = free ^ first
        if base and base not in bases and all(base ^ label >= len(used) or not used[base ^ label] for label in needed):
            return base
        free = used.find(0, free + 1) if free + 1 < len(used) else free + 1
