"""explorer.contract: metadata round trip, clear rejections, and no torch."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from explorer import contract

TOKENIZER = json.dumps({"version": "1.0", "model": {"type": "WordLevel", "vocab": {"a": 0}, "unk_token": "a"}})


def valid_bert() -> dict:
    return {
        "contract": 1,
        "kind": "bert-mlm",
        "d_model": 64,
        "stacks": {"encoder": {"layers": 2, "heads": 4, "head_dim": 16, "queries": "input_ids", "keys": "input_ids"}},
        "tokenizer": TOKENIZER,
        "special_tokens": {"mask": "[MASK]", "cls": "[CLS]"},
        "max_positions": {"input_ids": 128},
    }


def valid_vit() -> dict:
    return {
        "contract": 1,
        "kind": "vit-classifier",
        "d_model": 64,
        "stacks": {"encoder": {"layers": 2, "heads": 4, "head_dim": 16, "queries": "pixel_values",
                               "keys": "pixel_values"}},
        "labels": ["circle", "square"],
        "image": {"size": [32, 32], "patch_size": 4, "channels": 3, "mean": [0.5] * 3, "std": [0.5] * 3},
    }


def test_valid_metadata_round_trips():
    meta = contract.parse_metadata(json.dumps(valid_bert()))
    assert meta.kind == "bert-mlm"
    assert meta.stacks["encoder"] == contract.StackSpec(2, 4, 16, "input_ids", "input_ids", False)
    assert contract.parse_metadata(meta.to_json()) == meta
    vit = contract.parse_metadata(json.dumps(valid_vit()))
    assert vit.image.grid == (8, 8) and vit.image.num_patches == 64
    assert contract.parse_metadata(vit.to_json()) == vit


def _broken(base: dict, path: str, value) -> str:
    data = json.loads(json.dumps(base))
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node[key]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return json.dumps(data)


@pytest.mark.parametrize(
    ("base", "path", "value", "message"),
    [
        (valid_bert, "kind", "gpt", "unknown kind 'gpt'"),
        (valid_bert, "contract", KeyError, "missing required field 'contract'"),
        (valid_bert, "contract", 99, "newer than this app understands"),
        (valid_bert, "stacks.encoder.heads", 0, "'heads' must be positive"),
        (valid_bert, "stacks.encoder.layers", "two", "'layers' must be int"),
        (valid_bert, "stacks.encoder.keys", "src_ids", "keys must name one of ['input_ids']"),
        (valid_bert, "stacks.decoder", {"layers": 1, "heads": 1, "head_dim": 1, "queries": "input_ids",
                                        "keys": "input_ids"}, "has stacks ['encoder']"),
        (valid_bert, "tokenizer", KeyError, "needs its 'tokenizer'"),
        (valid_bert, "tokenizer", "{not json", "tokenizer: not valid JSON"),
        (valid_bert, "special_tokens", {"cls": "[CLS]"}, "needs special_tokens.mask"),
        (valid_bert, "max_positions", {"input_ids": -1}, "'max_positions' must map"),
        (valid_vit, "image.patch_size", 5, "not a whole number of 5-pixel patches"),
        (valid_vit, "image.mean", [0.5], "'mean' must hold 3 numbers"),
        (valid_vit, "image", KeyError, "needs an 'image' spec"),
        (valid_vit, "labels", [], "needs its class 'labels'"),
    ],
)
def test_broken_metadata_is_rejected_with_a_clear_message(base, path, value, message):
    with pytest.raises(contract.ContractError) as info:
        contract.parse_metadata(_broken(base(), path, value))
    assert message in str(info.value)


@pytest.mark.parametrize("text", [None, "", "[1, 2]", "{oops"])
def test_missing_or_unreadable_metadata(text):
    with pytest.raises(contract.ContractError, match="metadata"):
        contract.parse_metadata(text)


def test_graph_io_check_names_what_is_missing():
    meta = contract.parse_metadata(json.dumps(valid_bert()))
    contract.check_graph_io(meta, ["input_ids", "attention_mask"], ["logits", "attentions.encoder"])
    with pytest.raises(contract.ContractError, match=r"outputs \['attentions.encoder'\]"):
        contract.check_graph_io(meta, ["input_ids", "attention_mask"], ["logits"])


def test_importing_the_contract_does_not_import_torch():
    code = "import sys, explorer.contract; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
