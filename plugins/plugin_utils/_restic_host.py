# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""restic on a Windows host for the restore actions (win_vm_restore, win_vm_restore_info).

* :func:`read` runs one read-only restic command (``snapshots``, ``ls``) through ``win_restic_read`` and
  returns what restic printed, or raises :class:`StepFailed` saying what went wrong and what to do;
* :func:`restore` runs ``restic restore <snapshot> --target <folder>`` as a detached job on the host
  (``win_vm_restore_restic_start`` / ``_runner``; polled with ``win_vm_file_restore_status`` and removed
  with ``win_vm_file_restore_cleanup``, whose job folders it shares), so a dropped connection loses nothing.

The password and restic's environment reach the payloads only as sensitive parameters (:func:`_secrets`);
the command lines are built by ``_restic.command`` and quoted by ``_restic.job.windows_command_line``.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.vaware.hyperv.plugins.plugin_utils._payload import PayloadError, load_payload, run_payload
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic import command
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic.job import (
    PASSWORD_FILE,
    display_location,
    failure_text,
    restic_secrets,
    windows_command_line,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic.messages import (
    classify_failure,
    parse_restore,
    parse_snapshots,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic.options import TAG
from ansible_collections.vaware.hyperv.plugins.plugin_utils._steps import (
    PollTimeout,
    StepFailed,
    job_over,
    poll_job,
)

__all__ = ["list_snapshots", "read", "restore", "restore_outcome"]

READ_PAYLOAD = "win_restic_read"
RUNNER = "win_vm_restore_restic_runner"


def _secrets(repository: Mapping[str, Any]) -> Dict[str, str]:
    # the payloads set RESTIC_PASSWORD_FILE to the file they write; the name given here is a placeholder
    return restic_secrets(repository, PASSWORD_FILE)


def read(
    action: Any,
    task_vars: Any,
    repository: Mapping[str, Any],
    args: Optional[Sequence[str]],
    step: str,
    list_vms: bool = False,
) -> Mapping[str, Any]:
    """The ``win_restic_read`` answer for restic ``args`` (None: only the host's VMs and computer name).

    :raises StepFailed: restic failed (wrong password, no repository, locked, ...) or the payload did.
    """
    parameters: Dict[str, Any] = {"ResticPath": repository["restic_path"], "ListVms": list_vms}
    secrets = None
    if args:
        parameters["CommandLine"] = windows_command_line(args)
        secrets = _secrets(repository)
    answer = run_payload(action, READ_PAYLOAD, parameters, task_vars, sensitive_parameters=secrets, step=step)
    if not isinstance(answer, Mapping):
        raise StepFailed(step, f"{step}: payload {READ_PAYLOAD} returned {str(answer)[:200]!r}, expected an object")
    if args:
        problem = classify_failure(answer.get("exit_code"), answer.get("stderr"), answer.get("stdout"))
        if problem is not None:
            raise StepFailed(step, f"restic {args[_verb(args)]}: {failure_text(problem, _location(repository))}")
    return answer


def list_snapshots(
    action: Any, task_vars: Any, repository: Mapping[str, Any], backup_host: Optional[str], step: str
) -> Tuple[Mapping[str, Any], str, List[Dict[str, Any]]]:
    """``(here, host, snapshots)``: the host's own answer (computer name, VMs, Hyper-V, restic found), the host the
    snapshots are of (``backup_host`` or the computer name) and its snapshots made by this collection (parsed).

    :raises StepFailed: restic is missing on the host, or restic failed.
    """
    here = read(action, task_vars, repository, None, step, list_vms=True)
    if not here.get("restic_found"):
        raise StepFailed(
            step,
            f"restic was not found at {repository['restic_path']} on the host (repository.restic_path); "
            "install it there (the hyperv_backup role can deploy it) or set restic_path",
        )
    host = backup_host or str(here.get("computer_name") or "")
    listed = read(action, task_vars, repository, command.snapshots_args(repository, host=host, tags=[TAG]), step)
    try:
        snapshots = parse_snapshots(listed.get("stdout"))
    except ValueError as err:
        raise StepFailed(step, f"restic snapshots: {err}") from None
    return here, host, snapshots


def _verb(args: Sequence[str]) -> int:
    """Index of restic's command in ``args`` (after the ``-o key=value`` options)."""
    index = 0
    while index < len(args) and args[index] == "-o":
        index += 2
    return min(index, len(args) - 1)


def _location(repository: Mapping[str, Any]) -> str:
    return display_location(repository["location"])


def restore(
    action: Any,
    task_vars: Any,
    repository: Mapping[str, Any],
    snapshot_id: str,
    target: str,
    job_id: str,
    *,
    run_as: Optional[str],
    run_as_password: Optional[str],
    timeout: int,
    interval: float,
    warn: Callable[[str], None],
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> Dict[str, Any]:
    """Restore ``snapshot_id`` into ``target`` with a detached job ``job_id``; returns :func:`restore_outcome`.

    A job of an earlier run with the same id (same host, snapshot and target) that still runs is followed
    instead of starting a second restore into the same folder; one that is over is removed first.
    """
    step = "restic restore"

    def status() -> Mapping[str, Any]:
        answer = run_payload(action, "win_vm_file_restore_status", {"JobId": job_id}, task_vars, step=step)
        if not isinstance(answer, Mapping):
            raise StepFailed(step, f"{step}: the status payload returned {str(answer)[:200]!r}")
        return answer

    def cleanup() -> Mapping[str, Any]:
        return run_payload(action, "win_vm_file_restore_cleanup", {"JobId": job_id}, task_vars, step=step)

    earlier = status()
    if earlier.get("job_dir_exists") and not job_over(earlier, 3):
        warn(f"a restic restore job ({job_id}) of an earlier run into {target} still runs: following it")
    else:
        if earlier.get("job_dir_exists"):
            cleanup()
        args = command.restore_args(repository, snapshot_id, target)
        parameters: Dict[str, Any] = {
            "JobId": job_id,
            "Runner": load_payload(RUNNER),
            "ResticPath": repository["restic_path"],
            "CommandLine": windows_command_line(args),
            "Target": target,
            "ExecutionTimeLimitSeconds": timeout,
        }
        secrets: Dict[str, Any] = _secrets(repository)
        if run_as:
            parameters["RunAs"] = run_as
            secrets["RunAsPassword"] = run_as_password
        run_payload(
            action, "win_vm_restore_restic_start", parameters, task_vars, sensitive_parameters=secrets, step=step
        )
    started = clock()
    last: Mapping[str, Any] = {}
    try:
        last = poll_job(
            status,
            interval=interval,
            deadline=started + timeout,
            warn=warn,
            retryable=(PayloadError,),
            what="the restic restore job",
            clock=clock,
            sleep=sleep,
        )
    except PollTimeout as timeout_error:
        raise StepFailed(
            step,
            f"the restic restore job {job_id} did not finish within restore_timeout ({timeout} s); Windows stops "
            f"its task at that limit. The partly restored files stay in {target}: run again to restore anew",
        ) from timeout_error
    finally:
        try:
            cleanup()
        except (PayloadError, StepFailed) as err:
            warn(
                f"the restic restore job {job_id} could not be cleaned up ({err}); its task "
                f"\\vaware.hyperv\\file-restore-{job_id} and folder stay on the host"
            )
    return restore_outcome(last, job_id, _location(repository))


def restore_outcome(answer: Mapping[str, Any], job_id: str, location: str) -> Dict[str, Any]:
    """What the restore job's last status says: ``{"ok", "error", "summary", "errors"}``.

    ``ok`` only when the runner recorded restic's exit code 0 and restic reported no file it could not restore.
    """
    recorded = answer.get("status") if isinstance(answer.get("status"), Mapping) else None
    state = recorded.get("state") if recorded else None
    result = recorded.get("result") if recorded and isinstance(recorded.get("result"), Mapping) else None
    if state == "failed":
        return _failed(f"the restic restore job {job_id} failed: {recorded.get('error') or 'no reason recorded'}")
    if state != "finished" or result is None:
        last = answer.get("task_last_result")
        return _failed(
            f"the restic restore job {job_id} stopped before it finished (its runner is gone"
            + (f", task result {last}" if last not in (None, "") else "")
            + ")"
        )
    parsed = parse_restore(result.get("stdout"), result.get("stderr"), result.get("exit_code"))
    if not parsed["ok"]:
        return dict(_failed(f"restic restore: {failure_text(parsed['failure'], location)}"), errors=parsed["errors"])
    return {"ok": True, "error": None, "summary": parsed["summary"], "errors": []}


def _failed(message: str) -> Dict[str, Any]:
    errors: List[Any] = []
    return {"ok": False, "error": message, "summary": None, "errors": errors}
