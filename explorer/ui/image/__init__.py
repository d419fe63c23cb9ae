"""The Vision Transformer's page: an image, its patch grid, and the attention between patches."""

from explorer.ui.image.page import ImagePage

__all__ = ["ImagePage"]
