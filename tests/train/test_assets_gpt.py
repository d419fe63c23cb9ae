"""The shipped GPT: it follows the contract with its cache, generates as its PyTorch weights do,
and its figures are measured again here on the held-out files and the repeated-token probe."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from explorer import contract
from explorer.core.generation import TextGenerator
from explorer.core.head_stats import repeated_tokens_run
from explorer.core.model import open_model
from explorer.core.runner import Runner
from export.bundle import model_from_onnx

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "explorer" / "assets" / "models" / "gpt.onnx"

pytestmark = pytest.mark.skipif(not MODEL.is_file(), reason="explorer/assets/models/gpt.onnx not trained yet")


@pytest.fixture(scope="module")
def runner() -> Runner:
    return Runner(open_model(MODEL))


def test_the_shipped_gpt_follows_the_contract_with_its_cache(runner):
    meta = runner.model.meta
    assert meta.kind == "decoder-lm" and meta.stacks["decoder"].causal
    assert meta.kv_cache == contract.KVCache("decoder", meta.stacks["decoder"].layers, meta.stacks["decoder"].heads,
                                             meta.stacks["decoder"].head_dim)
    assert set(meta.kv_cache.present_outputs()) <= set(runner.model.output_names)
    assert meta.unembedding is not None and meta.sample_text.startswith("def ")
    assert {figure.label.split(" on ")[0] for figure in meta.figures} >= {"next-token top-1", "next-token top-5"}
    assert meta.provenance["source"] == "trained by attention-export train gpt"


def test_the_sample_text_generates_as_pytorch_does(runner):
    generator = TextGenerator(runner, runner.model.meta.sample_text, max_new_tokens=12)
    generator.run_to_end()
    model = model_from_onnx(MODEL).eval()  # the file's own (rounded) weights
    eos = runner.encoders["input_ids"].token_to_id(runner.model.meta.special_tokens["eos"])
    expected = model.greedy_generate(torch.tensor([generator.prompt]), 12, eos_id=eos)
    assert generator.target == expected[0].tolist()
    assert generator.text().strip(), "it writes something after the prompt"


def test_its_figures_hold_on_the_probe_and_the_held_out_files(runner):
    meta = runner.model.meta
    stats, span = repeated_tokens_run(runner)
    induction = stats["decoder"].induction
    assert span == 50
    # the figure the file states is the one the app's head table measures
    assert induction.max() == pytest.approx(meta.provenance["induction_score"], abs=1e-5)
    layer, head = np.unravel_index(int(induction.argmax()), induction.shape)
    assert meta.provenance["induction_head"] == f"layer {layer} head {head}"
    assert meta.provenance["top1_onnx"] >= 3 * meta.provenance["baseline_top1_onnx"]  # the targets
    assert induction.max() >= 0.4
    assert meta.provenance["train_seconds"] <= 15 * 60


def test_cached_generation_equals_recomputing_on_the_shipped_file(runner):
    generator = TextGenerator(runner, "import os\nimport sys\n", max_new_tokens=6)
    generator.run_to_end()
    whole = generator._run(generator.target)
    np.testing.assert_allclose(generator.current.stacks["decoder"].attentions, whole.stacks["decoder"].attentions,
                               atol=1e-5, rtol=0)
    np.testing.assert_allclose(generator.current.logits, whole.logits, atol=1e-4, rtol=0)
