"""What installing the app costs, and how fast it starts once installed.

1. The wheel built from this checkout: its size (the bundled models are most of it).
2. Installing it into a fresh venv (`pip install WHEEL`, the dependencies from pip's cache when
   it is warm, else from the registry: the figure says which it was not able to tell apart, so
   run it twice and take the second) and the venv's size.
3. Cold start of the installed app to the first painted heatmap (benchmarks/app.py's script,
   run by the fresh venv's Python from an empty folder) against the same from this checkout.
4. Whole commands from start to exit: `attention-explorer --snapshot` (one view rendered
   to a PNG, no window) and `--screenshot` (the window opened, the bundled BERT run and drawn,
   then grabbed after a fixed 0.5 s settle): the checkout, the installed wheel and, where
   `packaging/build.sh` has built it, the frozen app (dist/attention-explorer/), which also gets
   its size; the frozen app runs with no Python on the PATH.

    python benchmarks/install.py [--runs 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import venv
from pathlib import Path

from app import COLD_START_SCRIPT  # benchmarks/app.py: the same measured start

REPO = Path(__file__).resolve().parents[1]
FROZEN = REPO / "dist" / "attention-explorer" / "attention-explorer"


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def build_wheel(out: Path) -> Path:
    source = out / "source"  # a copy without build/: setuptools would reuse what an earlier build left
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", str(source),
                    "-w", str(out / "wheels")], check=True, capture_output=True)
    return next((out / "wheels").glob("attention_explorer-*.whl"))


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    return {**env, "QT_QPA_PLATFORM": "offscreen", **extra}


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - started


def cold_start(python: str, cwd: Path, runs: int, model: Path) -> float:
    """Median seconds from a fresh interpreter to the first paint of the heatmap, bytecode kept
    (one start first, which compiles it, as an installed app's first start does)."""
    times = []
    for run in range(runs + 1):
        started = time.time()
        done = subprocess.run([python, "-c", textwrap.dedent(COLD_START_SCRIPT), str(model), str(cwd / f"s{run}.ini")],
                              cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"cold start failed:\n{done.stderr[-2000:]}")
        times.append(float(done.stdout.strip().splitlines()[-1]) - started)
    return statistics.median(times[1:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="work here and keep it (default: a temporary folder)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="install-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    empty = work / "elsewhere"
    empty.mkdir(exist_ok=True)

    wheel = build_wheel(work)
    print(f"wheel: {wheel.name}, {wheel.stat().st_size / 1e6:.1f} MB")

    target = work / "venv"
    shutil.rmtree(target, ignore_errors=True)
    started = time.perf_counter()
    venv.create(target, with_pip=True)
    subprocess.run([str(target / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    str(wheel)], check=True, env=clean_env(), capture_output=True)
    install_s = time.perf_counter() - started
    print(f"fresh venv + pip install of the wheel: {install_s:.1f} s; venv {folder_size(target) / 1e6:.0f} MB")

    installed_python = str(target / "bin" / "python")
    bundled = Path(subprocess.run([installed_python, "-c", "from explorer.core.assets import BUNDLED_MODEL as m; "
                                   "print(m)"], capture_output=True, text=True, env=clean_env(),
                                  cwd=empty).stdout.strip())
    ours = cold_start(installed_python, empty, args.runs, bundled)
    checkout = cold_start(sys.executable, empty, args.runs, REPO / "explorer" / "assets" / "models" / "bert.onnx")
    print(f"cold start to the first heatmap, median of {args.runs}: installed wheel {ours:.2f} s, "
          f"checkout {checkout:.2f} s (installed/checkout {ours / checkout:.2f}x)")

    starts = {"checkout": ([sys.executable, "-m", "explorer"], clean_env(PYTHONPATH=str(REPO))),
              "installed wheel": ([str(target / "bin" / "attention-explorer")], clean_env())}
    if FROZEN.exists():
        starts["frozen app"] = ([str(FROZEN)], clean_env(PATH="/nonexistent"))  # no Python to find
        print(f"frozen app: dist/attention-explorer/ {folder_size(FROZEN.parent) / 1e6:.0f} MB")
    else:
        print("frozen app: not built (packaging/build.sh)")
    for option in ("--snapshot", "--screenshot"):
        argv = [option, str(empty / "out.png")]
        for command, env in starts.values():
            timed([*command, *argv], empty, env)  # the first start compiles bytecode / warms the disk cache
        results = {name: statistics.median(timed([*command, *argv], empty, env) for _ in range(args.runs))
                   for name, (command, env) in starts.items()}
        base = results["installed wheel"]
        print(f"{option} start to exit, median of {args.runs}: " + ", ".join(
            f"{name} {seconds:.2f} s ({seconds / base:.2f}x)" for name, seconds in results.items()))
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
