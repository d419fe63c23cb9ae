"""The same benchmarks at an earlier commit and in the working tree, in one run: after / before.

Each benchmark script runs as its own revision has it, with that revision's `explorer` first on
the path (a detached `git worktree` in build/bench/), in turns (before, after, before, after, ...)
so that both see the same machine. Every printed line that holds a figure is paired with the
same line of the other revision; the best of the rounds is kept for each, since on a shared
machine noise only ever adds time.

    python benchmarks/revisions.py 06eb1e5 [--rounds 3] [--scripts app.py masking.py image.py]

A ratio of 1.00 is no change; above 1 the working tree is slower.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = ("app.py", "masking.py", "image.py")
# A figure: the first number on a line that is followed by a unit of time.
FIGURE = re.compile(r"(-?\d+(?:\.\d+)?) ?(ms|s)\b")
# Fewer repeats than each script's own default: every script runs 2 x rounds times.
NUMBER = re.compile(r"\d+(?:\.\d+)?")
QUICK = {"app.py": ["--edits", "20"], "masking.py": ["--repeats", "10", "--dates", "20"],
         "image.py": ["--repeats", "20"]}


def checkout(revision: str) -> Path:
    """A worktree of `revision` under build/bench (made once, reused)."""
    sha = subprocess.run(["git", "rev-parse", "--short", revision], cwd=REPO, check=True,
                         capture_output=True, text=True).stdout.strip()
    tree = REPO / "build" / "bench" / f"rev-{sha}"
    if not tree.exists():
        tree.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), sha], cwd=REPO, check=True,
                       capture_output=True)
    return tree


def figures(tree: Path, script: str) -> dict[str, float]:
    """Run `script` as `tree` has it; {line with its figure blanked: seconds or milliseconds}."""
    env = {**os.environ, "PYTHONPATH": str(tree), "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, str(tree / "benchmarks" / script), *QUICK.get(script, [])],
                          cwd=tree, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{script} at {tree.name} failed:\n{done.stderr[-2000:]}")
    found, section = {}, ""
    for line in done.stdout.splitlines():
        match = FIGURE.search(line)
        if match is None:  # a heading ("BERT: ...", "Transformer: ..."): the same figure lines follow each
            section = line.split(":")[0].strip() if ":" in line else section
        elif "target" in line or "median" in line:
            key = NUMBER.sub("#", line).strip()  # the other figures on the line vary too
            found[f"{section}: {key}" if section else key] = float(match.group(1))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", help="a commit: the figures to compare with")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scripts", nargs="+", default=list(SCRIPTS))
    args = parser.parse_args()
    trees = {"before": checkout(args.before), "after": REPO}
    print(f"before: {args.before} ({trees['before']}); after: the working tree; best of {args.rounds} rounds")
    worst = 0.0
    for script in args.scripts:
        best: dict[str, dict[str, float]] = {"before": {}, "after": {}}
        for _ in range(args.rounds):
            for side, tree in trees.items():
                for key, value in figures(tree, script).items():
                    best[side][key] = min(value, best[side].get(key, value))
        print(f"\n{script}")
        for key, after in best["after"].items():
            before = best["before"].get(key)
            if before is None:
                print(f"  {key[:100]}\n      after {after:g} (no such line before)")
                continue
            ratio = after / before if before > 0 else float("nan")
            worst = max(worst, ratio if before >= 1 else 1.0)  # below 1 ms a ratio is noise
            print(f"  {key[:100]}\n      before {before:g}  after {after:g}  after/before {ratio:.2f}")
    print(f"\nslowest figure (of those at 1 ms or more): after/before {worst:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
