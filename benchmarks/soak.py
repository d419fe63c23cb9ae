"""A soak test of the state model under hostile input (issue 17): many random interactions, as a
person's clicks and typing would reach `AppState`, on the bundled models.

The interactions are drawn at random (seeded) with fixed weights, among those that apply to the
open model: new text and a run (ordinary sentences, and hostile ones: empty, only spaces, 5,000
random words, emoji, control characters and NUL, right-to-left text, lone [MASK]s...), hiding a
token or replacing it by [MASK], selection changes (stack, layer, head, token focus, visible
heads, ablating heads), decoding step by step on the seq2seq model, a picture and hidden patches
on the ViT (sample images, and hostile pictures: 1x1, a sliver, all black, noise), the provider,
and every ~50 interactions another model (now and then a file that is no model). After each
interaction it reads the state as the views would (the shown matrix, the token names, the output).

What is counted:
- Python exceptions that escape an interaction (target 0), the first few printed with traceback;
- `run_failed` and `open_failed` messages; those that start "... failed (" are the catch-all for
  a bug (an exception that is not a person's error), counted apart, with the traceback that the
  app printed for them;
- shown results whose attention is not finite (NaN or inf);
- the bug reports the app wrote for them (to a temporary $XDG_STATE_HOME, removed afterwards);
- the process RSS (VmRSS, after gc.collect()) every 50 interactions, and its growth over the last
  500 interactions (target < 30 MB; the interactions before them are the warm-up). Freed memory that
  glibc's malloc keeps for reuse (the big arrays of a 5,000-word text, a large picture) makes the raw
  RSS saw up and down by some 40 MB, so it is read twice: as it is, and after malloc_trim(0) hands
  that back to the system, which leaves what the process really holds on to. The target is judged
  on the second (where there is no glibc, on the first).

Everything runs at once on this thread (`AppState()`'s ImmediateLane), no Qt event loop.

    python benchmarks/soak.py [--interactions 1000] [--seed 0]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import os
import random
import re
import sys
import tempfile
import time
import traceback
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: a soak, not a speed race

import numpy as np  # noqa: E402
from soak_inputs import (  # noqa: E402 - benchmarks/soak_inputs.py: the texts, pictures, files and readings
    ORDINARY,
    RssCurve,
    broken_models,
    call,
    hostile_texts,
    load_pictures,
    print_bugs,
    print_interactions,
    print_messages,
    trim_malloc,
)

RSS_GROWTH_TARGET_MB = 30.0
GROWTH_WINDOW = 500  # interactions the RSS growth is measured over (the last ones)
# a bug's message, as explorer.core.state.jobs.execute words it: "The run failed (KeyError: ...).",
# "Decoding failed (...).", "Opening the model failed (...)."
CATCH_ALL = re.compile(r"^[\w ]{1,40} failed \([\w.]+: ")
REPORT = re.compile(r"/\S*report-[\d-]+\.txt")  # the bug report a catch-all message names: one per bug
SHOWN_FAILURES = 5


class Soak:
    def __init__(self, seed: int, folder: Path):
        from explorer.core.assets import bundled_models
        from explorer.core.state.app_state import AppState

        self.rng = random.Random(seed)
        self.models = bundled_models()
        self.broken = broken_models(folder)
        self.hostile = hostile_texts(self.rng)
        self.pictures = load_pictures(np.random.default_rng(seed))
        self.state = AppState()
        self.counts: collections.Counter[str] = collections.Counter()  # interactions by name
        self.by_model: collections.Counter[str] = collections.Counter()  # interactions by the model open
        self.run_failed: collections.Counter[str] = collections.Counter()  # message -> count
        self.open_failed: collections.Counter[str] = collections.Counter()
        self.catch_all: dict[str, tuple[str, str]] = {}  # message -> (the interaction, the app's traceback)
        self.escaped: list[tuple[int, str, str]] = []  # (interaction index, description, traceback)
        self.non_finite: collections.Counter[str] = collections.Counter()  # description -> count
        self.current = ""  # the interaction under way, described
        self._new_catch_all: list[str] = []  # catch-all messages first seen in this interaction
        self._non_finite: list[str] = []  # stacks shown with NaN or inf in this interaction
        self.state.run_failed.connect(lambda message: self._failed(self.run_failed, message))
        self.state.open_failed.connect(lambda path, message: self._failed(self.open_failed, message))
        self.state.shown_changed.connect(self._on_shown)

    # -- what the state reports -------------------------------------------------------------------
    def _failed(self, counter: collections.Counter, message: str) -> None:
        message = REPORT.sub("<report file>", message)
        counter[message] += 1
        if CATCH_ALL.match(message) and message not in self.catch_all:
            self.catch_all[message] = (self.current, "")
            self._new_catch_all.append(message)

    def _on_shown(self, result) -> None:
        for name, stack in result.stacks.items():
            if not np.isfinite(stack.attentions).all():
                self._non_finite.append(name)

    # -- the interactions -------------------------------------------------------------------------
    def interactions(self):
        """(weight, name, action) of those that apply to the open model."""
        kind = self.state.kind
        text = kind is not None and not kind.takes_images
        return [(weight, name, action) for weight, name, action, applies in (
            (14, "ordinary text + run", self.ordinary_text, text),
            (14, "hostile text + run", self.hostile_text, text),
            (9, "toggle_hidden", self.toggle_hidden, text),
            (7, "toggle_masked", self.toggle_masked, text),
            (2, "hide every token", self.hide_every_token, text),
            (14, "selection", self.select, True),
            (6, "head ablation", self.ablate, True),
            (5, "focus a token", self.focus, True),
            (10, "decode stepping", self.step, kind is not None and kind.steps),
            (8, "set picture", self.set_picture, kind is not None and kind.takes_images),
            (8, "hide patches", self.hide_patches, kind is not None and kind.takes_images),
            (1, "set provider", self.set_provider, True),
        ) if applies]

    def ordinary_text(self) -> str:
        text = self.rng.choice(ORDINARY)
        self.state.set_text(text)
        self.state.request_run()
        return repr(text)

    def hostile_text(self) -> str:
        name = self.rng.choice(list(self.hostile))
        self.state.set_text(self.hostile[name])
        self.state.request_run()
        return name

    def _token_target(self) -> tuple[str, int] | None:
        """An editable sequence of the newest run and a token index in it (now and then past its end)."""
        state = self.state
        if state.run is None:
            return None
        sequences = [n for n, tokens in state.run.result.tokens.items() if tokens and state.kind.editable(n)]
        if not sequences:
            return None
        name = self.rng.choice(sequences)
        length = len(state.run.result.tokens[name])
        return name, self.rng.randrange(length + 2) if self.rng.random() < 0.1 else self.rng.randrange(length)

    def toggle_hidden(self) -> str:
        target = self._token_target()
        if target is None:
            return "no run: nothing to hide"
        self.state.toggle_hidden(*target)
        return f"{target[0]}[{target[1]}]"

    def toggle_masked(self) -> str:
        target = self._token_target()
        if target is None:
            return "no run: nothing to [MASK]"
        if self.state.runner.mask_token() is None:  # the token strip offers no [MASK] there
            return "no [MASK] token: not offered"
        self.state.toggle_masked(*target)
        return f"{target[0]}[{target[1]}]"

    def hide_every_token(self) -> str:
        """Click every token of a short input to hide them all as keys."""
        state = self.state
        target = self._token_target()
        if target is None:
            return "no run"
        name = target[0]
        length = len(state.run.result.tokens[name])
        if length > 16:
            return f"{length} tokens: too many to click"
        hidden = state.edits.get(name)
        for index in range(length):
            if hidden is None or index not in hidden.hidden:
                state.toggle_hidden(name, index)
        return f"{name}: {length} tokens"

    def select(self) -> str:
        selection, rng = self.state.selection, self.rng
        stack = selection.stack
        layers, heads = (stack.layers, stack.heads) if stack else (2, 4)
        choice = rng.randrange(9)
        if choice == 0 and selection.stacks:
            return call(selection, "set_stack", rng.choice(list(selection.stacks)))
        if choice == 1:
            return call(selection, "set_layer", rng.randrange(-1, layers + 2))
        if choice == 2:
            return call(selection, "set_head", rng.choice([None, *range(-1, heads + 2)]))
        if choice == 3:
            return call(selection, "open_head", rng.randrange(layers), rng.choice([None, *range(heads)]))
        if choice == 4:
            return call(selection, "move", *rng.choice([(0, 1), (0, -1), (1, 0), (-1, 0), (5, 5), (-5, -5)]))
        if choice == 5:
            return call(selection, "set_head_visible", rng.randrange(heads), rng.random() < 0.5)
        if choice == 6:
            shown = frozenset(h for h in range(heads) if rng.random() < 0.5)
            selection.set_visible_heads(shown)
            return f"set_visible_heads({sorted(shown)})"
        if choice == 7:
            return call(selection, "set_how", rng.choice(("each", "sum", "mean")))
        from explorer.core.state.selection import DIRECTIONS

        return call(selection, "set_direction", rng.choice(DIRECTIONS))

    def ablate(self) -> str:
        selection, rng = self.state.selection, self.rng
        stack = selection.stack
        if stack is None:
            return "no stack shown"
        layer, head = rng.randrange(stack.layers), rng.randrange(stack.heads)
        choice = rng.randrange(4)
        if choice <= 1:
            return call(selection, "toggle_head", layer, head) + f" on {stack.name}"
        if choice == 2:
            return call(selection, "keep_only_head", layer, head) + f" on {stack.name}"
        return call(selection, "reset_heads")

    def focus(self) -> str:
        state, rng = self.state, self.rng
        if state.model is None or state.selection.stack is None or state.shown is None:
            return "nothing shown"
        sequences = sorted({s for spec in state.model.meta.stacks.values() for s in (spec.queries, spec.keys)})
        name = rng.choice(sequences)
        tokens = state.shown.tokens.get(name) or state.selection.focus_tokens
        index = rng.randrange(max(len(tokens), 1))
        add = rng.random() < 0.4
        state.focus_token(name, index, add)
        return f"focus_token({name!r}, {index}, add={add})"

    def step(self) -> str:
        action = self.rng.choice(("step_next", "step_next", "step_back", "step_to_end"))
        getattr(self.state, action)()
        return action

    def set_picture(self) -> str:
        picture = self.rng.choice(self.pictures)
        self.state.set_picture(picture)
        return picture.name

    def hide_patches(self) -> str:
        state, rng = self.state, self.rng
        if state.picture is None:
            return "no picture"
        patches = state.model.meta.image.num_patches
        choice = rng.randrange(5)
        if choice == 0:
            hidden = frozenset(range(patches))  # every patch: only the class token is left as a key
        elif choice == 1:
            hidden = frozenset()
        elif choice == 2:
            hidden = state.hidden ^ {rng.randrange(patches)}
        else:
            hidden = frozenset(rng.sample(range(patches), rng.randrange(1, patches)))
        state.set_hidden(hidden)
        return f"{len(hidden)} of {patches} patches hidden"

    def set_provider(self) -> str:
        provider = self.rng.choice(("cpu", "cpu", "cuda"))
        self.state.set_provider(provider)
        return provider

    def switch_model(self) -> str:
        """Another bundled model, now and then on a text; now and then a file that is no model."""
        rng, state = self.rng, self.state
        if rng.random() < 0.15:
            path = rng.choice(self.broken)
        else:
            others = [p for p in self.models if state.model is None or p != state.model.path]
            path = rng.choice(others or self.models)
        text = None
        if rng.random() < 0.3:
            text = rng.choice([*ORDINARY, *self.hostile.values()])
        state.open_now(path, text)
        described = "" if text is None else f", text {text[:30]!r}"
        return f"open_now({path.name}{described})"

    def read_as_views_do(self) -> None:
        """What the views, the token strip and the output line read after a change."""
        state, selection = self.state, self.state.selection
        matrix = selection.matrix()
        if matrix is not None:
            assert matrix.ndim == 2, matrix.shape
        selection.token_names()
        _ = selection.tokens, selection.focus_tokens, selection.visible_heads
        state.output()
        state.focused_input()

    # -- the soak ---------------------------------------------------------------------------------
    def one(self, index: int, switch: bool) -> str:
        """Draw one interaction and do it; its name."""
        if switch:
            name, action = "model switch", self.switch_model
        else:
            choices = self.interactions()
            _, name, action = self.rng.choices(choices, weights=[c[0] for c in choices])[0]
        model = self.state.model.path.name if self.state.model else "none"
        self.current = f"#{index} {name} on {model}"
        self.counts[name] += 1
        self.by_model[model] += 1
        self._new_catch_all, self._non_finite = [], []
        caught = io.StringIO()
        try:
            with contextlib.redirect_stderr(caught):  # the app prints a bug's traceback there
                self.current += f": {action()}"
                self.read_as_views_do()
        except Exception:  # noqa: BLE001 - what escapes is what the soak counts
            self.escaped.append((index, self.current, traceback.format_exc()))
        for message in self._new_catch_all:
            self.catch_all[message] = (self.current, caught.getvalue())
        for stack in self._non_finite:
            self.non_finite[f"{self.current[:140]} ({stack} stack)"] += 1
        return name


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interactions", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--switch-every", type=int, default=50, help="a model switch about this often")
    parser.add_argument("--rss-every", type=int, default=50)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}; "
          f"{args.interactions} interactions, seed {args.seed}")

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        os.environ["XDG_STATE_HOME"] = str(Path(folder) / "state")  # the bug reports a catch-all writes
        from explorer.core.reports import reports_folder

        soak = Soak(args.seed, Path(folder))
        if not soak.models:
            print("no bundled models: nothing to soak")
            return 1
        print("models:", ", ".join(p.name for p in soak.models), f"({len(soak.pictures)} pictures)")
        soak.state.open_now(soak.models[0])
        rss = RssCurve()
        rss.measure(0)
        seconds: dict[str, list[float]] = collections.defaultdict(list)
        next_switch = args.switch_every
        for index in range(1, args.interactions + 1):
            switch = index >= next_switch
            if switch:
                next_switch = index + soak.rng.randint(args.switch_every * 3 // 4, args.switch_every * 5 // 4)
            before = time.perf_counter()
            name = soak.one(index, switch)
            seconds[name].append(time.perf_counter() - before)
            if index % args.rss_every == 0 or index == args.interactions:
                rss.measure(index)
        reports = len(list(reports_folder().glob("report-*.txt"))) if reports_folder().is_dir() else 0
    elapsed = time.perf_counter() - started

    trimmed = trim_malloc()
    start_index, end_index, growth, raw_growth = rss.report(args.rss_every, GROWTH_WINDOW,
                                                            RSS_GROWTH_TARGET_MB, trimmed)

    print_interactions(soak.by_model, soak.counts, seconds)

    catch_all_runs = sum(n for m, n in soak.run_failed.items() if CATCH_ALL.match(m))
    catch_all_opens = sum(n for m, n in soak.open_failed.items() if CATCH_ALL.match(m))
    print()
    print_messages("run_failed", soak.run_failed, CATCH_ALL.match)
    print_messages("open_failed", soak.open_failed, CATCH_ALL.match)
    print_bugs(soak.catch_all, soak.non_finite, soak.escaped, SHOWN_FAILURES)

    print("\nsummary")
    rows = (
        ("interactions", f"{args.interactions} in {elapsed:.1f} s", ""),
        ("exceptions escaped", str(len(soak.escaped)), "target 0"),
        ("catch-all run_failed", str(catch_all_runs), "target 0"),
        ("catch-all open_failed", str(catch_all_opens), "target 0"),
        ("run_failed (person's errors)", str(sum(soak.run_failed.values()) - catch_all_runs), ""),
        ("open_failed (person's errors)", str(sum(soak.open_failed.values()) - catch_all_opens), ""),
        ("bug reports written", str(reports), "one per catch-all"),
        ("non-finite attention shown", str(sum(soak.non_finite.values())), "target 0"),
        (f"RSS growth, last {end_index - start_index}", f"{growth:+.1f} MB",
         f"target < {RSS_GROWTH_TARGET_MB:.0f} MB" + (" (after malloc_trim)" if trimmed else "")),
        ("raw RSS growth, same window", f"{raw_growth:+.1f} MB", ""),
    )
    for name, value, target in rows:
        print(f"  {name:>30}  {value:>20}  {target}")
    bad = soak.escaped or catch_all_runs or catch_all_opens or growth >= RSS_GROWTH_TARGET_MB
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
