"""The contract BERT's attention from a real ONNX Runtime run. The model (`bert_path`) and the
view helpers (`selection`, `show`, `click`) come from tests/conftest.py."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.core.result import StackAttention

TEXT = "the cat sat on the mat"


@pytest.fixture(scope="session")
def bert_stack(bert_path) -> StackAttention:
    """The encoder stack of the contract BERT run on TEXT."""
    import onnxruntime as ort
    from tokenizers import Tokenizer

    from explorer import contract

    session = ort.InferenceSession(str(bert_path), providers=["CPUExecutionProvider"])
    meta = contract.parse_metadata(session.get_modelmeta().custom_metadata_map[contract.METADATA_KEY])
    encoding = Tokenizer.from_str(meta.tokenizer).encode(TEXT)
    spec = meta.stacks["encoder"]
    feeds = {
        contract.INPUT_IDS: np.array([encoding.ids], dtype=np.int64),
        contract.ATTENTION_MASK: np.ones((1, len(encoding.ids)), dtype=np.int64),
        contract.head_mask_input("encoder"): np.ones((spec.layers, spec.heads), dtype=np.float32),
    }
    (output,) = session.run([contract.attention_output("encoder")], feeds)  # (L, B, H, Q, K)
    tokens = tuple(encoding.tokens)
    return StackAttention(name="encoder", attentions=output[:, 0], query_tokens=tokens, key_tokens=tokens)
