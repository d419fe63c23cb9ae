"""Generated shape images for the Vision Transformer: one shape per image, on texture, among clutter.

Each image holds one target shape (the label) in a random colour, size, position and
rotation, over a textured background (a colour gradient, stripes, blotchy noise) with
distractors that cannot pass for a target class: thin lines, small dots and noise blobs.
A batch is a pure function of its seed, so training can draw fresh data every step and
still be deterministic and resumable. The mask of where the shape lies comes with each
image, for the pointing game.

Everything is vectorised over the batch with numpy; images are (B, H, W, 3) floats in [0, 1].
"""

from __future__ import annotations

import dataclasses
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CLASSES = ("circle", "square", "triangle", "star", "cross", "ring")

# Star-shaped outlines as (points, inner radius): the boundary runs straight from an outer
# vertex at radius 1 to an inner vertex at the given radius, half a point further round.
# A regular n-gon is the "star" whose inner vertex lies on its edge: radius cos(pi / n).
_OUTLINES = {
    "square": (4, np.cos(np.pi / 4)),
    "triangle": (3, np.cos(np.pi / 3)),
    "star": (5, 0.42),
}
_RING_INNER = 0.55  # hole radius as a fraction of the outer radius
_CROSS_ARM = 0.33  # half-width of the cross's bars, as a fraction of its radius


@dataclass(frozen=True)
class ShapesConfig:
    """How the images are drawn. Lengths are fractions of the image size unless named `_px`."""

    size: int = 32
    radius: tuple[float, float] = (0.16, 0.3)  # circumradius of the target shape
    min_contrast: float = 0.45  # least RGB distance between the shape and the background under it
    texture: float = 0.25  # largest amplitude of the stripes and of the blotchy noise
    pixel_noise: float = 0.03  # std of per-pixel noise over the finished image
    lines: int = 4  # up to this many thin lines per image
    dots: int = 6  # up to this many small dots
    blobs: int = 3  # up to this many noise blobs
    dot_radius_px: tuple[float, float] = (0.7, 1.6)
    blob_radius_px: tuple[float, float] = (1.5, 3.0)

    def describe(self) -> str:
        return (
            f"{self.size}x{self.size} RGB, one of {len(CLASSES)} shapes ({', '.join(CLASSES)}) with circumradius "
            f"{self.radius[0]:g}-{self.radius[1]:g} of the image, random colour, rotation and position, over "
            f"gradient + stripes + blotchy-noise backgrounds, with up to {self.lines} thin lines, {self.dots} dots "
            f"and {self.blobs} noise blobs as clutter"
        )


@dataclass
class ShapeBatch:
    images: np.ndarray  # (B, H, W, 3) float32 in [0, 1]
    labels: np.ndarray  # (B,) int64 index into CLASSES
    masks: np.ndarray  # (B, H, W) bool, True where the target shape lies


def _pixel_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates, (1, H, W) each, y down and x right."""
    coords = np.arange(size, dtype=np.float32) + 0.5
    yy, xx = np.meshgrid(coords, coords, indexing="ij")
    return yy[None], xx[None]


def _outline_radius(angle: np.ndarray, points: int, inner: float) -> np.ndarray:
    """Distance from the centre to a star outline (outer radius 1) along `angle`."""
    sector = 2 * np.pi / points
    a = np.mod(angle, sector)
    a = np.minimum(a, sector - a)  # fold onto [0, sector / 2]: the outline is symmetric
    # Edge from the outer vertex p1 = (1, 0) to the inner vertex p2 at angle sector / 2.
    p2x, p2y = inner * np.cos(sector / 2), inner * np.sin(sector / 2)
    dx, dy = p2x - 1.0, p2y
    # The ray s * (cos a, sin a) meets p1 + t * (p2 - p1) at s = cross(p1, d) / cross(ray, d).
    return dy / (np.cos(a) * dy - np.sin(a) * dx)


def shape_masks(labels: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Inside tests in shape coordinates (centred, rotated, radius 1); (B, H, W) bool."""
    rho = np.hypot(u, v)
    angle = np.arctan2(v, u)
    inside = {
        "circle": rho <= 1.0,
        "ring": (rho <= 1.0) & (rho >= _RING_INNER),
        "cross": (np.maximum(np.abs(u), np.abs(v)) <= 0.95) & (np.minimum(np.abs(u), np.abs(v)) <= _CROSS_ARM),
    }
    for name, (points, inner) in _OUTLINES.items():
        inside[name] = rho <= _outline_radius(angle, points, inner)
    stacked = np.stack([inside[name] for name in CLASSES])  # (classes, B, H, W)
    return stacked[labels, np.arange(len(labels))]


