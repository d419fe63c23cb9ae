"""The app's state in one Qt-free object: the open model, what it is fed, where the person looks,
and the newest run. Widgets draw it and forward a person's actions to it; none keeps its own copy.

    state = AppState()                       # runs at once on this thread (scripts, tests)
    state = AppState(lanes=controller.lane)  # the window: runs on the worker thread
    state.model_changed.connect(...); state.run_changed.connect(...); state.shown_changed.connect(...)
    state.open_now("bert.onnx", "the cat sat")   # or state.open(path) in the background
    state.toggle_masked("input_ids", 2)           # every change of the inputs runs the model again
    state.selection.toggle_head(0, 1)             # so does ablating a head

What each kind of model is fed, how it runs and what "before" means for it come from its Kind
(explorer.core.kinds). Events are called on the thread that changes the state: the GUI thread.
"""

from __future__ import annotations

from pathlib import Path

from explorer.core.ablation import HeadMasks
from explorer.core.cancel import Cancellation
from explorer.core.decoding import Stepper
from explorer.core.errors import RunError
from explorer.core.kinds import Kind, kind_of
from explorer.core.masking import TokenEdits
from explorer.core.model import LoadedModel, ModelOpenError, open_model
from explorer.core.predictions import NextTokens, Sampling, next_tokens
from explorer.core.probe import checked_runner
from explorer.core.result import RunResult
from explorer.core.runner import Runner
from explorer.core.state.events import Event
from explorer.core.state.jobs import ImmediateLane, Lane, LaneFactory, execute
from explorer.core.state.runs import Inputs, Picture, Run, Sound
from explorer.core.state.selection import FROM, TO, Selection
from explorer.core.text import EmptyTextError

# What people can act on: shown as they are. Anything else is a bug: shown with its type.
RUN_ERRORS = (RunError, EmptyTextError)


def opened(path: Path, provider: str) -> tuple[LoadedModel, Runner]:
    """The model at `path` and its runner, checked by a probe run before anything is replaced."""
    model = open_model(path, provider)
    return model, checked_runner(model)


