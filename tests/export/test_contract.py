"""explorer.contract: metadata round trip, clear rejections, and no torch."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
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


def valid_gpt() -> dict:
    return {
        "contract": 1,
        "kind": "decoder-lm",
        "d_model": 64,
        "stacks": {"decoder": {"layers": 2, "heads": 4, "head_dim": 16, "queries": "input_ids", "keys": "input_ids",
                               "causal": True}},
        "tokenizer": TOKENIZER,
        "kv_cache": {"stack": "decoder", "layers": 2, "heads": 2, "head_dim": 16},  # grouped: 2 queries a key head
        "sample_text": "def f(x):",
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
        "patch_embedding": {"weight": "patch.weight", "bias": "patch.bias", "class_token": "cls",
                            "positions": "positions"},
    }


def test_valid_metadata_round_trips():
    meta = contract.parse_metadata(json.dumps(valid_bert()))
    assert meta.kind == "bert-mlm"
    assert meta.stacks["encoder"] == contract.StackSpec(2, 4, 16, "input_ids", "input_ids", False)
    assert contract.parse_metadata(meta.to_json()) == meta
    vit = contract.parse_metadata(json.dumps(valid_vit()))
    assert vit.image.grid == (8, 8) and vit.image.num_patches == 64
    assert vit.patch_embedding == contract.PatchEmbedding("patch.weight", "positions", "patch.bias", "cls")
    assert contract.parse_metadata(vit.to_json()) == vit


def test_patch_embedding_is_optional_and_so_are_its_bias_and_class_token():
    assert contract.parse_metadata(_broken(valid_vit(), "patch_embedding", KeyError)).patch_embedding is None
    data = valid_vit()
    data["image"]["class_token"] = False
    del data["patch_embedding"]["bias"], data["patch_embedding"]["class_token"]
    meta = contract.parse_metadata(json.dumps(data))
    assert meta.patch_embedding == contract.PatchEmbedding("patch.weight", "positions")
    assert "null" not in meta.to_json()  # absent names stay absent
    assert contract.parse_metadata(meta.to_json()) == meta


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
        (valid_vit, "patch_embedding", "patch.weight", "patch_embedding: must be an object"),
        (valid_vit, "patch_embedding.weight", KeyError, "patch_embedding: missing required field 'weight'"),
        (valid_vit, "patch_embedding.positions", KeyError, "patch_embedding: missing required field 'positions'"),
        (valid_vit, "patch_embedding.bias", 3, "patch_embedding: field 'bias' must name an initializer, got 3"),
        (valid_vit, "patch_embedding.weight", "", "field 'weight' must name an initializer"),
        (valid_vit, "patch_embedding.class_token", KeyError, "missing field 'class_token', which image.class_token"),
        (valid_vit, "image.class_token", False, "names a 'class_token', but image.class_token says the model has none"),
        (valid_bert, "patch_embedding", {"weight": "w", "positions": "p"},
         "'patch_embedding' belongs to a vit-classifier, not a bert-mlm model"),
        (valid_bert, "figures", {"top-1": 0.3}, "'figures' must be a list of objects"),
        (valid_bert, "figures", [{"value": 0.3}], "figures[0]: missing required field 'label'"),
        (valid_bert, "figures", [{"label": "top-1", "value": "34 %"}], "figures[0]: field 'value' must be int or"),
        (valid_bert, "figures", [{"label": "top-1", "value": 0.3, "baseline": True}], "field 'baseline' must be"),
        (valid_bert, "figures", [{"label": "top-1", "value": 0.3, "unit": 1}], "field 'unit' must be str"),
        (valid_gpt, "kv_cache", [2], "kv_cache: must be an object"),
        (valid_gpt, "kv_cache.stack", "encoder", "kv_cache: 'stack' must name a causal stack of the model"),
        (valid_gpt, "stacks.decoder.causal", False, "kv_cache: 'stack' must name a causal stack"),
        (valid_gpt, "kv_cache.heads", 0, "kv_cache: field 'heads' must be positive"),
        (valid_gpt, "kv_cache.heads", 3, "do not fit stacks.decoder (2 layers of 4 heads of 16)"),
        (valid_gpt, "kv_cache.layers", 3, "kv_cache: 3 layers of 2 heads of 16 do not fit"),
        (valid_gpt, "kv_cache.head_dim", KeyError, "kv_cache: missing required field 'head_dim'"),
        (valid_gpt, "stacks.decoder.kv_heads", 3, "stacks.decoder: 4 heads cannot share 3 key/value heads evenly"),
        (valid_gpt, "stacks.decoder.kv_heads", 0, "stacks.decoder: field 'kv_heads' must be positive"),
        (valid_gpt, "stacks.decoder.kv_heads", 1, "(2 layers of 4 heads of 16 sharing 1 key/value heads)"),
        (valid_gpt, "unembedding", {"weight": "w", "norm": {"weight": "n", "rms": 1}}, "'rms' must be true or false"),
        (valid_gpt, "unembedding", {"weight": "w", "norm": {"weight": "n", "weight_offset": "1"}},
         "'weight_offset' must be a number"),
        (valid_gpt, "unembedding", {"weight": "w", "softcap": 0}, "'softcap' must be a positive number"),
        (valid_gpt, "stacks.decoder.sliding_window", [3], "'sliding_window' must hold one positive whole number or "
                                                          "null per layer (2), got [3]"),
        (valid_gpt, "stacks.decoder.sliding_window", [3, 0], "'sliding_window' must hold one positive whole number"),
        (valid_gpt, "stacks.decoder.scale", -1, "stacks.decoder: 'scale' must be a positive number, got -1"),
        (valid_gpt, "stacks.decoder.softcap", "50", "stacks.decoder: 'softcap' must be a positive number"),
    ],
)
def test_broken_metadata_is_rejected_with_a_clear_message(base, path, value, message):
    with pytest.raises(contract.ContractError) as info:
        contract.parse_metadata(_broken(base(), path, value))
    assert message in str(info.value)


def test_a_cache_names_its_inputs_and_outputs_and_round_trips():
    meta = contract.parse_metadata(json.dumps(valid_gpt()))
    assert meta.kv_cache == contract.KVCache("decoder", 2, 2, 16)
    assert meta.kv_cache.past_inputs() == ["past_key_values.0.key", "past_key_values.0.value",
                                           "past_key_values.1.key", "past_key_values.1.value"]
    assert meta.kv_cache.present_outputs()[-1] == "present.1.value"
    assert meta.kv_cache.shape(3, 0) == (3, 2, 0, 16)
    assert meta.input_names() == ["input_ids", "attention_mask", *meta.kv_cache.past_inputs()]
    assert meta.output_names() == ["logits", "attentions.decoder", *meta.kv_cache.present_outputs()]
    assert meta.sample_text == "def f(x):"
    assert contract.parse_metadata(meta.to_json()) == meta
    assert [meta.stacks["decoder"].key_value_head(h) for h in range(4)] == [0, 1, 2, 3]  # no kv_heads: its own


def test_an_encoders_window_on_either_side_round_trips():
    data = valid_bert()
    data["stacks"]["encoder"]["sliding_window"] = [None, 3]  # ModernBERT's local layers
    meta = contract.parse_metadata(json.dumps(data))
    assert (meta.stacks["encoder"].window(0), meta.stacks["encoder"].window(1)) == (None, 3)
    assert contract.parse_metadata(meta.to_json()) == meta


def test_grouped_heads_an_rms_norm_and_a_soft_cap_round_trip():
    data = valid_gpt()
    data["stacks"]["decoder"].update(kv_heads=2, scale=0.1, softcap=50, sliding_window=[3, None])
    data["unembedding"] = {"weight": "w", "softcap": 30.0, "norm": {"weight": "n", "rms": True, "weight_offset": 1}}
    meta = contract.parse_metadata(json.dumps(data))
    spec = meta.stacks["decoder"]
    assert spec.kv_heads == 2 and [spec.key_value_head(h) for h in range(4)] == [0, 0, 1, 1]
    assert (spec.score_scale(), spec.softcap, spec.window(0), spec.window(1)) == (0.1, 50.0, 3, None)
    assert meta.unembedding == contract.Unembedding("w", norm=contract.LayerNormNames("n", rms=True, weight_offset=1.0),
                                                    softcap=30.0)
    assert contract.parse_metadata(meta.to_json()) == meta
    with pytest.raises(contract.ContractError, match="lacks the inputs"):
        contract.check_graph_io(meta, ["input_ids", "attention_mask"], meta.output_names())
    plain = contract.parse_metadata(json.dumps({k: v for k, v in valid_gpt().items() if k != "kv_cache"}))
    assert plain.kv_cache is None and plain.input_names() == ["input_ids", "attention_mask"]


def test_figures_read_as_a_person_reads_them_and_round_trip():
    data = {**valid_bert(), "description": "Predicts hidden words.", "figures": [
        {"label": "masked-token top-1", "value": 0.34, "unit": "%", "baseline": 0.0562, "baseline_label": "unigram"},
        {"label": "training time", "value": 239.3, "unit": "s"},
        {"label": "held-out tokens", "value": 5639},
        {"label": "held-out masks", "value": 19484},
        {"label": "induction score", "value": 0.020213715},
    ]}
    meta = contract.parse_metadata(json.dumps(data))
    assert [f.text() for f in meta.figures] == ["34.0 % (unigram 5.6 %)", "239.3 s", "5,639", "19,484", "0.02021"]
    assert meta.description == "Predicts hidden words."
    assert contract.parse_metadata(meta.to_json()) == meta
    assert "null" not in meta.to_json()  # a figure without a baseline has none written


def test_metadata_is_read_straight_from_a_file_without_onnx(tmp_path):
    onnx = pytest.importorskip("onnx")
    proto = onnx.helper.make_model(onnx.helper.make_graph(
        [onnx.helper.make_node("Identity", ["x"], ["y"])], "g",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2])],
        [onnx.numpy_helper.from_array(np.zeros(50_000, np.float32), "big")]))  # a graph to skip
    plain = tmp_path / "plain.onnx"
    onnx.save(proto, str(plain))
    assert contract.read_metadata_text(plain) is None
    text = json.dumps(valid_bert())
    onnx.helper.set_model_props(proto, {"other": "x", contract.METADATA_KEY: text})
    ours = tmp_path / "ours.onnx"
    onnx.save(proto, str(ours))
    assert contract.read_metadata_text(ours) == text
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(ours.read_bytes()[:1000])
    with pytest.raises(contract.ContractError, match="cut short"):
        contract.read_metadata_text(cut)
    words = tmp_path / "notes.onnx"
    words.write_text("these are not the weights you are looking for\n" * 20)
    with pytest.raises(contract.ContractError, match="notes.onnx is"):
        contract.read_metadata_text(words)


@pytest.mark.parametrize("text", [None, "", "[1, 2]", "{oops"])
def test_missing_or_unreadable_metadata(text):
    with pytest.raises(contract.ContractError, match="metadata"):
        contract.parse_metadata(text)


def test_graph_io_check_names_what_is_missing():
    meta = contract.parse_metadata(json.dumps(valid_bert()))
    contract.check_graph_io(meta, ["input_ids", "attention_mask"], ["logits", "attentions.encoder"])
    with pytest.raises(contract.ContractError, match=r"outputs \['attentions.encoder'\]"):
        contract.check_graph_io(meta, ["input_ids", "attention_mask"], ["logits"])


def test_initializer_check_names_the_field_and_the_missing_name():
    vit = contract.parse_metadata(json.dumps(valid_vit()))
    contract.check_initializers(vit, {"patch.weight", "patch.bias", "cls", "positions", "other"})
    with pytest.raises(contract.ContractError) as info:
        contract.check_initializers(vit, {"patch.weight", "patch.bias", "positions"})
    assert str(info.value) == "the metadata names initializers the graph lacks: patch_embedding.class_token ('cls')"
    bert = contract.parse_metadata(json.dumps({**valid_bert(), "embedding": "embed.weight"}))
    with pytest.raises(contract.ContractError, match=r"embedding \('embed.weight'\)"):
        contract.check_initializers(bert, set())


def test_importing_the_contract_does_not_import_torch():
    code = "import sys, explorer.contract; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
