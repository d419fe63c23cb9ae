"""Stopping a model run in flight: a Cancellation terminates ONNX Runtime's run from another thread,
refuses the job's later runs, and the job ends with RunCancelled, a user error (never a bug)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from explorer.core.cancel import Cancellation, RunCancelled
from explorer.core.errors import RunError
from explorer.core.model import open_model
from explorer.core.runner import Runner
from explorer.core.state.app_state import RUN_ERRORS
from explorer.core.state.jobs import execute


@pytest.fixture
def runner(bert_path) -> Runner:
    return Runner(open_model(bert_path))  # its own: a test may hold its session


def in_thread(job):
    """Start `job` on a thread of its own; join() returns what it raised (None when it returned)."""
    raised = []

    def target():
        try:
            job()
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            raised.append(exc)

    thread = threading.Thread(target=target, daemon=True)  # a job that never stops must not hold pytest up
    thread.start()

    def join():
        thread.join(timeout=30)
        assert not thread.is_alive()
        return raised[0] if raised else None

    return join


def test_a_run_cancelled_from_another_thread_while_in_flight_raises_run_cancelled(runner, hold_first_run):
    held = hold_first_run(runner)
    cancellation = Cancellation()
    join = in_thread(cancellation.bind(lambda: runner.run_text("the cat sat on the mat")))
    assert held.started.wait(timeout=10)
    cancellation.cancel()  # from this thread, while ONNX Runtime's run is in flight on the other
    error = join()
    assert isinstance(error, RunCancelled) and isinstance(error, RunError)
    assert str(error) == "Cancelled."
    assert cancellation.terminated and held.runs == 1


def test_a_job_running_until_stopped_ends_with_run_cancelled(runner):
    """Real runs, no holding: wherever the cancel lands (inside a run or between two), the job stops."""
    started = threading.Event()
    runs = []

    def forever():
        while True:
            runs.append(runner.run_text("the cat sat on the mat " * 8))
            started.set()

    cancellation = Cancellation()
    join = in_thread(cancellation.bind(forever))
    assert started.wait(timeout=10)
    cancellation.cancel()
    assert isinstance(join(), RunCancelled)
    assert runs and cancellation.cancelled


def test_a_cancelled_job_makes_no_further_run(runner, hold_first_run):
    held = hold_first_run(runner)
    cancellation = Cancellation()
    cancellation.cancel()  # before it starts: a translation's next step, say
    with pytest.raises(RunCancelled):
        cancellation.bind(lambda: runner.run_text("the cat"))()
    assert held.runs == 0 and not cancellation.terminated


def test_runs_outside_a_cancelled_job_go_on(runner, bert_path):
    cancelled = Cancellation()
    cancelled.cancel()
    with pytest.raises(RunCancelled):
        cancelled.bind(lambda: runner.run_text("the cat"))()
    plain = runner.run_text("the cat")  # on this thread, bound to nothing
    fresh = Cancellation().bind(lambda: runner.run_text("the cat"))()
    np.testing.assert_array_equal(plain.stacks["encoder"].attentions, fresh.stacks["encoder"].attentions)


def test_a_failing_run_is_still_a_run_error_not_a_cancel(runner):
    ids = np.asarray([[1, 2, 3]], np.int64)
    with pytest.raises(RunError, match="ONNX Runtime could not run the model") as raised:
        Cancellation().bind(lambda: runner.run_graph({"input_ids": ids, "attention_mask": ids[:, :2]}))()
    assert not isinstance(raised.value, RunCancelled)


def test_a_cancelled_run_is_a_user_error_for_the_lanes(runner):
    cancellation = Cancellation()
    cancellation.cancel()
    job = cancellation.bind(lambda: runner.run_text("the cat"))
    assert execute(job, RUN_ERRORS, "The run") == (None, "Cancelled.")  # shown as it is: no bug report
