"""`attention-export hf` on the vision families besides ViT (vision.FAMILIES: a distillation token,
registers, a relative position bias, towers without a classifier, one without a class token), each
against transformers' eager attention: attention and outputs, head masks, the image spec and the
tokens before the patches, the patch embedding where the contract can say it, the window."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import onnxruntime as ort
import pytest
import torch

from explorer import contract
from explorer.core import anatomy
from explorer.core.model import open_model
from explorer.core.runner import Runner
from explorer.shared.images import preprocess
from export.hf import FAMILIES, export_hf

from . import vision
from .app_checks import views_and_anatomy_drawn
from .conftest import VIT_LABELS, Figures, Imported, imported_families

ATTENTIONS, HIDDEN = contract.attention_output("encoder"), contract.stack_output("hidden_states", "encoder")
# family -> what the tests measured, for the README's table (printed with pytest -s)
MEASURED = Figures()
measured = MEASURED.add


@dataclass
class Tower:
    imported: Imported
    reference: torch.nn.Module  # transformers' own model, eager attention

    @property
    def tiny(self) -> vision.Tiny:
        return vision.FAMILIES[self.imported.name]

    def run(self, pixels: np.ndarray, mask: np.ndarray, **feeds: np.ndarray) -> dict[str, np.ndarray]:
        return self.imported.run({contract.PIXEL_VALUES: pixels, contract.PATCH_MASK: mask, **feeds})


@pytest.fixture(scope="module")
def imported_towers(tmp_path_factory):
    """imported_towers(model_type) -> that family's tiny checkpoint, imported once for the module."""
    yield imported_families(tmp_path_factory, vision.save, MEASURED,
                            lambda imported: Tower(imported, vision.reference(imported.folder, imported.name)))
    MEASURED.report()


@pytest.fixture(params=list(vision.FAMILIES))
def tower(request, imported_towers) -> Tower:
    return imported_towers(request.param)


def reference_run(tower: Tower, pixels: np.ndarray, mask: np.ndarray, ablated=()):
    """transformers' output (its logits, else its pooled features) and attention (L, B, H, T, T); the
    (layer, head) pairs in `ablated` zeroed on the input of W_O by a forward pre-hook."""
    head_dim = vision.WIDTH // vision.HEADS
    keep = torch.ones(vision.LAYERS, vision.WIDTH)
    for layer, head in ablated:
        keep[layer, head * head_dim : (head + 1) * head_dim] = 0.0
    path = FAMILIES[tower.imported.name].output_projection
    w_o = [tower.reference.base_model.get_submodule(path.format(layer)) for layer in range(vision.LAYERS)]
    hooks = [module.register_forward_pre_hook(lambda module, args, row=keep[layer]: (args[0] * row,))
             for layer, module in enumerate(w_o)]
    try:
        with torch.no_grad():
            out = tower.reference(pixel_values=torch.from_numpy(pixels),
                                  attention_mask=vision.reference_mask(tower.imported.name, mask),
                                  output_attentions=True)
    finally:
        for hook in hooks:
            hook.remove()
    logits = out.logits if tower.tiny.classifier else out.pooler_output
    return logits.numpy(), torch.stack(out.attentions).numpy()


@pytest.mark.parametrize("seed", [1, 2])
def test_attention_and_outputs_equal_transformers_eager(tower, seed):
    pixels, mask = vision.images(tower.imported.name, 2, seed)  # item 1 hides 4 patches
    out = tower.run(pixels, mask)
    logits, attentions = reference_run(tower, pixels, mask)
    tokens = tower.tiny.tokens
    assert out[ATTENTIONS].shape == attentions.shape == (vision.LAYERS, 2, vision.HEADS, tokens, tokens)
    np.testing.assert_allclose(out[ATTENTIONS], attentions, atol=1e-4, rtol=0)
    np.testing.assert_allclose(out[contract.LOGITS], logits, atol=1e-3, rtol=0)
    measured(tower.imported.name, "attention", np.abs(out[ATTENTIONS] - attentions).max())
    measured(tower.imported.name, "logits", np.abs(out[contract.LOGITS] - logits).max())
    measured(tower.imported.name, "peak attention", attentions.max())
    assert np.all(out[ATTENTIONS][:, 1][..., mask[1] == 0] == 0.0)  # hidden patches exactly 0


def test_a_head_mask_is_that_heads_slice_of_the_w_o_input_zeroed(tower):
    ablated = [(0, 1), (1, 3)]
    head_mask = np.ones((vision.LAYERS, vision.HEADS), np.float32)
    for layer, head in ablated:
        head_mask[layer, head] = 0.0
    pixels, mask = vision.images(tower.imported.name, 2, seed=3)
    logits, attentions = reference_run(tower, pixels, mask, ablated)
    out = tower.run(pixels, mask, **{contract.head_mask_input("encoder"): head_mask})
    np.testing.assert_allclose(out[contract.LOGITS], logits, atol=1e-3, rtol=0)
    np.testing.assert_allclose(out[ATTENTIONS], attentions, atol=1e-4, rtol=0)
    unmasked = tower.run(pixels, mask)
    assert not np.allclose(out[contract.LOGITS], unmasked[contract.LOGITS], atol=1e-3)
    np.testing.assert_array_equal(out[ATTENTIONS][0], unmasked[ATTENTIONS][0])  # layer 0's pattern kept
    measured(tower.imported.name, "head-masked logits", np.abs(out[contract.LOGITS] - logits).max())


