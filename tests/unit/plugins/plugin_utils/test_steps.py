"""poll_until: the one polling loop of the actions, on a fake clock."""

from __future__ import annotations

import pytest

from ansible_collections.vaware.hyperv.plugins.plugin_utils._steps import (
    PollTimeout,
    StepFailed,
    job_over,
    poll_job,
    poll_until,
)
from ansible_collections.vaware.hyperv.tests.support.fake_clock import FakeClock


class Lost(Exception):
    pass


def reader(answers):
    answers = list(answers)

    def read():
        item = answers.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    return read


def test_reads_until_finished_and_returns_that_answer():
    clock = FakeClock(start=0.0)
    got = poll_until(
        reader(["a", "b", "done"]), lambda x: x == "done", interval=5, deadline=100, clock=clock, sleep=clock.sleep
    )
    assert got == "done"
    assert clock.sleeps == [5, 5]


def test_a_first_answer_that_is_finished_reads_nothing():
    clock = FakeClock(start=0.0)
    got = poll_until(reader([]), lambda x: x == "done", interval=5, deadline=100, first="done", clock=clock)
    assert got == "done"


def test_a_first_answer_is_followed_by_a_wait_before_the_first_read():
    clock = FakeClock(start=0.0)
    got = poll_until(
        reader(["done"]), lambda x: x == "done", interval=7, deadline=100, first="x", clock=clock, sleep=clock.sleep
    )
    assert got == "done"
    assert clock.sleeps == [7]


def test_the_deadline_raises_with_the_last_answer():
    clock = FakeClock(start=0.0)
    with pytest.raises(PollTimeout) as info:
        poll_until(reader(["a"] * 10), lambda x: False, interval=10, deadline=25, clock=clock, sleep=clock.sleep)
    assert info.value.last == "a"
    assert info.value.error is None
    # no wait goes past the deadline
    assert clock.now == 25


def test_retried_errors_back_off_and_a_success_resets_the_count():
    clock = FakeClock(start=0.0)
    seen = []

    def retry(error, failures):
        seen.append(failures)
        return True

    got = poll_until(
        reader([Lost(), Lost(), "x", Lost(), "done"]),
        lambda x: x == "done",
        interval=2,
        deadline=1000,
        retry=retry,
        retryable=(Lost,),
        backoff=2.0,
        clock=clock,
        sleep=clock.sleep,
    )
    assert got == "done"
    assert seen == [1, 2, 1]
    assert clock.sleeps == [2, 4, 2, 2]


def test_backoff_is_capped():
    clock = FakeClock(start=0.0)
    poll_until(
        reader([Lost()] * 5 + ["done"]),
        lambda x: x == "done",
        interval=10,
        deadline=10000,
        retry=lambda e, n: True,
        retryable=(Lost,),
        backoff=2.0,
        max_delay=30,
        clock=clock,
        sleep=clock.sleep,
    )
    assert clock.sleeps == [10, 20, 30, 30, 30]


def test_an_error_not_retried_propagates():
    clock = FakeClock(start=0.0)
    with pytest.raises(Lost):
        poll_until(reader([Lost()]), lambda x: True, interval=1, deadline=10, retryable=(Lost,), clock=clock)


def test_an_error_that_is_not_retryable_propagates_without_asking():
    asked = []
    with pytest.raises(KeyError):
        poll_until(
            reader([KeyError("x")]),
            lambda x: True,
            interval=1,
            deadline=10,
            retry=lambda e, n: asked.append(e) or True,
            retryable=(Lost,),
            clock=FakeClock(start=0.0),
        )
    assert asked == []


def test_errors_until_the_deadline_raise_with_the_error():
    clock = FakeClock(start=0.0)
    with pytest.raises(PollTimeout) as info:
        poll_until(
            reader([Lost("gone")] * 20),
            lambda x: True,
            interval=10,
            deadline=35,
            retry=lambda e, n: True,
            retryable=(Lost,),
            clock=clock,
            sleep=clock.sleep,
        )
    assert str(info.value.error) == "gone"
    assert info.value.last is None


def test_step_failed_names_the_step_and_keeps_the_partial_result():
    err = StepFailed("copy", "robocopy failed for web01", job_id="j1")
    assert str(err) == "copy: robocopy failed for web01"
    assert err.message == "robocopy failed for web01"
    assert err.partial == {"job_id": "j1"}


# ------------------------------------------------------------------------------ detached jobs


class Unreachable(Exception):
    unreachable = True


RUNNING = {"status": {"state": "running"}, "task_state": "Running", "runner_alive": True}


@pytest.mark.parametrize(
    ("answer", "reads", "over"),
    [
        (RUNNING, 5, False),
        ({"status": {"state": "finished"}, "task_state": "Ready"}, 1, True),
        ({"status": {"state": "failed"}, "task_state": "Running"}, 1, True),
        # the runner died without a final status: over at once
        ({"status": {"state": "running"}, "task_state": "Ready", "runner_alive": False}, 1, True),
        # a task that has not started yet (no status.json) gets three reads
        ({"status": None, "task_state": "Ready", "runner_alive": False}, 2, False),
        ({"status": None, "task_state": "Ready", "runner_alive": False}, 3, True),
        ({"status": None, "task_state": "Queued", "runner_alive": False}, 9, False),
    ],
)
def test_job_over_reads_the_status_the_task_and_the_runner(answer, reads, over):
    assert job_over(answer, reads) is over


def test_poll_job_retries_a_lost_connection_and_says_so():
    clock = FakeClock(start=0.0)
    warnings = []
    done = {"status": {"state": "finished"}, "task_state": "Ready"}
    got = poll_job(
        reader([RUNNING, Unreachable("gone"), done]),
        interval=10,
        deadline=100,
        warn=warnings.append,
        retryable=(Unreachable, Lost),
        what="the restore job",
        clock=clock,
        sleep=clock.sleep,
    )
    assert got == done
    assert warnings == ["status poll failed, retrying (the restore job goes on on the host): gone"]


def test_poll_job_does_not_retry_an_error_that_is_not_a_lost_connection():
    clock = FakeClock(start=0.0)
    with pytest.raises(Lost):
        poll_job(
            reader([RUNNING, Lost("script failed")]),
            interval=10,
            deadline=100,
            warn=lambda _text: None,
            retryable=(Unreachable, Lost),
            clock=clock,
            sleep=clock.sleep,
        )
