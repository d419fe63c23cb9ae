"""`attention-explorer`: open the window, or render one view to a file with --snapshot.

    attention-explorer                               the bundled BERT on a sample sentence
    attention-explorer MODEL.onnx [--text "..."] [--provider cpu|cuda]
    attention-explorer --snapshot OUT.png MODEL [--text ...] [--view head|matrix|model]
                       [--stack S] [--layer L] [--head H|mean]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from explorer.core.assets import BUNDLED_MODEL
from explorer.core.kinds import kind_of
from explorer.core.model import PROVIDER_CHOICES
from explorer.core.state.app_state import AppState

VIEWS = ("head", "matrix", "model")
ALL_HEADS = "all"  # --head not given: the head view draws every head, the others head 0
SNAPSHOT_SIZE = (1200, 800)
SCREENSHOT_TIMEOUT_MS = 60_000


EXAMPLES = """examples:
  attention-explorer                                  the bundled BERT on its sample sentence
  attention-explorer model.onnx --text "the cat sat"  another contract file, on your text
  attention-explorer --provider cuda model.onnx       on the GPU (onnxruntime-gpu installed)
  attention-explorer --snapshot out.png --view head --layer 1 --head mean
  attention-explorer --screenshot window.png          the whole window, once it has drawn
  attention-explorer --install-desktop-entry          menu entry, icon, "Open with" for .onnx
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="attention-explorer", description="Look inside Transformers.",
                                     epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument("model", nargs="?", type=Path, help="a contract .onnx file (default: the bundled BERT)")
    parser.add_argument("--text", help="the input text (default: a sample sentence)")
    parser.add_argument("--provider", choices=PROVIDER_CHOICES, default="cpu", help="ONNX Runtime provider")
    parser.add_argument("--snapshot", type=Path, metavar="OUT", help="render a view to OUT (.png or .svg) and exit")
    parser.add_argument("--view", choices=VIEWS, default="matrix", help="the view --snapshot renders")
    parser.add_argument("--stack", help="the stack to show: encoder, decoder or cross (default: the first)")
    parser.add_argument("--layer", type=int, default=0, help="the layer --snapshot shows (default: 0)")
    parser.add_argument("--head", help="a head index, or 'mean' for the mean of the layer's heads")
    parser.add_argument("--size", default=f"{SNAPSHOT_SIZE[0]}x{SNAPSHOT_SIZE[1]}", help="--snapshot size, WxH")
    parser.add_argument("--screenshot", type=Path, metavar="OUT",
                        help="open the window, save a screenshot of it once the first result is drawn, and exit")
    parser.add_argument("--install-desktop-entry", action="store_true",
                        help="add Attention Explorer to this user's desktop menu, as the app for .onnx files, and exit")
    return parser


