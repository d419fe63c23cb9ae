"""The command line under hostile input (issue 17): many fresh `attention-explorer` processes, and
how each one ends.

1. `--snapshot OUT.png` runs (default 50), cycling over the bundled BERT and Transformer, the three
   views and texts, hostile ones among them (empty, only spaces, 5,000 words, emoji, right-to-left,
   bytes that are not UTF-8), and refusals: the bundled ViT (an image model: --snapshot says so
   and exits 1), a missing model file, README.md passed as a model, `--layer 99`, `--head 99`,
   `--stack cross` on BERT, `--head x`, `--size big`, an OUT in a missing folder, `--size 0x0`.
2. Window open/close cycles (default 20): `attention-explorer MODEL --screenshot OUT.png`, which
   opens the window, waits for the first drawn result (the ViT: its image page), saves the
   screenshot and exits 0; alternating the three bundled models.

Each process runs as `python -m explorer ...` (what the installed command runs) offscreen, in a
temporary folder, with its own XDG folders (settings, bug reports) there. What is checked: the exit
code is 0 with its OUT file written, or a deliberate 1 or 2 with one "attention-explorer: error:
..." sentence on stderr; never a negative code (killed by a signal), never "Traceback" on stderr,
never a catch-all message ("... failed (SomeError: ...)"), which is a bug however it exits.

    python benchmarks/cli_cycles.py [--snapshots 50] [--windows 20] [--seed 0]
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TIMEOUT_S = 120  # the app gives up on a screenshot after 60 s (exit 3); this is the last resort
ERROR_LINE = "attention-explorer: error: "
CATCH_ALL = re.compile(r"[\w ]{1,40} failed \([\w.]+: ")  # explorer.core.state.jobs.execute's wording of a bug
SHOWN = 5  # failures printed in full


@dataclass
class Case:
    label: str
    args: list  # str or bytes (an argument that is not UTF-8)
    refusal: bool = False  # expected: a deliberate exit 1 or 2
    out: str = "out.png"  # the file a success writes (relative to the case's folder)


@dataclass
class Outcome:
    case: Case
    code: int | None  # None: timed out
    seconds: float
    stderr: str
    wrote: int  # bytes of OUT, 0 when it is not there

    @property
    def verdict(self) -> str:
        """ok / refused as expected / refused / FAILED (...)"""
        problems = self.problems()
        if problems:
            return "FAILED: " + "; ".join(problems)
        if self.code == 0:
            return "ok"
        return "refused as expected" if self.case.refusal else "refused (not expected)"

    def problems(self) -> list[str]:
        problems = []
        if self.code is None:
            return [f"timed out after {TIMEOUT_S} s"]
        if self.code < 0:
            problems.append(f"killed by signal {-self.code}")
        if "Traceback" in self.stderr:
            problems.append("a traceback on stderr")
        if CATCH_ALL.search(self.stderr):
            problems.append("a catch-all message")
        errors = [line for line in self.stderr.splitlines() if line.startswith(ERROR_LINE)]
        if self.code == 0 and not self.wrote:
            problems.append("exit 0 but no OUT file")
        if self.code in (1, 2) and len(errors) != 1:
            problems.append(f"exit {self.code} with {len(errors)} error lines")
        if self.code not in (0, 1, 2) and self.code >= 0:
            problems.append(f"exit {self.code}")
        return problems

    @property
    def error(self) -> str:
        lines = [line for line in self.stderr.splitlines() if line.startswith(ERROR_LINE)]
        return lines[0][len(ERROR_LINE):] if lines else ""


def snapshot_cases(count: int, rng: random.Random) -> list[Case]:
    from explorer.core.assets import MODELS

    bert, transformer, vit = (str(MODELS / name) for name in ("bert.onnx", "transformer.onnx", "vit.onnx"))
    words = ("the", "cat", "list", "iterable", "of", "and", "return", "tuple", "dog", "[MASK]")
    texts = [
        ("default text", None),
        ("a sentence", "The cat sat on the mat because it was tired."),
        ("a date", "the 27th of November, 2026"),
        ("empty text", ""),
        ("only spaces", "      "),
        ("5,000 words", " ".join(rng.choice(words) for _ in range(5000))),
        ("emoji", "😀🙈🚀 👨‍👩‍👧‍👦 🏳️‍🌈 👍🏽"),
        ("RTL", "مرحبا بالعالم שלום עולם"),
        ("[MASK] [MASK]", "[MASK] [MASK]"),
        ("a single [MASK]", "[MASK]"),
        ("control characters", "".join(chr(i) for i in range(1, 32))),
        ("not UTF-8", b"caf\xe9 au lait"),  # what the shell passes for Latin-1 bytes
    ]
    # "The text is empty: ..." on every model; "The text gives no tokens: ..." where the tokenizer
    # drops control characters (BERT's normaliser does; the date model's characters are tokens).
    refused_texts = {"empty text", "only spaces", "control characters on bert"}
    refusals = [
        Case("ViT (an image model)", ["--snapshot", "out.png", vit], True),
        Case("ViT, head view", ["--snapshot", "out.png", vit, "--view", "head"], True),
        Case("ViT, a text", ["--snapshot", "out.png", vit, "--text", "a picture of a cat"], True),
        Case("a missing model", ["--snapshot", "out.png", "no-such-model.onnx"], True),
        Case("README.md as a model", ["--snapshot", "out.png", str(REPO / "README.md")], True),
        Case("--layer 99", ["--snapshot", "out.png", bert, "--layer", "99"], True),
        Case("--layer -1", ["--snapshot", "out.png", transformer, "--layer", "-1"], True),
        Case("--head 99", ["--snapshot", "out.png", bert, "--head", "99"], True),
        Case("--head x", ["--snapshot", "out.png", bert, "--head", "x"], True),
        Case("--stack cross on BERT", ["--snapshot", "out.png", bert, "--stack", "cross"], True),
        Case("--size 0x0", ["--snapshot", "out.png", bert, "--size", "0x0"], True),
        Case("--size big", ["--snapshot", "out.png", bert, "--size", "big"], True),
        Case("OUT in a missing folder", ["--snapshot", "no/such/folder/out.png", bert], True),
        Case("--view nonsense", ["--snapshot", "out.png", bert, "--view", "nonsense"], True),
    ]
    cases = list(refusals[: max(count * 3 // 10, 3)])  # all of them at 50 runs, the ViT's at least
    views = ("head", "matrix", "model")
    pairs = [(model, text) for text in texts for model in (bert, transformer)]  # every text on both models
    index = 0
    while len(cases) < count:
        model, (label, text) = pairs[index % len(pairs)]
        view = views[(index + index // len(pairs)) % len(views)]  # another view the next time round
        args = ["--snapshot", "out.png", model, "--view", view]
        if text is not None:
            args += ["--text", text]
        if index % 5 == 3:
            args += ["--layer", "1", "--head", "mean"]
        name = Path(model).stem
        refused = label in refused_texts or f"{label} on {name}" in refused_texts
        cases.append(Case(f"{name}, {view}, {label}", args, refused))
        index += 1
    if count >= 20:  # a few more of the cases that ask the most of it
        cases[-1] = Case("transformer, cross stack, layer 1, head 3",
                         ["--snapshot", "out.svg", transformer, "--stack", "cross", "--layer", "1", "--head", "3"],
                         out="out.svg")
    rng.shuffle(cases)
    return cases[:count]


def window_cases(count: int) -> list[Case]:
    from explorer.core.assets import bundled_models

    models = bundled_models()
    return [Case(f"{models[i % len(models)].name} window", [str(models[i % len(models)]), "--screenshot", "out.png"])
            for i in range(count)]


def run_case(case: Case, folder: Path, env: dict[str, str]) -> Outcome:
    folder.mkdir(parents=True)
    started = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-m", "explorer", *case.args], cwd=folder, env=env,
                              capture_output=True, timeout=TIMEOUT_S)
        code, stderr = done.returncode, done.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired as exc:
        code, stderr = None, (exc.stderr or b"").decode("utf-8", "replace")
    seconds = time.perf_counter() - started
    out = folder / case.out
    return Outcome(case, code, seconds, stderr, out.stat().st_size if out.exists() else 0)


def report(title: str, outcomes: list[Outcome]) -> int:
    """Print the outcomes by exit code and verdict; the number of failures."""
    print(f"\n{title}: {len(outcomes)} processes")
    by_code = collections.Counter("timeout" if o.code is None else str(o.code) for o in outcomes)
    print("  by exit code: " + ", ".join(f"{code}: {n}" for code, n in sorted(by_code.items())))
    by_verdict = collections.Counter(o.verdict.split(":")[0] for o in outcomes)
    print("  by verdict:   " + ", ".join(f"{verdict}: {n}" for verdict, n in by_verdict.most_common()))
    seconds = [o.seconds for o in outcomes]
    print(f"  seconds: median {statistics.median(seconds):.2f}, min {min(seconds):.2f}, max {max(seconds):.2f}")
    for code in sorted(by_code):
        these = [o for o in outcomes if ("timeout" if o.code is None else str(o.code)) == code]
        print(f"  exit {code}: {len(these)}, median {statistics.median(o.seconds for o in these):.2f} s")
    print(f"  {'case':<52} {'exit':>5} {'s':>6}  verdict / stderr's error sentence")
    for outcome in outcomes:
        code = "t/o" if outcome.code is None else outcome.code
        said = f" -- {outcome.error[:110]}" if outcome.error else ""
        print(f"  {outcome.case.label[:52]:<52} {code:>5} {outcome.seconds:6.2f}  {outcome.verdict}{said}")
    failures = [o for o in outcomes if o.problems()]
    for outcome in failures[:SHOWN]:
        shown = " ".join(a if isinstance(a, str) else repr(a) for a in outcome.case.args)
        print(f"\n  FAILED: {outcome.case.label}\n  command: python -m explorer {shown[:300]}")
        print("  stderr:\n" + "\n".join(f"    {line}" for line in outcome.stderr.strip().splitlines()[-30:]))
    others = collections.Counter(line for o in outcomes for line in o.stderr.splitlines()
                                 if line.strip() and not line.startswith((ERROR_LINE, "wrote ", "screenshot saved",
                                                                          "usage:", "  ", "Traceback")))
    if others:
        print("  other stderr lines (distinct, with counts):")
        for line, n in others.most_common(12):
            print(f"    {n:3d}  {line[:150]}")
    return len(failures)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshots", type=int, default=50)
    parser.add_argument("--windows", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, platform offscreen; "
          f"{args.snapshots} --snapshot runs, {args.windows} window cycles")
    rng = random.Random(args.seed)
    failures = 0
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
        for name in ("CONFIG", "STATE", "CACHE", "DATA"):
            env[f"XDG_{name}_HOME"] = str(root / "xdg" / name.lower())  # settings and bug reports stay here
        env.pop("PYTHONWARNINGS", None)

        cases = snapshot_cases(args.snapshots, rng)
        snapshots = [run_case(case, root / f"snapshot-{i}", env) for i, case in enumerate(cases)]
        failures += report("--snapshot runs", snapshots)
        windows = [run_case(case, root / f"window-{i}", env) for i, case in enumerate(window_cases(args.windows))]
        failures += report("window open/close cycles (--screenshot)", windows)
        for model in sorted({o.case.label for o in windows}):
            times = [o.seconds for o in windows if o.case.label == model]
            print(f"  {model:<28} median {statistics.median(times):.2f} s over {len(times)}")
        reports_folder = root / "xdg" / "state" / "attention-explorer" / "reports"
        reports = sorted(reports_folder.glob("report-*.txt")) if reports_folder.is_dir() else []
        print(f"\nbug reports the processes wrote: {len(reports)}")
        for path in reports[:SHOWN]:
            print(f"  {path.read_text(encoding='utf-8').splitlines()[0][:160]}")

    everything = snapshots + windows
    signals = sum(1 for o in everything if o.code is not None and o.code < 0)
    tracebacks = sum(1 for o in everything if "Traceback" in o.stderr)
    print("\nsummary")
    rows = (
        ("--snapshot runs", f"{len(snapshots)}", f"ok {sum(o.verdict == 'ok' for o in snapshots)}, "
                                                  f"refused as expected "
                                                  f"{sum(o.verdict == 'refused as expected' for o in snapshots)}"),
        ("window cycles", f"{len(windows)}", f"ok {sum(o.verdict == 'ok' for o in windows)}"),
        ("failures", str(failures), "target 0"),
        ("killed by a signal", str(signals), "target 0"),
        ("traceback on stderr", str(tracebacks), "target 0"),
        ("median s, --snapshot", f"{statistics.median(o.seconds for o in snapshots):.2f}", ""),
        ("median s, window cycle", f"{statistics.median(o.seconds for o in windows):.2f}", ""),
    )
    for name, value, note in rows:
        print(f"  {name:>24}  {value:>8}  {note}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
