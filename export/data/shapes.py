"""Generated shape images for the Vision Transformer: one shape per image, on texture, among clutter.

Each image holds one target shape (the label) in a random colour, size and position, upright
give or take a few degrees, over a textured background (a colour gradient, stripes, blotchy
noise) with distractors that cannot pass for a target class: thin lines, small dots and noise
blobs. Shape edges are antialiased; the shape always differs from the background under it in
brightness, not only in hue.
A batch is a pure function of its seed, so training can draw fresh data every step and
still be deterministic and resumable. The mask of where the shape lies comes with each
image, for the pointing game.

Everything is vectorised over the batch with numpy; images are (B, H, W, 3) floats in [0, 1].
"""

from __future__ import annotations

import dataclasses
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CLASSES = ("circle", "square", "triangle", "star", "cross", "ring")

# Star-shaped outlines as (points, inner radius, angle of the first point): the boundary runs
# straight from an outer vertex at radius 1 to an inner vertex at the given radius, half a
# point further round. A regular n-gon is the "star" whose inner vertex lies on its edge:
# radius cos(pi / n). The angles make rotation 0 upright (y points down): a square on its
# side, a triangle and a star with a point at the top.
_OUTLINES = {
    "square": (4, np.cos(np.pi / 4), np.pi / 4),
    "triangle": (3, np.cos(np.pi / 3), -np.pi / 2),
    "star": (5, 0.42, -np.pi / 2),
}
_RING_INNER = 0.55  # hole radius as a fraction of the outer radius
_CROSS_ARM = 0.33  # half-width of the cross's bars, as a fraction of its radius
_CROSS_LENGTH = np.sqrt(1 - _CROSS_ARM**2)  # half-length: the bar ends' corners touch the circumcircle


@dataclass(frozen=True)
class ShapesConfig:
    """How the images are drawn. Lengths are fractions of the image size unless named `_px`."""

    size: int = 48
    radius: tuple[float, float] = (0.12, 0.2)  # circumradius of the target shape
    min_contrast: float = 0.45  # least RGB distance between the shape and the background under it
    min_luma_contrast: float = 0.25  # least brightness (luma) difference between them
    antialias: int = 3  # shape edges from antialias x antialias samples per pixel (1: hard edges)
    rotation: float = 10.0  # shapes turn by up to this many degrees either way from upright
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
            f"{self.radius[0]:g}-{self.radius[1]:g} of the image, upright give or take {self.rotation:g} degrees, in a "
            f"random colour at least {self.min_luma_contrast:g} brighter or darker than the background, at a random "
            f"position; gradient + stripes + blotchy-noise backgrounds; up to {self.lines} thin lines, "
            f"{self.dots} dots and {self.blobs} noise blobs as clutter"
        )


@dataclass
class ShapeBatch:
    images: np.ndarray  # (B, H, W, 3) float32 in [0, 1]
    labels: np.ndarray  # (B,) int64 index into CLASSES
    masks: np.ndarray  # (B, H, W) bool, True where the target shape covers at least half the pixel


def _uniform(rng: np.random.Generator, low, high, shape) -> np.ndarray:
    """Uniform float32 draws in [low, high); float32 halves the work over float64."""
    return low + (high - low) * rng.random(shape, dtype=np.float32)


