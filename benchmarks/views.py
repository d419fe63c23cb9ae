"""How fast the attention views draw, offscreen. Prints one line per figure with its target.

    python benchmarks/views.py [--repeats 15] [--png-dir /tmp]

Each timing runs from the change to the end of Qt's event processing, which paints what
changed (a repaint is forced where Qt did not paint), so the drawing is counted, once. The
attention is random softmax rows. Close other CPU-heavy work first: the figures are wall time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PySide6.QtCore import QEvent, QObject  # noqa: E402
from PySide6.QtWidgets import QApplication, QGraphicsView, QHBoxLayout, QWidget  # noqa: E402

from explorer.core.result import StackAttention  # noqa: E402
from explorer.ui.render import save_png  # noqa: E402
from explorer.ui.views import HeadView, MatrixView, ModelView, Selection  # noqa: E402

SIZE = (900, 700)  # pixels of each view


def random_stack(layers: int, heads: int, tokens: int, seed: int = 0) -> StackAttention:
    """Row-stochastic (layers, heads, tokens, tokens) float32: softmax of scaled normal scores."""
    rng = np.random.default_rng(seed)
    scores = rng.standard_normal((layers, heads, tokens, tokens), dtype=np.float32) * 2.0
    scores -= scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights /= weights.sum(axis=-1, keepdims=True)
    names = tuple(f"tok{i}" for i in range(tokens))
    return StackAttention("encoder", weights, names, names)


class Painted(QObject):
    """Counts the paint events of the plot canvases inside a widget."""

    def __init__(self, widget: QWidget):
        super().__init__(widget)
        self.count = 0
        for view in widget.findChildren(QGraphicsView):
            view.viewport().installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


def frame(app: QApplication, widget: QWidget) -> None:
    """What a change costs on screen: Qt's event processing, which paints what changed;
    a forced repaint where it did not (so that the drawing is always counted, once)."""
    painted = widget.findChild(Painted) or Painted(widget)
    before = painted.count
    app.processEvents()
    if painted.count == before:
        widget.repaint()


def timed_ms(action: Callable[[], None], app: QApplication, widget: QWidget) -> tuple[float, float]:
    """(wall, CPU) milliseconds of one change and its frame."""
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    frame(app, widget)
    return (time.perf_counter() - wall) * 1e3, (time.process_time() - cpu) * 1e3


def median_ms(actions: list[Callable[[], None]], app: QApplication, widget: QWidget) -> tuple[float, float]:
    walls, cpus = zip(*(timed_ms(action, app, widget) for action in actions), strict=True)
    return statistics.median(walls), statistics.median(cpus)


def report(name: str, ms: tuple[float, float], target_ms: float | None = None) -> None:
    """Wall time decides the target; CPU time shows how much of it was ours on a busy machine."""
    wall, cpu = ms
    verdict = "" if target_ms is None else f"  target < {target_ms:.0f} ms: {'met' if wall < target_ms else 'NOT met'}"
    print(f"{name:<62} {wall:7.1f} ms  (cpu {cpu:6.1f} ms){verdict}")


def shown(widget: QWidget) -> QWidget:
    widget.resize(*SIZE)
    widget.show()
    return widget


def all_views(selection: Selection) -> QWidget:
    """The three views side by side in one window, as the app shows them."""
    window = QWidget()
    layout = QHBoxLayout(window)
    for view_class in (HeadView, MatrixView, ModelView):
        layout.addWidget(view_class(selection))
    window.resize(3 * SIZE[0], SIZE[1])
    window.show()
    return window


def head_switches(selection: Selection, cells: list[tuple[int, int]]) -> list[Callable[[], None]]:
    return [partial(selection.open_head, *cell) for cell in cells]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--png-dir", type=Path, default=None, help="also save each view as views_*.png here")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    n = args.repeats
    rng = np.random.default_rng(1)
    big = random_stack(12, 12, 512)
    cells = [(layer, head) for layer in range(12) for head in range(12)]
    picks = [cells[i] for i in rng.choice(len(cells), size=n, replace=False)]
    keep = []  # (name, widget) to save and close at the end

    selection = Selection()
    model_view = shown(ModelView(selection))
    frame(app, model_view)
    report("model view 12x12 heads, 512 tokens: first draw",
           timed_ms(lambda: selection.set_stacks({"encoder": big}), app, model_view), 200)
    report("model view 12x12 heads, 512 tokens: switch head (median)",
           median_ms(head_switches(selection, picks), app, model_view), 200)
    keep.append(("model_512", model_view))

    selection = Selection()
    matrix_view = shown(MatrixView(selection))
    frame(app, matrix_view)
    report("matrix view 512 tokens: first draw",
           timed_ms(lambda: selection.set_stacks({"encoder": big}), app, matrix_view))
    report("matrix view 512 tokens: switch head (median)",
           median_ms(head_switches(selection, picks), app, matrix_view))
    keep.append(("matrix_512", matrix_view))

    for tokens in (64, 512):
        selection = Selection()
        head_view = shown(HeadView(selection))
        selection.set_stacks({"encoder": big if tokens == 512 else random_stack(12, 12, tokens)})
        frame(app, head_view)
        layers = [partial(selection.set_layer, int(layer)) for layer in rng.integers(0, 12, size=n)]
        report(f"head view {tokens} tokens, 12 heads, no focus: switch layer (median)",
               median_ms(layers, app, head_view))
        focus = [partial(selection.set_token, int(token)) for token in rng.integers(0, tokens, size=n)]
        report(f"head view {tokens} tokens, 12 heads: focus a token (median)", median_ms(focus, app, head_view))
        keep.append((f"head_{tokens}", head_view))

    # A new input, as typing gives one: all three views redraw from new data at 64 tokens.
    shown_views = {  # name -> (label, what to show for a selection)
        "all": ("all three views", all_views),
        "matrix": ("matrix view", lambda selection: shown(MatrixView(selection))),  # the app's first tab alone
    }
    for layers, heads in ((2, 4), (12, 12)):
        runs = [random_stack(layers, heads, 64, seed=seed) for seed in range(n + 1)]
        for name, (label, make) in shown_views.items():
            selection = Selection()
            widget = make(selection)
            selection.set_stacks({"encoder": runs[0]})
            frame(app, widget)
            new_inputs = [partial(selection.set_stacks, {"encoder": stack}) for stack in runs[1:]]
            report(f"new input, {label}, {layers}x{heads} heads, 64 tokens (median)",
                   median_ms(new_inputs, app, widget), 50)
            keep.append((f"{name}_{layers}x{heads}_64", widget))

    if args.png_dir:
        for name, widget in keep:
            print(f"wrote {save_png(widget, args.png_dir / f'views_{name}.png', scale=1)}")
    for _, widget in keep:
        widget.close()


if __name__ == "__main__":
    main()
