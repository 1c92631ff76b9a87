"""Progress bars and the lines printed after them.

A bar left on screen when a run stops would be redrawn under the ``interrupted:``
or ``error:`` line that explains the stop (tqdm draws a bar once more when it is
closed); :func:`clear_bars` erases every live bar first, so that line is the last
one a reader sees.
"""

from __future__ import annotations

import shutil

FIRST_CHUNK = 32  # texts in the first chunk a run encodes: the bar moves within seconds even on a CPU


def run_bar(total: int, desc: str):
    """The run's one bar: two columns short of the terminal, so the ``^C`` a terminal echoes after it stays on
    its line (a full-width bar pushes it to the next line, and clearing would then erase that line instead)."""
    from tqdm.auto import tqdm

    columns = shutil.get_terminal_size((100, 24)).columns
    return tqdm(total=total, unit="text", desc=desc, ncols=max(40, columns - 2), mininterval=1.0)


def clear_bars() -> int:
    """Close every live tqdm bar, erasing its line; returns how many there were."""
    try:
        from tqdm import tqdm
    except ImportError:
        return 0
    bars = list(getattr(tqdm, "_instances", []))
    for bar in bars:
        bar.leave = False
        bar.close()
    return len(bars)


def chunk_sizes(total: int, largest: int, first: int) -> list[int]:
    """Chunk sizes covering ``total`` texts: ``first``, then doubling up to ``largest`` (all ``largest`` if first is 0)."""
    sizes, size, done = [], min(first, largest) if first else largest, 0
    while done < total:
        sizes.append(min(size, total - done))
        done += sizes[-1]
        size = min(size * 2, largest)
    return sizes
