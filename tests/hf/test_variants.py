"""The other layouts `attention-export hf` takes: RoBERTa, DistilBERT, a BERT as a plain encoder,
and a ViT saved without its classifier. One export each, checked against transformers' eager."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from transformers import (
    BertModel,
    DistilBertConfig,
    DistilBertForMaskedLM,
    RobertaConfig,
    RobertaForMaskedLM,
    ViTConfig,
    ViTModel,
)

from explorer import contract
from export.hf import export_hf

from .conftest import PREPROCESSOR, bert_tokenizer, image_batch, run_session, text_batch

pytestmark = pytest.mark.slow  # four exports

ROBERTA_SPECIAL = {"cls": "<s>", "pad": "<pad>", "sep": "</s>", "unk": "<unk>", "mask": "<mask>"}


def save_roberta(folder):
    tokenizer = bert_tokenizer(ROBERTA_SPECIAL)
    config = RobertaConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                           intermediate_size=64, max_position_embeddings=42, pad_token_id=1)
    RobertaForMaskedLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return RobertaForMaskedLM


def save_distilbert(folder):
    tokenizer = bert_tokenizer()
    config = DistilBertConfig(vocab_size=len(tokenizer), dim=32, n_layers=2, n_heads=4, hidden_dim=64,
                              max_position_embeddings=40)
    DistilBertForMaskedLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return DistilBertForMaskedLM


def save_vit_features(folder):
    config = ViTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                       image_size=16, patch_size=4)
    ViTModel(config).save_pretrained(folder)
    (folder / "preprocessor_config.json").write_text(json.dumps(PREPROCESSOR))
    return ViTModel


def reference(model_class, folder, feeds):
    options = {"add_pooling_layer": False} if model_class in (BertModel, ViTModel) else {}
    model = model_class.from_pretrained(folder, attn_implementation="eager", **options).eval()
    inputs = {name: torch.from_numpy(value) for name, value in feeds.items()}
    if contract.PIXEL_VALUES in inputs:
        inputs["attention_mask"] = inputs.pop(contract.PATCH_MASK)
    with torch.no_grad():
        out = model(**inputs, output_attentions=True)
    if hasattr(out, "logits"):
        logits = out.logits
    else:
        logits = out.last_hidden_state[:, 0] if model_class is ViTModel else out.last_hidden_state
    return logits.numpy(), torch.stack(out.attentions).numpy()


@pytest.mark.parametrize("layout", ["roberta", "distilbert", "bert-as-encoder", "vit-features"])
def test_layout_equals_transformers_eager(layout, checkpoints, tmp_path):
    folder = tmp_path / layout
    torch.manual_seed(0)
    task = None
    if layout == "roberta":
        model_class = save_roberta(folder)
    elif layout == "distilbert":
        model_class = save_distilbert(folder)
    elif layout == "vit-features":
        model_class = save_vit_features(folder)
    else:
        folder, model_class, task = checkpoints["bert"], BertModel, "encoder"
    path = export_hf(folder, tmp_path / f"{layout}.onnx", task=task)
    session, meta = run_session(path)
    spec = next(iter(meta.stacks.values()))
    if meta.image is not None:
        assert meta.kind == "vit-classifier"
        assert meta.labels == tuple(f"feature {i}" for i in range(32))  # no classifier: the [CLS] features
        feeds = dict(zip((contract.PIXEL_VALUES, contract.PATCH_MASK), image_batch(2, seed=0), strict=True))
    else:
        assert meta.kind == ("encoder" if task else "bert-mlm")
        assert meta.max_positions == {contract.INPUT_IDS: 40}  # RoBERTa's two unused positions left out
        assert meta.special_tokens["mask"] == ("<mask>" if layout == "roberta" else "[MASK]")
        feeds = dict(zip((contract.INPUT_IDS, contract.ATTENTION_MASK), text_batch(50, 2, 9, seed=0), strict=True))
    assert (spec.layers, spec.heads, meta.d_model) == (2, 4, 32)
    names = [o.name for o in session.get_outputs()]
    out = dict(zip(names, session.run(names, feeds), strict=True))
    ref_logits, ref_attentions = reference(model_class, folder, feeds)
    np.testing.assert_allclose(out[contract.attention_output("encoder")], ref_attentions, atol=1e-4, rtol=0)
    np.testing.assert_allclose(out[contract.LOGITS], ref_logits, atol=1e-3, rtol=0)