class AppState:
    def __init__(self, lanes: LaneFactory = ImmediateLane, provider: str = "cpu"):
        self._lanes = lanes
        self.provider = provider  # "cpu" or "cuda", as asked; model.providers says what runs
        self.selection = Selection()
        self.selection.heads_changed.connect(self.request_run)
        self.selection.rows_wanted.connect(lambda stack, rows: self.request_run())  # inputs() names them

        self.model_changed = Event()  # (model): a new model is open
        self.open_failed = Event()  # (path, message): a file could not be opened; what was open stays
        self.run_changed = Event()  # (run): a new run of the inputs, drawn next
        self.shown_changed = Event()  # (result): what the views draw now (a run, or a decoding step)
        self.run_failed = Event()  # (message): the newest run failed
        self.cancelled = Event()  # (message): a run or an open was cancelled; what was shown stays
        self.decoding_changed = Event()  # a step was taken or undone
        self.sampling_changed = Event()  # (sampling): how a decoder's next token is drawn

        self.runs: Lane = lanes("runs", RUN_ERRORS, "The run")
        self.runs.result_ready.connect(self.show_run)
        self.runs.failed.connect(self._on_run_failed)
        self.opening: Lane = lanes("opening", (ModelOpenError,), "Opening the model")
        self.opening.result_ready.connect(self._on_opened)
        self.opening.failed.connect(self._on_open_failed)
        self._opening: tuple[Path, str | None] | None = None  # the newest background open: path, text
        self._typed_while_opening = False  # text set during a background open is what the new model runs on

        self.model: LoadedModel | None = None
        self.runner: Runner | None = None
        self.kind: Kind | None = None
        self.text = ""
        self.edits: dict[str, TokenEdits] = {}  # per ids input, of `text`
        self.picture: Picture | None = None
        self.hidden: frozenset[int] = frozenset()  # patches of `picture` hidden as keys
        self.sound: Sound | None = None  # a speech model's recording
        self.requested: Inputs | None = None  # the newest inputs a run was asked for
        self.run_cancellation: Cancellation | None = None  # stops the newest background run
        self.run: Run | None = None  # the newest run drawn
        self.shown: RunResult | None = None  # what the views draw: the run's result or a decoding step's
        self.decoder: Stepper | None = None  # step-by-step decoding of the run's input, once begun
        self._baseline: tuple[tuple, RunResult] | None = None  # (inputs key, run) of the newest baseline
        self.sampling = Sampling()  # a decoder LM: its next-token distribution, and greedy or seeded draws

    def new_lane(self, name: str, user_errors: tuple[type[Exception], ...] = RUN_ERRORS, what: str = "The run"):
        """A lane of one's own (a panel's second input, a batch) on the same worker as the runs."""
        return self._lanes(name, user_errors, what)

    # -- opening ------------------------------------------------------------------------------
    def open(self, path: str | Path, text: str | None = None) -> None:
        """Open the model at `path` in the background, then show it, run on `text`; of several opens
        in a row only the newest is shown. A failure is an `open_failed` and keeps what was open."""
        path, provider = Path(path), self.provider
        self._opening, self._typed_while_opening = (path, text), False
        self.opening.request(lambda: opened(path, provider))

    def open_now(self, path: str | Path, text: str | None = None) -> bool:
        """Open on this thread (a background open under way is dropped); True when it opened."""
        self.opening.cancel()
        self._opening = None
        try:
            model, runner = opened(Path(path), self.provider)
        except ModelOpenError as exc:
            self.open_failed.emit(Path(path), str(exc))
            return False
        self.set_model(model, text, runner)
        return True

    @property
    def opening_path(self) -> Path | None:
        """The file a background open is reading, if any."""
        return self._opening[0] if self._opening else None

    def _on_opened(self, model_and_runner: tuple[LoadedModel, Runner]) -> None:
        _, text = self._opening
        if self._typed_while_opening and self.text.strip():
            text = self.text  # typed while it opened: meant for this model, whatever its kind
        self._opening = None
        model, runner = model_and_runner
        self.set_model(model, text, runner)

    def _on_open_failed(self, message: str) -> None:
        path, _ = self._opening
        self._opening = None
        self.open_failed.emit(path, message)

    def set_provider(self, provider: str) -> None:
        """Run on "cpu" or "cuda" from now on: the open model is opened again on it, in the background."""
        self.provider = provider
        if self.model is not None:
            self.open(self.model.path, self.text)

    def set_model(self, model: LoadedModel, text: str | None = None, runner: Runner | None = None) -> None:
        """Show `model` and run it: on `text`, else on the text there is where it suits the model (a
        model of the same kind), else on the kind's sample. An image model waits for a picture.
        `runner`: the one `opened` checked the model with (else one is made)."""
        self._stop_run()
        self.runs.cancel()
        kind = kind_of(model.meta)
        same_kind = self.kind is kind
        if text is None and not (same_kind and self.text.strip()):
            text = model.meta.sample_text or kind.sample_text  # a fresh start, or another kind's text would not fit
        self.model, self.runner, self.kind = model, runner or Runner(model), kind
        self.text = self.text if text is None else text
        self.edits, self.picture, self.hidden, self.sound = {}, None, frozenset(), None
        self.requested = self.run = self.shown = self.decoder = self._baseline = None
        self.selection.set_stacks({})
        with self.selection.heads_changed.blocked():  # the run below follows; none for the reset masks
            self.selection.set_head_masks(HeadMasks(model.meta.stacks))
        self.model_changed.emit(model)
        self.request_run()  # nothing yet where the kind waits for a picture or a recording

    # -- the inputs ---------------------------------------------------------------------------
    def set_text(self, text: str) -> None:
        """New text, not run yet (request_run runs it). Token edits belong to the text they were made on."""
        if text != self.text:
            self.text, self.edits = text, {}
            self._typed_while_opening = self._opening is not None

    def toggle_hidden(self, ids_input: str, index: int) -> None:
        """Hide token `index` as a key (its attention mask 0), or show it again; runs at once."""
        self.edits = {**self.edits, ids_input: self.edits.get(ids_input, TokenEdits()).toggled_hidden(index)}
        self.request_run()

    def toggle_masked(self, ids_input: str, index: int) -> None:
        """Replace token `index` by [MASK], or put it back; runs at once."""
        self.edits = {**self.edits, ids_input: self.edits.get(ids_input, TokenEdits()).toggled_masked(index)}
        self.request_run()

    def set_picture(self, picture: Picture, now: bool = False) -> None:
        """Run an image model on a new picture, nothing hidden (`now`: on this thread, drawn before returning)."""
        self.picture, self.hidden = picture, frozenset()
        self.run_now() if now else self.request_run()

    def set_sound(self, sound: Sound, now: bool = False) -> None:
        """Run a speech model on a new recording (`now`: on this thread, drawn before returning)."""
        self.sound = sound
        self.run_now() if now else self.request_run()

    def set_hidden(self, hidden: frozenset[int]) -> None:
        """Hide these patches of the picture (as keys, patch_mask 0) and run again."""
        hidden = frozenset(hidden)
        if self.picture is None or hidden == self.hidden:
            return
        self.hidden = hidden
        self.request_run()

    def inputs(self) -> Inputs:
        selection = self.selection
        masks = selection.head_masks
        # rows matter to a long input only; a short one's focus must not make its runs differ
        long = selection.stack is not None and not selection.stack.complete
        rows = {selection.stack_name: selection.wanted_rows()} if long else {}
        return Inputs(self.text, dict(self.edits), self.picture, self.hidden,
                      masks.feeds() if masks is not None else None, self.sound, rows)

    # -- running ------------------------------------------------------------------------------
    def request_run(self) -> None:
        """Run the inputs as they stand, in the background; only the newest request is drawn."""
        job = self.run_job()
        if job is not None:
            self._stop_run()  # typed again: the run in flight is stale, so it stops rather than holding this one up
            self.run_cancellation = Cancellation()
            self.runs.request(self.run_cancellation.bind(job))

    def run_now(self) -> None:
        """Run on this thread and draw before returning: for --snapshot, benchmarks and tests."""
        job = self.run_job()
        if job is not None:
            self._stop_run()
            self.runs.run_now(job)

    def run_job(self):
        """The run of the inputs as they stand, compared with the kind's baseline, as a function the
        worker calls (it touches no state); None with nothing to run. Its Run goes to show_run."""
        if self.runner is None or self.kind.waits(self.inputs()):
            return None
        runner, kind, inputs = self.runner, self.kind, self.inputs()
        before = kind.before(inputs)
        known = self._baseline[1] if self._baseline and self._baseline[0] == before.key else None
        last = self.run  # a picture's pixel values are made once, not at every hidden patch
        same_media = last is not None and inputs.media is not None and last.inputs.media is inputs.media
        made = last.prepared if same_media else None
        self.requested = inputs

        def job() -> Run:
            prepared = made if made is not None else kind.prepare(runner, inputs)
            result = kind.run(runner, inputs, prepared)
            altered = before.key != inputs.key
            baseline = (known or kind.run(runner, before, prepared)) if altered else result
            outcome = kind.outcome(runner, inputs, result, baseline if altered else None)
            return Run(inputs, result, baseline, outcome, prepared)

        return job

    def _stop_run(self) -> bool:
        """Stop the newest background run (ONNX Runtime's run in flight too); its outcome, stale
        now, is never shown. True when there was one to stop."""
        cancellation, self.run_cancellation = self.run_cancellation, None
        if cancellation is None:
            return False
        cancellation.cancel()
        return self.runs.busy

    def cancel(self) -> None:
        """The person cancelled: stop what runs or opens in the background and keep what is shown."""
        if self._opening is not None:  # the file is read to the end, but its model is never shown
            path, self._opening = self._opening[0], None
            self.opening.cancel()
            self.cancelled.emit(f"Opening {path.name} cancelled.")
        if self._stop_run():
            self.runs.cancel()
            self.requested = self.run.inputs if self.run is not None else None  # nothing is pending now
            self.cancelled.emit("Run cancelled." if self.shown is None else
                                "Run cancelled: the views show the last finished run.")

    def show_run(self, run: Run) -> None:
        """Make a finished run the newest one and draw it (the GUI thread's half of a run)."""
        self.run, self.decoder = run, None
        self._baseline = (self.kind.before(run.inputs).key, run.baseline)
        self._show(run.result, run)

    def _show(self, result: RunResult, run: Run | None = None) -> None:
        self.shown = result
        self.selection.set_stacks(result.stacks)
        if run is not None:
            self.run_changed.emit(run)
        self.shown_changed.emit(result)

    def _on_run_failed(self, message: str) -> None:
        self.shown, self.decoder = None, None
        self.selection.set_stacks({})
        self.run_failed.emit(message)

    def output(self) -> tuple[tuple[str, str], ...]:
        """What the model made of the input, as (label, text) pairs: the run's answer, or while
        decoding step by step, the output so far."""
        if self.decoder is not None and self.decoder.steps:
            return self.kind.output_while_stepping(self.runner, self.decoder)
        return self.run.outcome.output if self.run is not None else ()

    # -- decoding step by step ------------------------------------------------------------------
    def step_next(self) -> None:
        self._step(lambda decoder, fresh: decoder.next())

    def step_back(self) -> None:
        """One step back; before any step, from the whole output: its last step."""
        def back(decoder: Stepper, fresh: bool) -> None:
            if fresh:
                decoder.run_to_end()
            decoder.back()

        self._step(back)

    def step_to_end(self) -> None:
        self._step(lambda decoder, fresh: decoder.run_to_end())

    def _step(self, action) -> None:
        """`action(decoder, fresh)` on the decoder of the run's input (`fresh`: made just now)."""
        if self.run is None or not self.kind.steps:
            return
        runner, inputs, decoder, sampling = self.runner, self.run.inputs, self.decoder, self.sampling
        shown = self.run.result

        def step() -> Stepper:
            stepper = decoder or self.kind.stepper(runner, inputs, sampling, shown)
            action(stepper, decoder is None)
            return stepper

        stepped, error = execute(step, RUN_ERRORS, "Decoding")
        if error is not None:
            self.run_failed.emit(error)
            return
        self.decoder = stepped
        self.decoding_changed.emit()
        if stepped.current is not None:
            self._show(stepped.current)

    # -- tokens and the selection -------------------------------------------------------------
    def focus_token(self, ids_input: str, index: int, add: bool = False) -> None:
        """Focus token `index` of sequence `ids_input` in the views: as a query where the shown
        stack's queries come from that sequence, else as a key. With `add` (Shift-click) the token
        joins or leaves the chosen set instead."""
        selection = self.selection
        if self.model is None or selection.stack_name is None:
            return
        stacks = self.model.meta.stacks
        spec = stacks[selection.stack_name]
        if ids_input not in (spec.queries, spec.keys):  # e.g. a source token while the decoder is shown
            # an output token goes to the cross attention: which source tokens it looked at
            name = next((n for n, s in stacks.items() if s.queries == ids_input != s.keys), None) or next(
                n for n, s in stacks.items() if ids_input in (s.queries, s.keys))
            selection.set_stack(name)
            spec = stacks[name]
        focus = selection.toggle_token if add else selection.set_token
        if spec.queries == spec.keys:
            focus(index)
        else:
            focus(index, FROM if spec.queries == ids_input else TO)

    # -- a decoder's next token -------------------------------------------------------------------
    def set_sampling(self, sampling: Sampling) -> None:
        """How the next-token distribution is shown (and later drawn); the run stays as it is."""
        if sampling != self.sampling:
            self.sampling = sampling
            self.sampling_changed.emit(sampling)
            if self.decoder is not None and self.kind.predicts_next:  # generated another way: start again
                self.decoder = None
                self.decoding_changed.emit()
                if self.run is not None:
                    self._show(self.run.result)

    def next_tokens(self, position: int | None = None) -> NextTokens | None:
        """What a decoder LM predicts after the token at `position` (default: the last) of the run
        shown, under `sampling`; None for other kinds or with nothing shown."""
        if self.kind is None or not self.kind.predicts_next or self.shown is None:
            return None
        ids_input = self.model.meta.sequence_inputs[0][0]
        ids = self.shown.token_ids[ids_input]
        position = len(ids) - 1 if position is None else position
        logits = self.shown.logits_at(position) if 0 <= position < len(ids) else None
        if logits is None:  # a long input's logits are kept at the rows shown: the focused query's comes with its row
            return None
        return next_tokens(logits, ids, position, self.runner.encoders[ids_input].id_to_token, self.sampling)

    def focused_input(self) -> str | None:
        """The sequence (ids input) of the focused token, or None."""
        selection = self.selection
        if self.model is None or selection.stack_name is None or selection.token is None:
            return None
        spec = self.model.meta.stacks[selection.stack_name]
        return spec.queries if selection.direction == FROM else spec.keys
