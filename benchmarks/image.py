"""Time "image dropped -> overlay drawn" on the image page, with the bundled ViT.

Each repeat drops one image file on the main window (a QDropEvent with its URL), then waits
until the run is back and the window has painted (a grab forces the paint): file decode,
preprocessing, the ONNX Runtime run, the overlay, the small multiples and the views.
Prints the median and spread in milliseconds.

    python benchmarks/image.py [MODEL.onnx] [--repeats 30] [--image PNG]

Without a model it uses explorer/assets/models/vit.onnx; without --image, a generated 256 x 256 PNG.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl  # noqa: E402
from PySide6.QtGui import QDropEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from explorer.core.assets import MODELS  # noqa: E402


def drop(window, path: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", type=Path, default=MODELS / "vit.onnx")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--image", type=Path)
    args = parser.parse_args()
    if not args.model.exists():
        sys.exit(f"{args.model} is missing: train it, or pass a ViT (attention-export untrained vit --out X.onnx)")

    app = QApplication([])
    from explorer.ui.image.strip import to_qimage
    from explorer.ui.main_window import MainWindow

    with tempfile.TemporaryDirectory() as scratch:
        image = args.image
        if image is None:
            image = Path(scratch) / "picture.png"
            to_qimage(np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)).save(str(image))
        window = MainWindow(settings=QSettings(str(Path(scratch) / "s.ini"), QSettings.Format.IniFormat))
        window.resize(1400, 900)
        window.show()
        if not window.open_path(args.model):
            sys.exit(window.message_bar.text())
        page, runs = window.workspace.image_page, window.workspace.runs
        times = []
        for _ in range(args.repeats + 2):  # two warm-up drops
            start = time.perf_counter()
            drop(window, image)
            while runs.busy or page.current is None or page.current is not page._pending:
                app.processEvents()
            window.grab()  # paint everything now
            times.append((time.perf_counter() - start) * 1000)
        window.workspace.shutdown()
        window.close()
    times = times[2:]
    meta = window.model.meta
    print(f"model: {args.model.name}  input {meta.image.size} patch {meta.image.patch_size}  "
          f"{meta.stacks['encoder'].layers} layers x {meta.stacks['encoder'].heads} heads")
    print(f"drop -> overlay drawn: median {statistics.median(times):.1f} ms  "
          f"(min {min(times):.1f}, max {max(times):.1f}, {len(times)} drops; target < 150 ms)")
    del app


if __name__ == "__main__":
    main()
