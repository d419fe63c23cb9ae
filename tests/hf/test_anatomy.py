"""An imported model shows the same anatomy steps as a bundled one: its q, k and v, its way in and
its W_O come from the file (outputs and the weights its metadata names), and each step gives
what transformers computed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer import contract
from explorer.core import anatomy
from explorer.core.model import open_model
from explorer.core.runner import Runner
from export.hf import FAMILIES

from .conftest import image_batch, reference_model

TEXT = "the cat sat on the mat"


def run(imported):
    """(the app's run of batch item 0, transformers' model, its keyword inputs for the same item)."""
    runner = Runner(open_model(imported.path))
    model = reference_model(imported.folder, imported.name)
    if imported.name == "vit":
        pixels, _ = image_batch(1, seed=21)
        return runner.run_pixels(pixels), model, {"pixel_values": torch.from_numpy(pixels)}
    result = runner.run_text(TEXT)
    ids = torch.tensor([result.token_ids[contract.INPUT_IDS]])
    return result, model, {"input_ids": ids}


def test_head_steps_give_the_imports_own_attention(imported):
    result, _, _ = run(imported)
    stack = next(iter(imported.metadata.stacks))
    spec = imported.metadata.stacks[stack]
    attention = result.outputs[contract.attention_output(stack)]  # (L, H, T, S)
    for layer, head, query in ((0, 1, 2), (spec.layers - 1, spec.heads - 1, attention.shape[2] - 1)):
        steps = anatomy.head_steps(result.outputs, stack, spec, layer, head, query)
        np.testing.assert_allclose(steps.alpha, attention[layer, head, query], atol=1e-5, rtol=0)
        assert steps.alpha.sum() == pytest.approx(1.0, abs=1e-5)
        if spec.causal:
            assert np.all(steps.alpha[query + 1:] == 0.0)


def test_hidden_states_are_the_layers_inputs_and_outputs_as_transformers_has_them(imported):
    result, model, inputs = run(imported)
    stack = next(iter(imported.metadata.stacks))
    hidden = result.outputs[contract.stack_output("hidden_states", stack)]  # (L + 1, T, D)
    with torch.no_grad():
        reference = model(**inputs, output_hidden_states=True).hidden_states
    np.testing.assert_allclose(hidden[:-1], torch.stack(reference[:-1])[:, 0].numpy(), atol=1e-5, rtol=0)
    final_norm = getattr(model.base_model, "ln_f", None)  # GPT-2 hands back its last state normed
    last = torch.from_numpy(hidden[-1])
    with torch.no_grad():
        last = last if final_norm is None else final_norm(last)
    np.testing.assert_allclose(last.numpy(), reference[-1][0].numpy(), atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", ["bert", "gpt2"])
def test_embedding_steps_rebuild_the_first_layer_input_from_the_named_weights(imports, name):
    imported = imports(name)
    result, model, inputs = run(imported)
    meta = imported.metadata
    ids = result.token_ids[contract.INPUT_IDS]
    stack = next(iter(meta.stacks))
    steps = anatomy.embedding_steps(anatomy.Initializers(imported.path), meta, result.outputs, stack, ids,
                                    result.tokens[contract.INPUT_IDS])
    rebuilt = steps.normed if steps.normed is not None else steps.summed
    np.testing.assert_allclose(rebuilt, steps.first_layer_input, atol=1e-5, rtol=0)
    with torch.no_grad():
        reference = model(**inputs, output_hidden_states=True).hidden_states[0][0]
    np.testing.assert_allclose(rebuilt, reference.numpy(), atol=1e-5, rtol=0)
    assert (steps.token_type is not None) == (name == "bert")  # segment 0 is BERT's, not GPT-2's


def test_w_o_of_the_heads_outputs_is_the_imports_attention_output(imported):
    result, model, inputs = run(imported)
    meta = imported.metadata
    stack = next(iter(meta.stacks))
    weights = anatomy.Initializers(imported.path)
    for layer in range(meta.stacks[stack].layers):
        module = model.base_model.get_submodule(FAMILIES[meta.provenance["config"]].output_projection.format(layer))
        seen: list[torch.Tensor] = []
        hook = module.register_forward_hook(lambda m, args, output, seen=seen: seen.append(output))
        with torch.no_grad():
            model(**inputs)
        hook.remove()
        steps = anatomy.multi_head_steps(result.outputs, meta, stack, layer, weights)
        np.testing.assert_allclose(steps.output, seen[0][0].numpy(), atol=1e-4, rtol=0)
