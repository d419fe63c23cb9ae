"""Where the bundled models and sample images live: the repository's assets/ folder."""

from __future__ import annotations

from pathlib import Path

# explorer/core/assets.py -> the repository root; the app runs from an editable install.
ASSETS = Path(__file__).resolve().parents[2] / "assets"
MODELS = ASSETS / "models"
IMAGES = ASSETS / "images"

BUNDLED_MODEL = MODELS / "bert.onnx"  # what `attention-explorer` opens with no arguments
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".gif", ".webp")


def sample_images() -> list[Path]:
    """The bundled sample images, sorted by name; empty where none are installed."""
    if not IMAGES.is_dir():
        return []
    return sorted(p for p in IMAGES.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
