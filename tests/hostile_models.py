"""Plug-in encoders (``py:hostile_models:NAME``) that misbehave the way a user's own code can (issue 23)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tiny_models import _HashEncoder


class ExitingEncoder(_HashEncoder):
    """Calls sys.exit(0) while encoding, as a script's leftover `main()` might."""

    fingerprint = "hostile-exit-v1"

    def encode_passages(self, texts):
        sys.exit(0)


class PrintingEncoder(_HashEncoder):
    """Prints progress on stdout, as many models do."""

    fingerprint = "hostile-print-v1"

    def encode_queries(self, texts):
        print(f"encoding {len(texts)} queries")
        return super().encode_queries(texts)


class MutatingEncoder(_HashEncoder):
    """Adds E5's prefix to its input list in place (the vectors are those of the original texts)."""

    fingerprint = "hostile-mutate-v1"

    def encode_queries(self, texts):
        vectors = super().encode_queries(texts)
        texts[:] = ["query: " + text for text in texts]
        return vectors


class AppearingOutputEncoder(_HashEncoder):
    """Writes a file at $HOSTILE_APPEAR while encoding: another run finishing first with the same -o."""

    fingerprint = "hostile-appear-v1"

    def encode_queries(self, texts):
        target = Path(os.environ["HOSTILE_APPEAR"])
        if not target.exists():
            target.write_text("the other run's record\n")
        return super().encode_queries(texts)