def _pixel_grid(size: int, samples: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Sample coordinates, (1, H * samples, W * samples) each, y down and x right: the centres of
    a samples x samples grid inside every pixel (pixel centres for samples=1)."""
    coords = (np.arange(size * samples, dtype=np.float32) + 0.5) / samples
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


def _inside(name: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Inside test for one class in shape coordinates (centred, rotated, circumradius 1)."""
    rho = np.hypot(u, v)
    if name == "circle":
        return rho <= 1.0
    if name == "ring":
        return (rho <= 1.0) & (rho >= _RING_INNER)
    if name == "cross":
        return (np.maximum(abs(u), abs(v)) <= _CROSS_LENGTH) & (np.minimum(abs(u), abs(v)) <= _CROSS_ARM)
    points, inner, first_point = _OUTLINES[name]
    return rho <= _outline_radius(np.arctan2(v, u) - first_point, points, inner)


def shape_masks(labels: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Where each image's shape lies, given (B, H, W) shape coordinates; (B, H, W) bool."""
    u, v = np.broadcast_arrays(u, v)
    masks = np.zeros(u.shape, bool)
    for index, name in enumerate(CLASSES):
        chosen = labels == index
        if chosen.any():
            masks[chosen] = _inside(name, u[chosen], v[chosen])
    return masks


def _shape_coverage(labels, cy, cx, radius, rotation, size: int, samples: int) -> np.ndarray:
    """Share of each pixel the shape covers, (B, H, W) float32, from samples x samples points per pixel."""
    yy, xx = _pixel_grid(size, samples)
    dy, dx = (yy - cy) / radius, (xx - cx) / radius  # (B, H*s, W*s), in circumradii
    u = dx * np.cos(rotation) + dy * np.sin(rotation)
    v = -dx * np.sin(rotation) + dy * np.cos(rotation)
    inside = shape_masks(labels, u, v)  # (B, H*s, W*s)
    return inside.reshape(len(labels), size, samples, size, samples).mean(axis=(2, 4), dtype=np.float32)


def _background(rng: np.random.Generator, batch: int, size: int, config: ShapesConfig) -> np.ndarray:
    """Gradient between two colours, plus stripes, plus blotchy low-resolution noise; (B, H, W, 3)."""
    yy, xx = _pixel_grid(size)
    y, x = yy / size, xx / size  # (1, H, W) in [0, 1]

    angle = _uniform(rng, 0, 2 * np.pi, (batch, 1, 1))
    t = (x - 0.5) * np.cos(angle) + (y - 0.5) * np.sin(angle) + 0.5  # (B, H, W) about [0, 1]
    c0, c1 = _uniform(rng, 0, 1, (2, batch, 1, 1, 3))
    image = c0 + (c1 - c0) * t[..., None]  # (B, H, W, 3)

    stripe_angle = _uniform(rng, 0, np.pi, (batch, 1, 1))
    frequency = _uniform(rng, 2, 8, (batch, 1, 1))  # stripes across the image
    phase = _uniform(rng, 0, 2 * np.pi, (batch, 1, 1))
    wave = np.sin(2 * np.pi * frequency * (x * np.cos(stripe_angle) + y * np.sin(stripe_angle)) + phase)
    stripe_colour = _uniform(rng, -1, 1, (batch, 1, 1, 3)) * _uniform(rng, 0, config.texture, (batch, 1, 1, 1))
    image += wave[..., None] * stripe_colour

    cells = 4
    blotches = _uniform(rng, -1, 1, (batch, cells, cells, 3))
    blotches = blotches.repeat(size // cells + 1, axis=1).repeat(size // cells + 1, axis=2)[:, :size, :size]
    image += blotches * _uniform(rng, 0, config.texture, (batch, 1, 1, 1))
    return image


def _stamp(image: np.ndarray, keep: np.ndarray, y: np.ndarray, x: np.ndarray, colours: np.ndarray) -> None:
    """Paint pixels in place: keep, y, x (B, K, P) for P candidate pixels of each of K items;
    colours (B, K, 3) per item or (B, K, P, 3) per pixel. Later items land on top."""
    size = image.shape[1]
    keep = keep & (y >= 0) & (y < size) & (x >= 0) & (x < size)
    b = np.broadcast_to(np.arange(len(image))[:, None, None], keep.shape)
    if colours.ndim == 3:
        colours = np.broadcast_to(colours[:, :, None, :], keep.shape + (3,))
    image[b[keep], y[keep], x[keep]] = colours[keep]


def _clutter(rng: np.random.Generator, image: np.ndarray, config: ShapesConfig) -> None:
    """Thin lines, small dots and noise blobs, each up to its configured count, painted in place.

    Each item is drawn only over the few pixels it can touch (a window, or points along a line).
    """
    batch, size = image.shape[0], image.shape[1]

    def present(most: int) -> np.ndarray:  # (B, K, 1): which of the K items each image has
        count = rng.integers(0, most + 1, (batch, 1, 1))
        return np.arange(most)[None, :, None] < count

    def window(cy, cx, reach: int):  # rows, columns and offsets from the centre of the pixels around each item
        offsets = np.arange(-reach, reach + 1)
        y, x = np.broadcast_arrays(np.floor(cy) + offsets[:, None], np.floor(cx) + offsets[None, :])  # (B, K, w, w)
        y, x = y.reshape(y.shape[:2] + (-1,)).astype(np.int64), x.reshape(x.shape[:2] + (-1,)).astype(np.int64)
        return y, x, y + 0.5 - cy[..., 0], x + 0.5 - cx[..., 0]  # (B, K, P) each

    if config.lines:
        k = config.lines
        y0, x0, y1, x1 = _uniform(rng, 0, size, (4, batch, k, 1))
        t = np.linspace(0, 1, 2 * size, dtype=np.float32)  # two samples per pixel of the longest line
        y, x = np.floor(y0 + t * (y1 - y0)).astype(np.int64), np.floor(x0 + t * (x1 - x0)).astype(np.int64)
        _stamp(image, np.broadcast_to(present(k), y.shape), y, x, _uniform(rng, 0, 1, (batch, k, 3)))
    if config.dots:
        k = config.dots
        cy, cx = _uniform(rng, 0, size, (2, batch, k, 1, 1))
        radius = _uniform(rng, *config.dot_radius_px, (batch, k, 1))
        y, x, dy, dx = window(cy, cx, int(np.ceil(config.dot_radius_px[1])))
        _stamp(image, (np.hypot(dy, dx) <= radius) & present(k), y, x, _uniform(rng, 0, 1, (batch, k, 3)))
    if config.blobs:
        k = config.blobs
        cy, cx = _uniform(rng, 0, size, (2, batch, k, 1, 1))
        ry, rx = _uniform(rng, *config.blob_radius_px, (2, batch, k, 1))
        y, x, dy, dx = window(cy, cx, int(np.ceil(config.blob_radius_px[1])))
        inside = ((dy / ry) ** 2 + (dx / rx) ** 2 <= 1) & present(k)
        _stamp(image, inside, y, x, _uniform(rng, 0, 1, y.shape + (3,)))  # per-pixel colour noise


_LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # Rec. 601 luma weights


def _contrasting(colour: np.ndarray, under: np.ndarray, config: ShapesConfig) -> np.ndarray:
    """Adjust shape colours (B, 3) so they stand out from the background under them (B, 3).

    Too close in RGB: move half-way across the cube. Too close in brightness (luma): shift
    all channels to put the shape `min_luma_contrast` darker or lighter than the background.
    """
    far = np.where(under > 0.5, under - 0.5, under + 0.5)
    close = np.linalg.norm(colour - under, axis=-1, keepdims=True) < config.min_contrast
    colour = np.where(close, far, colour)
    luma, luma_under = colour @ _LUMA, under @ _LUMA  # (B,)
    target = np.where(luma_under > 0.5, luma_under - config.min_luma_contrast, luma_under + config.min_luma_contrast)
    dim = np.abs(luma - luma_under) < config.min_luma_contrast
    return np.where(dim[:, None], np.clip(colour + (target - luma)[:, None], 0, 1), colour)


def generate(batch: int, seed: int | Sequence[int], config: ShapesConfig | None = None) -> ShapeBatch:
    """`batch` images drawn from `seed` alone; the same seed always gives the same batch."""
    config = config or ShapesConfig()
    rng = np.random.default_rng(seed)
    size = config.size
    labels = rng.integers(0, len(CLASSES), batch)

    image = _background(rng, batch, size, config)
    _clutter(rng, image, config)

    radius = _uniform(rng, *config.radius, (batch, 1, 1)) * size
    cy, cx = _uniform(rng, radius, size - radius, (2, batch, 1, 1))  # the whole circumcircle inside
    rotation = np.deg2rad(_uniform(rng, -config.rotation, config.rotation, (batch, 1, 1)))
    coverage = _shape_coverage(labels, cy, cx, radius, rotation, size, config.antialias)  # (B, H, W)

    alpha = coverage[..., None]
    under = (image * alpha).sum(axis=(1, 2)) / np.maximum(alpha.sum(axis=(1, 2)), 1e-6)  # (B, 3)
    colour = _contrasting(_uniform(rng, 0, 1, (batch, 3)), np.clip(under, 0, 1), config)
    image = image * (1 - alpha) + colour[:, None, None, :] * alpha
    masks = coverage >= 0.5

    image += config.pixel_noise * rng.standard_normal(image.shape, dtype=np.float32)
    return ShapeBatch(np.clip(image, 0, 1, dtype=np.float32), labels.astype(np.int64), masks)


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