def _version() -> str:
    """The installed distribution's version; a checkout run without installing says so."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("attention-explorer")
    except PackageNotFoundError:
        return "(not installed: run from a checkout)"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        head = _parse_head(args.head)
        size = _parse_size(args.size)
    except ValueError as exc:
        print(f"attention-explorer: error: {exc}", file=sys.stderr)
        return 2
    if args.install_desktop_entry:
        return install_desktop_entry()
    if args.snapshot:
        return snapshot(args.snapshot, args.model or BUNDLED_MODEL, args.text, args.provider,
                        args.view, args.stack, args.layer, head, size)
    return run_window(args.model, args.text, args.provider, args.screenshot)


def install_desktop_entry() -> int:
    from explorer.desktop import install_desktop_entry as install

    try:
        written = install()
    except (FileNotFoundError, OSError) as exc:
        print(f"attention-explorer: the desktop entry was not installed: {exc}", file=sys.stderr)
        return 1
    print("installed the desktop entry (Attention Explorer, opens .onnx files):")
    for path in written:
        print(f"  {path}")
    return 0


def start_window(model: Path | None, text: str | None, provider: str, settings=None):
    """(app, window): the window shown at once, the model (default: the bundled BERT) opening in
    the background; the welcome page says so when the bundled model is missing."""
    from explorer.ui.main_window import MainWindow

    app = _application()
    if model is None and BUNDLED_MODEL.exists():
        model = BUNDLED_MODEL
    window = MainWindow(settings=settings, provider=provider, model=model, text=text)
    if model is None:
        window.open_bundled(text)
    window.show()
    return app, window


def run_window(model: Path | None, text: str | None, provider: str, screenshot: Path | None = None) -> int:
    from PySide6.QtCore import QTimer

    app, window = start_window(model, text, provider)
    if screenshot is not None:
        _screenshot_when_drawn(app, window, screenshot)
        QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, lambda: app.exit(3))  # never hang a script
    code = app.exec()
    close_window(window)
    return code


def close_window(window) -> None:
    """Close the window and delete it now: left to Qt at interpreter exit, its deletion calls
    into Python objects already gone and can crash."""
    import shiboken6

    window.close()
    shiboken6.delete(window)


def _screenshot_when_drawn(app, window, path: Path) -> None:
    """Once a result is drawn (an image model's page once it opened; the welcome page once opening
    failed, or at once when nothing is being opened), grab the real window and quit."""
    from PySide6.QtCore import QTimer

    def grab() -> None:
        screen = window.screen()
        pixmap = screen.grabWindow(window.winId()) if screen is not None else None
        if pixmap is None or pixmap.isNull():
            pixmap = window.grab()
        ok = pixmap.save(str(path))
        print(f"screenshot {'saved to' if ok else 'could not be written to'} {path}", file=sys.stderr)
        app.exit(0 if ok else 1)

    settle_ms = 500  # let the window manager map the window and the views paint
    timer = QTimer(window)  # one shot, started by the first of the events below
    timer.setSingleShot(True)
    timer.setInterval(settle_ms)
    timer.timeout.connect(grab)

    def grab_later(*_) -> None:
        if not timer.isActive():
            timer.start()

    if not window.opening.busy:  # the bundled model is missing: the welcome page says so
        grab_later()
        return
    window.open_failed.connect(grab_later)
    window.model_opened.connect(lambda model: grab_later() if kind_of(model.meta).takes_images else None)
    window.workspace.result_shown.connect(grab_later)
    window.workspace.runs.failed.connect(grab_later)


def snapshot(out: Path, model_path: Path, text: str | None, provider: str, view_name: str,
             stack: str | None, layer: int, head: int | None | str, size: tuple[int, int]) -> int:
    """Render one view of one run to `out` without a window; errors go to stderr, exit non-zero."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    state = AppState(provider=provider)  # no worker thread: every run happens at once, here
    errors: list[str] = []
    state.open_failed.connect(lambda _path, message: errors.append(message))
    state.run_failed.connect(errors.append)
    if state.open_now(model_path, text) and not errors and state.shown is None:
        errors.append(f"{Path(model_path).name} is an image model: open it in the window and drop an image on it.")
    if errors:
        print(f"attention-explorer: error: {errors[0]}", file=sys.stderr)
        return 1
    # What the window would show above the views: a provider fallback, a text cut to the model's length.
    for notice in (*state.model.notices, *state.shown.notices):
        print(f"attention-explorer: note: {notice}", file=sys.stderr)

    from explorer.ui import render
    from explorer.ui.view_tabs import VIEW_CLASSES

    app = _application()
    selection = state.selection
    view = VIEW_CLASSES[view_name](selection)
    try:
        _select(selection, stack, layer, head)
        view.resize(*size)
        view.show()
        app.processEvents()
        if (view.width(), view.height()) != size:  # below the view's smallest size
            print(f"attention-explorer: note: the {view_name} view is at least {view.width()} x {view.height()} "
                  f"pixels; the snapshot is that size, not {size[0]} x {size[1]}.", file=sys.stderr)
        render.save_image(view, out)
    except (KeyError, ValueError, OSError) as exc:
        print(f"attention-explorer: error: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 1
    finally:
        view.close()
        view.deleteLater()
        app.processEvents()
    print(f"wrote {out} ({view_name} view of {model_path})", file=sys.stderr)
    return 0


def _select(selection, stack: str | None, layer: int, head: int | None | str) -> None:
    """Point the selection at a stack, layer and head; say clearly when they do not exist."""
    if stack is not None:
        selection.set_stack(stack)
    shown = selection.stack
    if not 0 <= layer < shown.layers:
        raise ValueError(f"layer {layer} does not exist: the {shown.name} stack has layers 0-{shown.layers - 1}")
    if head == ALL_HEADS:
        selection.set_layer(layer)  # the head view draws every head
        return
    if head is not None and not 0 <= head < shown.heads:
        raise ValueError(f"head {head} does not exist: the {shown.name} stack has heads 0-{shown.heads - 1}")
    selection.open_head(layer, head)


def _parse_head(text: str | None) -> int | None | str:
    """None (not given): every head; "mean": None, the mean of heads; else a head index."""
    if text is None:
        return ALL_HEADS
    if text == "mean":
        return None
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"--head takes a head index or 'mean', not {text!r}") from None


def _parse_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"--size takes WIDTHxHEIGHT in pixels, e.g. 1200x800, not {text!r}") from None
    if width <= 0 or height <= 0:
        raise ValueError(f"--size takes a positive width and height, e.g. 1200x800, not {text!r}")
    return width, height


# Qt warnings that say nothing to a user: the offscreen platform (--snapshot) cannot pass size hints.
QUIET_QT_WARNINGS = ("This plugin does not support propagateSizeHints()",)


def _qt_message(mode, context, message: str) -> None:
    if message not in QUIET_QT_WARNINGS:
        print(message, file=sys.stderr)


def _application():
    from PySide6.QtCore import qInstallMessageHandler
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from explorer.desktop import APP_ID, icon_path

    qInstallMessageHandler(_qt_message)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Attention Explorer")
    app.setOrganizationName("attention-explorer")
    app.setDesktopFileName(APP_ID)  # the desktop entry it belongs to (its icon in a Wayland dock)
    app.setWindowIcon(QIcon(str(icon_path())))
    return app


if __name__ == "__main__":
    sys.exit(main())