def test_the_image_spec_and_the_tokens_before_the_patches(tower):
    meta, tiny = tower.imported.metadata, tower.tiny
    image = meta.image
    assert image.size == (vision.SIDE, vision.SIDE) and image.patch_size == vision.PATCH
    assert image.mean == tuple(tiny.preprocessor["image_mean"]) and image.std == tuple(tiny.preprocessor["image_std"])
    assert image.resize == ("center-crop" if tiny.preprocessor.get("do_center_crop") else "stretch")
    assert ("[CLS]",) * image.class_token + image.extra_tokens == tiny.before_patches
    assert meta.max_positions == {contract.PIXEL_VALUES: tiny.tokens}
    expected = tuple(VIT_LABELS.values()) if tiny.classifier else tuple(f"feature {i}" for i in range(vision.WIDTH))
    assert meta.labels == expected
    assert (meta.patch_embedding is not None) == tiny.patch_embedding
    assert len(meta.output_projection["encoder"].weight) == vision.LAYERS


def test_the_app_core_names_the_tokens_and_rebuilds_the_way_in_where_the_file_names_it(tower):
    loaded = open_model(tower.imported.path)
    picture = np.random.default_rng(0).integers(0, 256, (40, 30, 3), dtype=np.uint8)
    pixels = preprocess(picture, loaded.meta.image)
    result = Runner(loaded).run_pixels(pixels)
    tokens = result.stacks["encoder"].query_tokens
    before = tower.tiny.before_patches
    assert tokens[: len(before)] == before and tokens[len(before)] == "r0c0" and len(tokens) == tower.tiny.tokens
    weights = anatomy.Initializers(tower.imported.path)
    if not tower.tiny.patch_embedding:
        with pytest.raises(LookupError, match="does not name its patch embedding"):
            anatomy.patch_embedding_steps(weights, loaded.meta, result.outputs, "encoder", pixels, tokens)
        return
    steps = anatomy.patch_embedding_steps(weights, loaded.meta, result.outputs, "encoder", pixels, tokens)
    with torch.no_grad():
        ref = tower.reference(pixel_values=torch.from_numpy(pixels), output_hidden_states=True)
    np.testing.assert_allclose(steps.summed, ref.hidden_states[0][0].numpy(), atol=1e-5, rtol=0)


def test_the_window_runs_an_image_and_draws_every_view_and_anatomy_tab(qtbot, window, tower, tmp_path):
    from PySide6.QtGui import QColor, QImage

    picture = QImage(40, 30, QImage.Format.Format_RGB888)
    picture.fill(QColor(200, 120, 40))
    picture.save(str(tmp_path / "picture.png"))
    assert window.open_path(tower.imported.path)
    workspace = window.workspace
    workspace.run_image(tmp_path / "picture.png")
    qtbot.waitUntil(lambda: workspace.result is not None and not workspace.runs.busy, timeout=20_000)
    result = workspace.result
    assert result.logits.shape == (len(tower.imported.metadata.labels),)
    assert result.stacks["encoder"].query_tokens[: len(tower.tiny.before_patches)] == tower.tiny.before_patches

    def embedding_tab_says_what_it_can(panel) -> None:
        panel.show_tab(panel.embeddings)
        shown = panel.embeddings.summary.text()
        assert ("cannot be shown" in shown) == (not tower.tiny.patch_embedding), shown

    views_and_anatomy_drawn(qtbot, workspace, embedding_tab_says_what_it_can)


def test_a_dinov2_cropped_to_fewer_pixels_than_its_positions_interpolates_them_and_names_no_way_in(tmp_path):
    """As DINOv2's own processor does (224 pixels, positions for 518): the spec takes the crop's size."""
    folder = vision.save(tmp_path, "dinov2", image_size=2 * vision.SIDE, preprocessor=vision.CROPPING)
    path = export_hf(folder, folder / "imported.onnx")
    tower = Tower(Imported("dinov2", folder, path, ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])),
                  vision.reference(folder, "dinov2"))
    meta = tower.imported.metadata
    assert meta.image.size == (vision.SIDE, vision.SIDE) and meta.image.resize == "center-crop"
    assert meta.patch_embedding is None  # 1 + 64 rows of positions for 1 + 16 tokens
    pixels, mask = vision.images("dinov2", 2, seed=4)
    out = tower.run(pixels, mask)
    logits, attentions = reference_run(tower, pixels, mask)
    np.testing.assert_allclose(out[ATTENTIONS], attentions, atol=1e-4, rtol=0)
    np.testing.assert_allclose(out[contract.LOGITS], logits, atol=1e-3, rtol=0)
    measured("dinov2 interpolated", "attention", np.abs(out[ATTENTIONS] - attentions).max())


def test_patches_map_to_pixels_after_the_tokens_before_them():
    from explorer.shared import images
    from explorer.ui.image import maps

    spec = contract.ImageSpec((8, 8), 4, 3, (0.5,) * 3, (0.5,) * 3, extra_tokens=("[DIST]",))
    assert images.pixel_to_token(5, 1, spec) == 2 + 2  # patch 2 (row 1, column 0) after [CLS], [DIST]
    assert images.token_to_patch(1, spec) == (-1, -1) and images.token_to_patch(5, spec) == (1, 1)
    np.testing.assert_array_equal(images.patch_mask({3}, spec), [[1, 1, 1, 1, 1, 0]])
    assert maps.patch_slice(spec) == slice(2, None)
    no_cls = contract.parse_metadata(contract.ModelMetadata(
        kind="vit-classifier", stacks={"encoder": contract.StackSpec(1, 1, 4, "pixel_values", "pixel_values")},
        d_model=4, labels=("a",), image=dataclasses.replace(spec, class_token=False, extra_tokens=())).to_json())
    assert no_cls.image.class_token is False and images.first_patch(no_cls.image) == 0
    with pytest.raises(contract.ContractError, match="'extra_tokens' must be a list of token names"):
        contract.parse_metadata(no_cls.to_json().replace('"patch_size"', '"extra_tokens": [""], "patch_size"'))
