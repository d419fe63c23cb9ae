"""The ViT pipeline at toy size: data -> training steps -> evaluation -> contract export."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import onnxruntime as ort
import pytest
import torch

from explorer import contract
from explorer.shared.images import preprocess
from export.bundle import export_checkpoint
from export.data.shapes import CLASSES, ShapeBatch, ShapesConfig, to_uint8
from export.kinds import image_spec_for
from export.models import ViT
from export.train.loop import seed_everything, train
from export.train.vit import (
    BatchMaker,
    centre_patches,
    classification_loss,
    evaluate_onnx,
    evaluate_torch,
    held_out_images,
    score,
    to_pixel_values,
)


def run_loop(recipe, seed, checkpoint_dir=None, make_batch=None):
    seed_everything(seed)
    model = ViT(recipe.model)
    make_batch = make_batch or BatchMaker(recipe, seed)
    train(model, make_batch, classification_loss, recipe.train, checkpoint_dir, progress=False)
    return model


def same_weights(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def test_training_is_deterministic_for_a_seed(vit_tiny_recipe):
    first, again = run_loop(vit_tiny_recipe, 0), run_loop(vit_tiny_recipe, 0)
    assert same_weights(first, again)
    assert not same_weights(first, run_loop(vit_tiny_recipe, 1))


def test_an_interrupted_run_resumes_to_the_same_weights(vit_tiny_recipe, tmp_path):
    straight = run_loop(vit_tiny_recipe, 0)
    make_batch = BatchMaker(vit_tiny_recipe, 0)

    def crash_at_step_8(step):
        if step == 8:
            raise KeyboardInterrupt
        return make_batch(step)

    with pytest.raises(KeyboardInterrupt):
        run_loop(vit_tiny_recipe, 0, tmp_path, crash_at_step_8)  # checkpointed at step 5
    resumed = run_loop(vit_tiny_recipe, 0, tmp_path)
    assert same_weights(straight, resumed)


def test_training_steps_fit_a_batch(vit_tiny_recipe):
    batch = BatchMaker(vit_tiny_recipe, 0)(0)
    recipe = dataclasses.replace(vit_tiny_recipe, train=dataclasses.replace(vit_tiny_recipe.train, steps=25, lr=1e-2))
    seed_everything(0)
    before = classification_loss(ViT(recipe.model), batch)[0].item()
    model = run_loop(recipe, 0, make_batch=lambda step: batch)
    with torch.no_grad():
        loss, metrics = classification_loss(model, batch)
    assert loss.item() < 0.5 * before and metrics["acc"] > 0.8


def test_held_out_images_are_not_training_images(vit_tiny_recipe):
    held_out = held_out_images(vit_tiny_recipe, 0, count=16)
    pixel_values, labels = BatchMaker(vit_tiny_recipe, 0)(0)
    spec = image_spec_for(vit_tiny_recipe.model)
    assert pixel_values.shape == (16, 3, 16, 16) and labels.dtype == torch.int64
    assert not torch.equal(to_pixel_values(held_out.images, spec), pixel_values)


def test_the_app_preprocesses_an_image_as_training_did(vit_tiny_recipe):
    """The app reads 8-bit images; explorer.shared.images must land on the values training fed."""
    spec = image_spec_for(vit_tiny_recipe.model)
    shapes = held_out_images(vit_tiny_recipe, 0, count=4)
    trained_on = to_pixel_values(shapes.images, spec).numpy()
    for image, expected in zip(shapes.images, trained_on, strict=True):
        app = preprocess(to_uint8(image), spec)[0]
        np.testing.assert_allclose(app, expected, atol=0.5 / 255 / min(spec.std) + 1e-6)


def fake_shapes(masks: np.ndarray, labels) -> ShapeBatch:
    return ShapeBatch(np.zeros(masks.shape + (3,), np.float32), np.asarray(labels), masks)


def test_score_points_where_the_rollout_is_largest():
    spec = contract.ImageSpec(size=(16, 16), patch_size=4, channels=3, mean=(0.5,) * 3, std=(0.5,) * 3)
    masks = np.zeros((3, 16, 16), bool)
    masks[0, 0:3, 0:3] = True  # top-left patch (0), away from the centre
    masks[1, 7:9, 7:9] = True  # the four centre patches
    masks[2, 12:16, 12:16] = True  # bottom-right patch (15)
    # Every layer and head: [CLS] and every patch read patch 0, so the rollout points there.
    attentions = np.full((2, 3, 2, 17, 17), 0.01)
    attentions[..., 1] = 1.0
    attentions /= attentions.sum(axis=-1, keepdims=True)
    logits = np.eye(len(CLASSES))[[2, 4, 0]]
    figures = score(logits, attentions, fake_shapes(masks, [2, 4, 5]), spec)
    assert figures["accuracy"] == pytest.approx(2 / 3)
    assert figures["pointing_game"] == pytest.approx(1 / 3)  # only image 0 has its shape in patch 0
    assert figures["centre_baseline"] == pytest.approx(1 / 3)  # only image 1 touches the centre
    assert sorted(centre_patches(spec).tolist()) == [5, 6, 9, 10]
    odd = dataclasses.replace(spec, size=(12, 12))
    assert centre_patches(odd).tolist() == [4]


@pytest.mark.slow
def test_train_vit_exports_a_contract_file_with_its_figures(vit_trained, vit_tiny_recipe):
    provenance, out_dir, work_dir = vit_trained
    path = out_dir / "vit.onnx"
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    meta = contract.parse_metadata(session.get_modelmeta().custom_metadata_map[contract.METADATA_KEY])
    contract.check_graph_io(meta, [i.name for i in session.get_inputs()], [o.name for o in session.get_outputs()])
    assert meta.kind == "vit-classifier" and meta.labels == CLASSES
    assert meta.image == image_spec_for(vit_tiny_recipe.model)
    assert "hidden_states.encoder" in [o.name for o in session.get_outputs()]  # exported with internals
    assert meta.provenance == json.loads(json.dumps(provenance))  # tuples come back as lists
    for key in ("accuracy_torch", "accuracy_onnx", "pointing_game_onnx", "centre_baseline"):
        assert 0.0 <= provenance[key] <= 1.0
    assert provenance["steps"] == vit_tiny_recipe.train.steps and provenance["seed"] == 3
    recorded = {k: tuple(v) if isinstance(v, list) else v for k, v in meta.provenance["data_config"].items()}
    assert ShapesConfig(**recorded) == vit_tiny_recipe.data  # enough to draw the same images again


@pytest.mark.slow
def test_onnx_and_pytorch_give_the_same_figures(vit_trained, vit_tiny_recipe):
    provenance, out_dir, work_dir = vit_trained
    (checkpoint,) = work_dir.glob("vit-*/model.safetensors")
    from export.checkpoint import load_model

    model, _ = load_model(checkpoint)
    shapes = held_out_images(vit_tiny_recipe, seed=11, count=50)
    assert evaluate_onnx(out_dir / "vit.onnx", shapes) == pytest.approx(evaluate_torch(model, shapes), abs=1 / 50)
    # The provenance's figures were measured on the same held-out set both ways.
    assert provenance["accuracy_onnx"] == pytest.approx(provenance["accuracy_torch"], abs=1 / 60)


@pytest.mark.slow
def test_the_saved_checkpoint_exports_again(vit_trained, tmp_path):
    _, out_dir, work_dir = vit_trained
    (checkpoint,) = work_dir.glob("vit-*/model.safetensors")
    again = export_checkpoint(checkpoint, tmp_path / "again.onnx")
    first = ort.InferenceSession(str(out_dir / "vit.onnx"), providers=["CPUExecutionProvider"])
    second = ort.InferenceSession(str(again), providers=["CPUExecutionProvider"])
    assert second.get_modelmeta().custom_metadata_map == first.get_modelmeta().custom_metadata_map
    pixels = np.random.default_rng(0).normal(size=(2, 3, 16, 16)).astype(np.float32)
    feed = {contract.PIXEL_VALUES: pixels, contract.PATCH_MASK: np.ones((2, 17), np.int64)}
    np.testing.assert_allclose(first.run(None, feed)[0], second.run(None, feed)[0], atol=1e-6)
