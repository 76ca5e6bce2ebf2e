# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""What the Windows action plugins share when they run a task as a series of steps.

* :class:`StepFailed`: a step failed; it names the step and carries the result gathered so far, which the
  action returns with ``failed: true`` (one exception type for every action);
* :func:`poll_until`: read something on the host until it says the work is finished, within a deadline,
  retrying failed reads as the caller decides (every polling loop of the collection is this one).
"""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, Mapping, Optional, TypeVar

T = TypeVar("T")


class StepFailed(Exception):
    """A step failed: ``step`` names it, ``message`` says what happened (with the VM, path or tool line),
    ``partial`` is the result gathered before it (returned to the user with the failure)."""

    def __init__(self, step: str, message: str, **partial: Any) -> None:
        super().__init__(f"{step}: {message}")
        self.step = step
        self.message = message
        self.partial: Dict[str, Any] = partial


class PollTimeout(Exception):
    """The deadline passed before the work finished; ``last`` is the last answer read (None: none was),
    ``error`` the last read error when the reads were failing at the end."""

    def __init__(self, last: Any, error: Optional[BaseException]) -> None:
        super().__init__("deadline passed")
        self.last = last
        self.error = error


def poll_until(
    read: Callable[[], T],
    finished: Callable[[T], bool],
    *,
    interval: float,
    deadline: float,
    retry: Callable[[Exception, int], bool] = lambda error, failures: False,
    retryable: tuple = (Exception,),
    backoff: float = 1.0,
    max_delay: float = 300.0,
    first: Optional[T] = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``read()`` until ``finished(answer)`` is true and return that answer.

    * Reads are ``interval`` seconds apart; none is started after ``deadline`` (a ``clock()`` value), and
      then :class:`PollTimeout` is raised with the last answer.
    * ``first``, when given, is an answer already read (e.g. what the start of the work returned): it is
      checked before the first read.
    * A read raising one of ``retryable`` is retried only when ``retry(error, failures_in_a_row)`` says so
      (it may also do what a retry needs, such as resetting the connection); otherwise the error propagates.
      Retries wait ``interval * backoff ** (failures - 1)`` seconds, at most ``max_delay``.
    """
    last: Optional[T] = first
    if first is not None and finished(first):
        return first
    failures = 0
    error: Optional[Exception] = None
    pending_delay = 0.0 if first is None else interval
    while True:
        if pending_delay:
            remaining = deadline - clock()
            if remaining <= 0:
                raise PollTimeout(last, error)
            sleep(max(min(pending_delay, remaining), 0))
        try:
            answer = read()
        except retryable as exc:
            failures += 1
            if not retry(exc, failures):
                raise
            error = exc
            if deadline - clock() <= 0:
                raise PollTimeout(last, error) from None
            pending_delay = min(interval * (backoff ** (failures - 1)), max_delay)
            continue
        failures = 0
        error = None
        last = answer
        if finished(answer):
            return answer
        if deadline - clock() <= 0:
            raise PollTimeout(last, None)
        pending_delay = interval


def job_over(answer: Any, reads: int) -> bool:
    """Whether a detached job's status answer (``win_vm_file_restore_status``) shows the job over.

    Over: its ``status.json`` says finished or failed, or its task no longer runs and its runner process is
    gone (a task that never started is given ``reads >= 3`` reads before it counts as gone).
    """
    status = answer.get("status") if isinstance(answer.get("status"), Mapping) else None
    if status and status.get("state") in ("finished", "failed"):
        return True
    task_running = answer.get("task_state") in ("Running", "Queued")
    return not task_running and not answer.get("runner_alive") and (status is not None or reads >= 3)


def poll_job(
    read: Callable[[], Any],
    *,
    interval: float,
    deadline: float,
    warn: Callable[[str], None],
    retryable: tuple,
    what: str = "the job",
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """Poll a detached job's status with ``read()`` until :func:`job_over`; a lost connection is retried.

    A read raising one of ``retryable`` with ``unreachable`` set is retried (``warn`` says so: the job goes on on
    the host); any other error propagates. Raises :class:`PollTimeout` at ``deadline``.
    """
    reads = []

    def counted() -> Any:
        answer = read()
        reads.append(answer)
        return answer

    def retry(err: Exception, _failures: int) -> bool:
        if not getattr(err, "unreachable", False):
            return False
        warn(f"status poll failed, retrying ({what} goes on on the host): {err}")
        return True

    return poll_until(
        counted,
        lambda answer: job_over(answer, len(reads)),
        interval=interval,
        deadline=deadline,
        retry=retry,
        retryable=retryable,
        clock=clock,
        sleep=sleep,
    )
