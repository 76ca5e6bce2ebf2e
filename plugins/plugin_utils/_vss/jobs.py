# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""The backup jobs on a host as preflight reports them: which one runs, whose lock is dead, what dead jobs left.

Everything here reads the preflight answer (``jobs``, ``lock``, ``shadows``, the host's ``now``) and decides;
nothing talks to the host. ``now`` is the controller's clock, passed in by the action.
"""

from __future__ import annotations

import datetime
import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.diskshadow import normalize_guid, parse_output
from ansible_collections.vaware.hyperv.plugins.plugin_utils._winpath import is_under, parse_time

JOB_ID_RE = re.compile(r"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$")
# A lock this young belongs to a start still in progress (the start payload takes the lock before it
# writes the job folder and registers the task): never taken for a dead job's.
LOCK_GRACE_SECONDS = 600
# Phases of the runner (status.json): the copy is over once it waits for the verdict or is done.
COPY_OVER_PHASES = ("awaiting_verdict", "done")
# Short of space with expire_before_copy_when_short: the runner waits for the controller to name what to expire.
SPACE_PHASE = "awaiting_space_verdict"
SPACE_PHASES = ("destination", SPACE_PHASE, "making_space")


def exposed_at(shadow: Mapping[str, Any]) -> List[str]:
    """Where a shadow copy (as Get-ShadowCopyList lists it) is exposed, if anywhere.

    ``Win32_ShadowCopy.ExposedName`` names the drive letter or mount folder of a locally exposed shadow
    (which is what our jobs do). The class has no ``ExposedPath`` property (that is VSS_SNAPSHOT_PROP),
    so nothing else is read. An empty value is left out.
    """
    return [str(shadow["exposed_name"])] if shadow.get("exposed_name") else []


def exposed_under(shadow: Mapping[str, Any], folders: List[str]) -> bool:
    """True when the shadow is exposed on one of ``folders`` or inside one of them."""
    return any(is_under(place, folder) for place in exposed_at(shadow) for folder in folders if folder)


def find_job(pre: Mapping[str, Any], job_id: str) -> Optional[Dict[str, Any]]:
    for job in pre.get("jobs") or []:
        if str(job.get("job_id")) == job_id:
            return dict(job)
    return None


def job_alive(job: Mapping[str, Any]) -> bool:
    """A job runs while its runner process lives or its scheduled task is running or queued."""
    return bool(job.get("runner_alive")) or job.get("task_state") in ("Running", "Queued")


def running_job(pre: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    for job in pre.get("jobs") or []:
        if job_alive(job):
            return dict(job)
    return None


def lock_age(pre: Mapping[str, Any], now: datetime.datetime) -> Optional[float]:
    """Seconds since the lock was taken: the lock file's write time against the host's clock (both
    from preflight), else the lock's ``started_at`` against ``now`` (the controller's clock); None if unknown."""
    lock = pre.get("lock")
    if not isinstance(lock, Mapping):
        return None
    host_now, taken = parse_time(pre.get("now")), parse_time(pre.get("lock_written_at"))
    if host_now is None or taken is None:
        host_now, taken = now, parse_time(lock.get("started_at"))
    if taken is None:
        return None
    return (host_now - taken).total_seconds()


def young_lock(pre: Mapping[str, Any], now: datetime.datetime) -> Optional[Tuple[str, float]]:
    """(job id, age in seconds) of a lock taken less than LOCK_GRACE_SECONDS ago whose job is not seen
    running yet: its start may still be writing the job folder or starting the task."""
    lock = pre.get("lock")
    if not isinstance(lock, Mapping) or not lock.get("job_id"):
        return None
    job = find_job(pre, str(lock["job_id"]))
    if job is not None and job_alive(job):
        return None
    age = lock_age(pre, now)
    if age is None or not -LOCK_GRACE_SECONDS < age < LOCK_GRACE_SECONDS:
        return None
    return str(lock["job_id"]), age


def dead_lock(pre: Mapping[str, Any], now: datetime.datetime) -> Optional[str]:
    """The job id named by a lock whose job is not running (crashed runner, reboot) and that is older
    than LOCK_GRACE_SECONDS (a younger one may belong to a start still in progress)."""
    lock = pre.get("lock")
    if not lock:
        return None
    if not isinstance(lock, Mapping) or not lock.get("job_id"):
        return "unknown"
    job = find_job(pre, str(lock["job_id"]))
    if job is not None and job_alive(job):
        return None
    if young_lock(pre, now) is not None:
        return None
    return str(lock["job_id"])


def stale(pre: Mapping[str, Any], jobs_root: str) -> Dict[str, Any]:
    """What jobs of ours that are not running left behind.

    ``shadows``: shadow copies whose set id such a job recorded or printed (status, transcript), or that
    are exposed on a folder of such a job; ``mount_folders``: their mount folders; ``jobs``: jobs whose
    scheduled task is still registered (never collected: the controller gave up or died), to remove.
    """
    set_ids = set()
    shadow_ids = set()
    folders = []
    abandoned = []
    alive_dirs = []
    for job in pre.get("jobs") or []:
        if job_alive(job):
            alive_dirs.append(jobs_root + "\\" + str(job.get("job_id")))
            continue
        status = job.get("status") or {}
        for set_id in status.get("shadow_set_ids") or []:
            set_ids.add(normalize_guid(str(set_id)))
        transcript = job.get("transcript")
        if transcript:
            parsed = parse_output(str(transcript))
            if parsed.get("shadow_set_id"):
                set_ids.add(parsed["shadow_set_id"])
            shadow_ids.update(s["id"] for s in parsed.get("shadows") or [])
        for folder in job.get("mount_folders") or []:
            folders.append(str(folder.get("path")))
        if job.get("task_state") and JOB_ID_RE.match(str(job.get("job_id"))):
            abandoned.append(str(job["job_id"]))
    stale_shadows = []
    for shadow in pre.get("shadows") or []:
        sid = normalize_guid(str(shadow.get("id") or ""))
        set_id = normalize_guid(str(shadow.get("set_id") or ""))
        if exposed_under(shadow, alive_dirs):
            continue
        if sid in shadow_ids or set_id in set_ids or exposed_under(shadow, [jobs_root]):
            places = exposed_at(shadow)
            stale_shadows.append(
                {
                    "id": sid,
                    "set_id": set_id,
                    "volume": shadow.get("volume_name"),
                    "exposed_path": places[0] if places else None,
                }
            )
    return {"shadows": stale_shadows, "mount_folders": folders, "jobs": abandoned}


def polled_task_result(poll: Mapping[str, Any]) -> Optional[int]:
    """The scheduled task's last result code from a poll (e.g. 0x1 when powershell.exe failed), or None."""
    value = poll.get("task_last_result") if poll else None
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value
