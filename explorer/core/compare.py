"""Two inputs side by side: their attention matrices and the signed difference between them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class ShapeMismatchError(ValueError):
    """The two inputs do not give matrices of the same shape; the message names both sizes."""


@dataclass(frozen=True)
class Comparison:
    """`first` and `second` as shown, `difference` = first - second, and the colour levels that
    centre a diverging map on zero (symmetric: -limit .. +limit)."""

    first: np.ndarray
    second: np.ndarray
    difference: np.ndarray

    @property
    def limit(self) -> float:
        largest = float(np.abs(self.difference).max()) if self.difference.size else 0.0
        return largest if largest > 0 else 1.0  # equal inputs still get a usable colour scale

    @property
    def levels(self) -> tuple[float, float]:
        return -self.limit, self.limit


def check_same_length(first: int, second: int, what: str = "tokens") -> None:
    """Raise ShapeMismatchError, naming both counts, unless the two inputs have as many `what`."""
    if first != second:
        raise ShapeMismatchError(
            f"The first input gives {first} {what}, the second {second}: "
            f"a difference needs the same number of {what} on both sides."
        )


def compare(first: np.ndarray, second: np.ndarray) -> Comparison:
    """Compare two matrices of one shape; raise ShapeMismatchError naming both shapes otherwise."""
    first, second = np.asarray(first), np.asarray(second)
    if first.shape != second.shape:
        raise ShapeMismatchError(f"The inputs give matrices of shapes {first.shape} and {second.shape}.")
    return Comparison(first, second, first.astype(np.float64) - second.astype(np.float64))
