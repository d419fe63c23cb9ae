"""The shipped ViT and sample images: load them and measure their figures again on fresh data."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from explorer import contract
from explorer.shared.images import preprocess
from export.data.shapes import CLASSES, ShapesConfig, generate
from export.train.vit import evaluate_onnx

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "explorer" / "assets" / "models" / "vit.onnx"
IMAGES = ROOT / "explorer" / "assets" / "images"
FRESH_SEED = (20_240_601, 7)  # a stream neither training nor its held-out set drew from

pytestmark = pytest.mark.skipif(not MODEL.is_file(), reason="explorer/assets/models/vit.onnx not trained yet")


@pytest.fixture(scope="module")
def vit_session():
    return ort.InferenceSession(str(MODEL), providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def vit_meta(vit_session):
    return contract.parse_metadata(vit_session.get_modelmeta().custom_metadata_map.get(contract.METADATA_KEY))


def data_config(meta) -> ShapesConfig:
    fields = meta.provenance["data_config"]
    return ShapesConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})


def test_the_shipped_vit_follows_the_contract(vit_session, vit_meta):
    inputs = [i.name for i in vit_session.get_inputs()]
    outputs = [o.name for o in vit_session.get_outputs()]
    contract.check_graph_io(vit_meta, inputs, outputs)
    assert vit_meta.kind == "vit-classifier" and vit_meta.labels == CLASSES
    assert {"queries.encoder", "hidden_states.encoder"} <= set(outputs)
    assert MODEL.stat().st_size < 10e6


@pytest.mark.slow
def test_the_shipped_vit_reaches_its_recorded_figures_on_fresh_images(vit_meta):
    """Re-measure accuracy and the pointing game on 1000 images nobody has seen."""
    config = data_config(vit_meta)
    assert config.size == vit_meta.image.size[0]
    fresh = [generate(250, (*FRESH_SEED, part), config) for part in range(4)]
    figures = [evaluate_onnx(MODEL, batch) for batch in fresh]
    accuracy = np.mean([f["accuracy"] for f in figures])
    pointing = np.mean([f["pointing_game"] for f in figures])
    baseline = np.mean([f["centre_baseline"] for f in figures])
    recorded = vit_meta.provenance
    # 1000 images: the standard error of a share near 0.9 is about 0.01.
    assert accuracy >= 0.9 and accuracy == pytest.approx(recorded["accuracy_onnx"], abs=0.03)
    assert pointing >= 0.8 and pointing == pytest.approx(recorded["pointing_game_onnx"], abs=0.04)
    assert baseline == pytest.approx(recorded["centre_baseline"], abs=0.05)
    assert pointing > baseline + 0.1


def read_png(path) -> np.ndarray:
    from PySide6.QtGui import QImage

    image = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : image.width() * 3].reshape(image.height(), image.width(), 3).copy()


def test_the_sample_images_are_there_and_licensed():
    pngs = sorted(IMAGES.glob("*.png"))
    assert len(pngs) >= 12
    assert {re.match(r"\d+-([a-z]+)", p.stem).group(1) for p in pngs} == set(CLASSES)
    assert any("hard" in p.stem for p in pngs)
    assert "CC0" in (IMAGES / "README.md").read_text()


def test_the_shipped_vit_recognises_most_sample_images(vit_session, vit_meta):
    """The app's path: an 8-bit PNG of any size -> explorer.shared.images.preprocess -> the model."""
    pngs = sorted(IMAGES.glob("*.png"))
    patch_mask = np.ones((1, 1 + vit_meta.image.num_patches), np.int64)
    correct = 0
    for path in pngs:
        feed = {contract.PIXEL_VALUES: preprocess(read_png(path), vit_meta.image), contract.PATCH_MASK: patch_mask}
        (logits,) = vit_session.run([contract.LOGITS], feed)
        correct += CLASSES[int(logits.argmax())] in path.stem
    assert correct >= 0.75 * len(pngs)
