"""Fixtures for the view tests: attention from a real ONNX Runtime run, and small hand-made stacks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from explorer.core.result import StackAttention

TEXT = "the cat sat on the mat"
PADDING = 2  # [PAD] keys at the end, masked out


@dataclass(frozen=True)
class OrtRun:
    """One untrained BERT run: the `attentions.encoder` output as ONNX Runtime returned it
    (layers, batch, heads, queries, keys), and the stack built from batch item 0."""

    output: np.ndarray
    stack: StackAttention


@pytest.fixture(scope="session")
def bert_run(bert_path) -> OrtRun:
    import onnxruntime as ort
    from tokenizers import Tokenizer

    from explorer import contract

    session = ort.InferenceSession(str(bert_path), providers=["CPUExecutionProvider"])
    meta = contract.parse_metadata(session.get_modelmeta().custom_metadata_map[contract.METADATA_KEY])
    tokenizer = Tokenizer.from_str(meta.tokenizer)
    encoding = tokenizer.encode(TEXT)
    pad = meta.special_tokens["pad"]
    tokens = tuple(encoding.tokens) + (pad,) * PADDING
    ids = list(encoding.ids) + [tokenizer.token_to_id(pad)] * PADDING
    mask = [1] * len(encoding.ids) + [0] * PADDING
    spec = meta.stacks["encoder"]
    feeds = {
        contract.INPUT_IDS: np.array([ids], dtype=np.int64),
        contract.ATTENTION_MASK: np.array([mask], dtype=np.int64),
        contract.head_mask_input("encoder"): np.ones((spec.layers, spec.heads), dtype=np.float32),
    }
    (output,) = session.run([contract.attention_output("encoder")], feeds)  # (L, B, H, Q, K)
    stack = StackAttention(
        name="encoder",
        attentions=output[:, 0],
        query_tokens=tokens,
        key_tokens=tokens,
        key_mask=np.array(mask, dtype=bool),
    )
    return OrtRun(output, stack)


def softmax_rows(scores: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    scores = np.where(allowed, scores, -np.inf)
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return (weights / weights.sum(axis=-1, keepdims=True)).astype(np.float32)


@pytest.fixture
def hand_stacks() -> dict[str, StackAttention]:
    """A small encoder-decoder: encoder (5 tokens, the last masked), causal decoder (4), cross (4 x 5)."""
    rng = np.random.default_rng(7)
    source = ("le", "chat", "dort", ".", "[PAD]")
    target = ("[CLS]", "the", "cat", "sleeps")
    key_mask = np.array([True, True, True, True, False])
    causal = np.tri(4, dtype=bool)
    return {
        "encoder": StackAttention(
            "encoder", softmax_rows(rng.normal(size=(2, 3, 5, 5)) * 2, key_mask), source, source, key_mask=key_mask
        ),
        "decoder": StackAttention(
            "decoder", softmax_rows(rng.normal(size=(2, 3, 4, 4)) * 2, causal), target, target, causal=True
        ),
        "cross": StackAttention(
            "cross", softmax_rows(rng.normal(size=(2, 3, 4, 5)) * 2, key_mask), target, source, key_mask=key_mask
        ),
    }
