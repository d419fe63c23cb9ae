"""A Hugging Face ViT's way in, recomputed by the app from the weights its metadata names: the
convolution kernel (D, C, p, p) read as a linear patch projection, [CLS], learned positions."""

from __future__ import annotations

import dataclasses

import numpy as np
import onnx
import pytest
import torch

from explorer import contract
from explorer.core import anatomy
from explorer.core.model import open_model
from explorer.core.runner import Runner

from .conftest import image_batch, reference_model

HIDDEN = contract.stack_output("hidden_states", "encoder")


@pytest.fixture(scope="module")
def vit(imports):
    return imports("vit")


def test_the_import_names_the_patch_embedding_in_the_graph(vit):
    names = vit.metadata.patch_embedding
    shapes = {init.name: list(init.dims) for init in onnx.load(str(vit.path)).graph.initializer}
    assert shapes[names.weight] == [32, 3, 4, 4]  # transformers' Conv2d kernel: (D, C, p, p)
    assert shapes[names.bias] == [32]
    assert shapes[names.class_token] == [1, 1, 32]
    assert shapes[names.positions] == [1, 17, 32]  # [CLS] + 4 x 4 patches


def test_hidden_states_equal_transformers(vit):
    pixels, mask = image_batch(2, seed=11)
    out = vit.run({contract.PIXEL_VALUES: pixels, contract.PATCH_MASK: mask})
    with torch.no_grad():
        ref = reference_model(vit.folder, "vit")(pixel_values=torch.from_numpy(pixels),
                                                 attention_mask=torch.from_numpy(mask), output_hidden_states=True)
    np.testing.assert_allclose(out[HIDDEN], torch.stack(ref.hidden_states).numpy(), atol=1e-4, rtol=0)


def test_patch_embedding_steps_sum_to_the_first_layer_input(vit):
    loaded = open_model(vit.path)
    pixels, _ = image_batch(1, seed=12)  # (1, 3, 16, 16)
    result = Runner(loaded).run_pixels(pixels)
    tokens = result.stacks["encoder"].query_tokens
    steps = anatomy.patch_embedding_steps(anatomy.Initializers(vit.path), loaded.meta, result.outputs, "encoder",
                                          pixels, tokens)
    assert steps.patches.shape == (16, 3 * 4 * 4) and steps.summed.shape == (17, 32)
    np.testing.assert_allclose(steps.summed, result.outputs[HIDDEN][0], atol=1e-5, rtol=0)
    with torch.no_grad():
        ref = reference_model(vit.folder, "vit")(pixel_values=torch.from_numpy(pixels), output_hidden_states=True)
    np.testing.assert_allclose(steps.summed, ref.hidden_states[0][0].numpy(), atol=1e-5, rtol=0)
    assert steps.difference < 1e-5


def test_without_the_names_the_steps_say_what_is_missing(vit):
    pixels, _ = image_batch(1, seed=13)
    result = Runner(open_model(vit.path)).run_pixels(pixels)
    weights = anatomy.Initializers(vit.path)
    unnamed = dataclasses.replace(vit.metadata, patch_embedding=None)
    with pytest.raises(LookupError, match=r"does not name its patch embedding initializers \('patch_embedding'\)"):
        anatomy.patch_embedding_steps(weights, unnamed, result.outputs, "encoder", pixels, ())
    renamed = dataclasses.replace(
        vit.metadata, patch_embedding=dataclasses.replace(vit.metadata.patch_embedding, positions="no.such.positions")
    )
    with pytest.raises(LookupError, match=r"patch_embedding.positions \('no.such.positions'\)"):
        anatomy.patch_embedding_steps(weights, renamed, result.outputs, "encoder", pixels, ())