def _background(rng: np.random.Generator, batch: int, size: int, config: ShapesConfig) -> np.ndarray:
    """Gradient between two colours, plus stripes, plus blotchy low-resolution noise; (B, H, W, 3)."""
    yy, xx = _pixel_grid(size)
    y, x = yy / size, xx / size  # (1, H, W) in [0, 1]

    angle = rng.uniform(0, 2 * np.pi, (batch, 1, 1))
    t = (x - 0.5) * np.cos(angle) + (y - 0.5) * np.sin(angle) + 0.5  # (B, H, W) about [0, 1]
    c0, c1 = rng.uniform(0, 1, (2, batch, 1, 1, 3))
    image = c0 + (c1 - c0) * t[..., None]  # (B, H, W, 3)

    stripe_angle = rng.uniform(0, np.pi, (batch, 1, 1))
    frequency = rng.uniform(2, 8, (batch, 1, 1))  # stripes across the image
    phase = rng.uniform(0, 2 * np.pi, (batch, 1, 1))
    wave = np.sin(2 * np.pi * frequency * (x * np.cos(stripe_angle) + y * np.sin(stripe_angle)) + phase)
    stripe_colour = rng.uniform(-1, 1, (batch, 1, 1, 3)) * rng.uniform(0, config.texture, (batch, 1, 1, 1))
    image += wave[..., None] * stripe_colour

    cells = 4
    blotches = rng.uniform(-1, 1, (batch, cells, cells, 3))
    blotches = blotches.repeat(size // cells + 1, axis=1).repeat(size // cells + 1, axis=2)[:, :size, :size]
    image += blotches * rng.uniform(0, config.texture, (batch, 1, 1, 1))
    return image


def _segment_distance(yy, xx, y0, x0, y1, x1) -> np.ndarray:
    """Distance from each pixel to the segments (y0, x0)-(y1, x1); endpoints (B, K, 1, 1)."""
    dy, dx = y1 - y0, x1 - x0
    t = ((yy - y0) * dy + (xx - x0) * dx) / np.maximum(dy * dy + dx * dx, 1e-6)
    t = np.clip(t, 0, 1)
    return np.hypot(yy - (y0 + t * dy), xx - (x0 + t * dx))  # (B, K, H, W)


def _paint(image: np.ndarray, where: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """Paint K layers, later ones on top: where (B, K, H, W) bool; colours (B, K, 3), one per layer,
    or an (B, H, W, 3) field that all layers show."""
    if colours.ndim == 3:
        top = where.shape[1] - 1 - np.argmax(where[:, ::-1], axis=1)  # (B, H, W) the last layer painted there
        colours = np.take_along_axis(colours, top.reshape(len(top), -1, 1), axis=1).reshape(image.shape)
    return np.where(where.any(axis=1)[..., None], colours, image)


def _clutter(rng: np.random.Generator, image: np.ndarray, config: ShapesConfig) -> np.ndarray:
    """Thin lines, small dots and noise blobs, each up to its configured count, painted over `image`."""
    batch, size = image.shape[0], image.shape[1]
    yy, xx = _pixel_grid(size)
    yy, xx = yy[:, None], xx[:, None]  # (1, 1, H, W)

    def count_mask(most: int) -> np.ndarray:  # (B, K, 1, 1): which of the K items each image has
        present = rng.integers(0, most + 1, (batch, 1, 1, 1))
        return np.arange(most)[None, :, None, None] < present

    def points(k: int) -> tuple[np.ndarray, np.ndarray]:
        return rng.uniform(0, size, (2, batch, k, 1, 1))

    if config.lines:
        (y0, x0), (y1, x1) = points(config.lines), points(config.lines)
        lines = (_segment_distance(yy, xx, y0, x0, y1, x1) < 0.5) & count_mask(config.lines)
        image = _paint(image, lines, rng.uniform(0, 1, (batch, config.lines, 3)))
    if config.dots:
        cy, cx = points(config.dots)
        radius = rng.uniform(*config.dot_radius_px, (batch, config.dots, 1, 1))
        dots = (np.hypot(yy - cy, xx - cx) <= radius) & count_mask(config.dots)
        image = _paint(image, dots, rng.uniform(0, 1, (batch, config.dots, 3)))
    if config.blobs:
        cy, cx = points(config.blobs)
        ry, rx = rng.uniform(*config.blob_radius_px, (2, batch, config.blobs, 1, 1))
        blobs = (((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1) & count_mask(config.blobs)
        speckle = rng.uniform(0, 1, (batch, size, size, 3))  # per-pixel colour noise, shared by the blobs
        image = _paint(image, blobs, speckle)
    return image


def _contrasting(colour: np.ndarray, under: np.ndarray, min_contrast: float) -> np.ndarray:
    """Keep `colour` (B, 3) where it stands out from `under` (B, 3); else move half-way across the cube."""
    far = np.where(under > 0.5, under - 0.5, under + 0.5)
    close = np.linalg.norm(colour - under, axis=-1, keepdims=True) < min_contrast
    return np.where(close, far, colour)


def generate(batch: int, seed: int, config: ShapesConfig | None = None) -> ShapeBatch:
    """`batch` images drawn from `seed` alone; the same seed always gives the same batch."""
    config = config or ShapesConfig()
    rng = np.random.default_rng(seed)
    size = config.size
    labels = rng.integers(0, len(CLASSES), batch)

    image = _background(rng, batch, size, config)
    image = _clutter(rng, image, config)

    radius = rng.uniform(*config.radius, (batch, 1, 1)) * size
    cy, cx = rng.uniform(radius, size - radius, (2, batch, 1, 1))  # the whole circumcircle inside
    rotation = rng.uniform(0, 2 * np.pi, (batch, 1, 1))
    yy, xx = _pixel_grid(size)
    dy, dx = (yy - cy) / radius, (xx - cx) / radius
    u = dx * np.cos(rotation) + dy * np.sin(rotation)
    v = -dx * np.sin(rotation) + dy * np.cos(rotation)
    masks = shape_masks(labels, u, v)  # (B, H, W)

    under = (image * masks[..., None]).sum(axis=(1, 2)) / np.maximum(masks.sum(axis=(1, 2))[:, None], 1)
    colour = _contrasting(rng.uniform(0, 1, (batch, 3)), np.clip(under, 0, 1), config.min_contrast)
    image = np.where(masks[..., None], colour[:, None, None, :], image)

    image += rng.normal(0, config.pixel_noise, image.shape)
    images = np.clip(image, 0, 1).astype(np.float32)
    return ShapeBatch(images, labels.astype(np.int64), masks)


# -- sample images ------------------------------------------------------------------------


def write_png(path: str | Path, rgb: np.ndarray) -> Path:
    """Write an (H, W, 3) uint8 array as an 8-bit RGB PNG (zlib + struct; no imaging library needed)."""
    path = Path(path)
    height, width, _ = rgb.shape
    rows = np.concatenate([np.zeros((height, 1), np.uint8), rgb.reshape(height, -1)], axis=1)  # filter 0 per row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit truecolour, no interlace
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows.tobytes(), 9))
    path.write_bytes(png + chunk(b"IEND", b""))
    return path


def to_uint8(image: np.ndarray) -> np.ndarray:
    """[0, 1] floats -> uint8, rounding to the nearest level."""
    return np.clip(np.rint(image * 255), 0, 255).astype(np.uint8)


def hard_config(config: ShapesConfig) -> ShapesConfig:
    """Harder images: small shapes, the least contrast allowed, heavy texture and twice the clutter."""
    low = config.radius[0]
    return dataclasses.replace(
        config,
        radius=(low, low + 0.25 * (config.radius[1] - low)),
        texture=config.texture * 1.5,
        pixel_noise=config.pixel_noise * 1.5,
        lines=config.lines * 2,
        dots=config.dots * 2,
        blobs=config.blobs * 2,
    )


def write_samples(
    directory: str | Path, config: ShapesConfig | None = None, count: int = 12, seed: int = 2024, scale: int = 4
) -> list[Path]:
    """Write `count` sample PNGs, each shape class once, the second half hard, enlarged `scale` times."""
    config = config or ShapesConfig()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        hard = i >= count // 2
        label = i % len(CLASSES)
        # Draw until the wanted class comes up, so each file is still a pure function of its seed.
        draw_seed = seed + 1000 * i
        while (sample := generate(1, draw_seed, hard_config(config) if hard else config)).labels[0] != label:
            draw_seed += 1
        big = sample.images[0].repeat(scale, axis=0).repeat(scale, axis=1)
        name = f"{i:02d}-{CLASSES[label]}{'-hard' if hard else ''}.png"
        paths.append(write_png(directory / name, to_uint8(big)))
    return paths
