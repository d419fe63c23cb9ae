"""The anatomy panels for the bundled Vision Transformer: patch embeddings and positions against the
model's own first-layer input, and two images compared."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.core import anatomy
from explorer.core.assets import MODELS, sample_images
from explorer.shared import images
from explorer.ui.anatomy.embeddings import PATCH_PIXELS, POSITION_MAPS, SIMILARITY

VIT = MODELS / "vit.onnx"


@pytest.fixture
def vit(make_panel):
    if not VIT.exists():
        pytest.skip("the bundled ViT is not installed")
    return make_panel(VIT)


def _cosine(vectors: np.ndarray) -> np.ndarray:
    v = vectors.astype(np.float64)
    norms = np.linalg.norm(v, axis=1)
    return (v @ v.T) / np.outer(norms, norms)


def test_patch_embeddings_plus_positions_are_the_first_layer_input(vit):
    workspace, panel = vit
    panel.show_tab(panel.embeddings)
    steps = panel.embeddings.steps
    assert isinstance(steps, anatomy.PatchEmbeddingSteps)
    first = workspace.result.outputs["hidden_states.encoder"][0]  # (T, D) what the model fed layer 0
    np.testing.assert_allclose(steps.summed, first, atol=1e-5)
    shown = panel.embeddings.steps_grid.panels
    np.testing.assert_allclose(shown["= sum"].matrix, first, atol=1e-5)
    np.testing.assert_array_equal(shown["hidden_states[0] (model)"].matrix, first)

    spec = workspace.model.meta.image
    p, (rows, cols) = spec.patch_size, spec.grid
    pixel_values = workspace.image_page.current.pixel_values  # (1, C, H, W) the model's input
    assert steps.patches.shape == (rows * cols, spec.channels * p * p)
    # patch r1c2 is token 1 + 1*cols + 2: pixels rows p..2p, columns 2p..3p, channel-major
    np.testing.assert_array_equal(steps.patches[cols + 2], pixel_values[0, :, p:2 * p, 2 * p:3 * p].reshape(-1))
    pixels = shown[PATCH_PIXELS].matrix
    assert np.isnan(pixels[0]).all()  # [CLS] has no pixels
    np.testing.assert_array_equal(pixels[1:], steps.patches)
    assert shown["[CLS]; pixels · Wᵀ + b"].row_names == workspace.result.stacks["encoder"].query_tokens

    # no vocabulary to search for a ViT: the side panel is hidden and the summary says why
    assert not panel.embeddings.vocabulary.isVisible()
    assert "no vocabulary" in panel.embeddings.summary.text()


def test_similarity_matrices_are_cosines(vit):
    workspace, panel = vit
    panel.show_tab(panel.embeddings)
    steps = panel.embeddings.steps
    grid = panel.embeddings.similarity_grid
    similarity = grid.panels[SIMILARITY].matrix
    np.testing.assert_allclose(np.diag(similarity), 1.0, atol=1e-6)
    np.testing.assert_allclose(similarity, _cosine(steps.vectors), atol=1e-6)
    positions = grid.panels["cosine similarity of the learned positions"].matrix
    np.testing.assert_allclose(positions, _cosine(steps.positions), atol=1e-6)

    # small multiples: map (r, c) holds position r*cols+c's similarity to every patch position
    rows, cols = workspace.model.meta.image.grid
    maps = grid.panels[POSITION_MAPS]
    patch_positions = _cosine(steps.positions[1:])  # (N, N), [CLS] left out
    for (r, c), (kr, kc) in (((0, 0), (0, 1)), ((2, 5), (7, 7)), ((rows - 1, 3), (4, 0))):
        y, x = r * (rows + 1) + kr, c * (cols + 1) + kc
        assert maps.matrix[y, x] == pytest.approx(patch_positions[r * cols + c, kr * cols + kc], abs=1e-6)
        assert grid.cell_text(maps, y, x).startswith(f"{POSITION_MAPS} — position r{r}c{c} vs r{kr}c{kc}")
    assert np.isnan(maps.matrix[rows, 0])  # the gap between two rows of maps
    assert grid.cell_text(maps, rows, 0) == grid.hint


def test_compare_two_gallery_images(vit, qtbot):
    workspace, panel = vit
    compare = panel.compare
    panel.show_tab(compare)
    assert compare.image_row.isVisible() and not compare.text_row.isVisible()
    gallery = compare.gallery
    assert [p.name for p in gallery.pictures()] == [p.name for p in sample_images()]
    assert compare.second is None  # nothing runs until an image is picked

    workspace.selection.open_head(2, 1)
    row = 3
    assert gallery.pictures()[row].name != workspace.image_page.image_name()
    with qtbot.waitSignal(compare.runs.result_ready, timeout=10000):
        gallery.pick(row)
    first = workspace.result.stacks["encoder"].attentions[2, 1]  # (T, T)
    second = compare.second.stacks["encoder"].attentions[2, 1]
    shown = compare.grid.panels["first − second"]
    np.testing.assert_array_equal(shown.matrix, first.astype(np.float64) - second.astype(np.float64))
    assert np.abs(shown.matrix).max() > 0  # two different images, two different attentions
    low, high = shown.image.getLevels()
    assert low == -high and high == pytest.approx(np.abs(first - second).max())
    assert gallery.pictures()[row].name in compare.message.text()

    # the second is the picked image run as the image page runs one
    spec = workspace.model.meta.image
    expected = workspace.runner.run_pixels(images.preprocess(gallery.pictures()[row].pixels, spec))
    np.testing.assert_array_equal(compare.second.stacks["encoder"].attentions, expected.stacks["encoder"].attentions)

    workspace.selection.set_head(None)  # the mean of heads follows the selection
    mean_first = workspace.result.stacks["encoder"].head(2, None)
    mean_second = compare.second.stacks["encoder"].head(2, None)
    np.testing.assert_array_equal(compare.grid.panels["first − second"].matrix,
                                  mean_first.astype(np.float64) - mean_second.astype(np.float64))


def test_a_file_that_is_not_an_image_keeps_the_comparison(vit, qtbot, tmp_path):
    from explorer.ui.image.strip import to_qimage

    workspace, panel = vit
    compare = panel.compare
    panel.show_tab(compare)
    with qtbot.waitSignal(compare.runs.result_ready, timeout=10000):
        compare.gallery.pick(4)
    second, shown = compare.second, compare.grid.panels["first − second"].matrix.copy()

    notes = tmp_path / "notes.txt"
    notes.write_text("not an image")
    assert not compare.open_files([notes])
    assert "notes.txt" in compare.message.text() and "not an image" in compare.message.text()
    assert compare.second is second and not compare.runs.busy
    np.testing.assert_array_equal(compare.grid.panels["first − second"].matrix, shown)

    picture = tmp_path / "stripes.png"
    stripes = np.zeros((30, 30, 3), np.uint8)
    stripes[::4] = 255
    assert to_qimage(stripes).save(str(picture))
    with qtbot.waitSignal(compare.runs.result_ready, timeout=10000):
        assert compare.open_files([picture])
    assert compare.second is not second and compare.second_name == "stripes.png"
