"""Per-host results as the hyperv_backup role records them, for report tests of any fleet size.

``backup`` holds what win_vss_backup returns (its RETURN documentation): complete, failed in preflight
(no VMs), or failed with partial results (one VM failed). VM names include the awkward ones users have:
markup, quotes, shell metacharacters, non-ASCII.
"""

from __future__ import annotations

import datetime
from typing import Any, Dict, List, Optional

from ansible_collections.vaware.hyperv.plugins.plugin_utils._proofs import (
    merge_proofs,
    proven_restore,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._report import build_report
from ansible_collections.vaware.hyperv.plugins.plugin_utils._report_history import history_update

GIB = 1024**3
TIB = 1024**4
DESTINATION_TOTAL = 8 * TIB
AWKWARD_NAMES = ["<script>alert(1)</script>", "x'; Remove-Item C:\\ -Recurse; '", "Büro-Server ünd Co", 'a & b "q"']
START = datetime.datetime(2026, 11, 25, 1, 0, 0, tzinfo=datetime.timezone.utc)


def _stamp(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def host_result(index: int, name: str, night: int = 0) -> Dict[str, Any]:
    """Host ``index`` of a fleet: every 17th fails in preflight, every 11th loses one VM, the rest succeed.

    ``night``: nights before START (the history); each night the destination had 40 GiB more free space, and each VM
    one restore point less (7 kept at most)."""
    started = START - datetime.timedelta(days=night) + datetime.timedelta(seconds=index * 7)
    generation = started.replace(second=0).strftime("%Y%m%dT%H0000Z")
    vm_count = 1 + index % 6
    vms: List[Dict[str, Any]] = []
    for v in range(vm_count):
        vm_name = AWKWARD_NAMES[v] if index == 3 and v < len(AWKWARD_NAMES) else f"vm{index:03d}-{v}"
        size = (v + 1) * (index % 9 + 1) * GIB
        seconds = round(size / 350_000_000, 1)
        vms.append(
            {
                "name": vm_name,
                "status": "complete",
                "bytes": size,
                "files": 3 + v,
                "seconds": seconds,
                "mb_per_s": round(size / 1e6 / seconds, 1),
                "errors": [],
            }
        )
    backup: Dict[str, Any] = {
        "changed": True,
        "job_id": f"{generation}-{index:08x}",
        "generation": generation,
        "generation_status": "complete",
        "destination_path": f"\\\\nas01\\hyperv\\{name.upper()}\\{generation}",
        "manifest_path": f"\\\\nas01\\hyperv\\{name.upper()}\\{generation}\\manifest.json",
        "vms": vms,
        "shadows_created": ["1a1a1a1a-0000-4000-8000-000000000001"],
        "shadows_deleted": ["1a1a1a1a-0000-4000-8000-000000000001"],
        "expired": ["20261118T010000Z"] if index % 3 == 0 else [],
        "writer": {"outcome": "included", "required": True, "state": 1},
        "warnings": ["VM state changed during the backup"] if index % 13 == 0 else [],
        "remote_calls": 9,
        # as win_vss_backup returns them: the destination before the copy, and the generations kept per VM
        "destination_free_bytes": 3 * TIB + night * 40 * GIB - (index % 4) * 100 * GIB,
        "destination_total_bytes": DESTINATION_TOTAL,
        "restore_points": [
            {"name": vm["name"], "count": max(1, 7 - night), "oldest": _oldest(started, min(6, 6 - night))}
            for vm in vms
        ],
    }
    result = {
        "host": name,
        "status": "ok",
        "msg": None,
        "failed_task": None,
        "check_mode": False,
        "started": _stamp(started),
        "finished": _stamp(started + datetime.timedelta(seconds=sum(vm["seconds"] for vm in vms) + 30)),
        "volumes": [],
        "backup": backup,
    }
    if index % 17 == 5:
        msg = "preflight: destination too small: \\\\nas01\\hyperv has 10.0 GiB free, the backup needs 60.0 GiB"
        result.update(status="failed", msg=msg, failed_task="Run the VSS backup")
        result["backup"] = {"failed": True, "msg": msg, "step": "preflight", "vms": [], "expired": []}
    elif index % 11 == 4:
        failed = vms[-1]
        failed.update(status="failed", errors=["step s004: robocopy failed (exit codes 8)"])
        msg = f"copy: VM {failed['name']}: robocopy exit code 8 (some files or directories could not be copied)"
        result.update(status="failed", msg=msg, failed_task="Run the VSS backup")
        backup.update(failed=True, msg=msg, step="copy", generation_status="partial", expired=[])
        for point in backup["restore_points"]:  # a partial generation is no restore point
            point["count"] -= 1 if point["count"] > 1 else 0
    return result


def _oldest(started: datetime.datetime, days_back: int) -> str:
    return (started - datetime.timedelta(days=max(days_back, 0))).strftime("%Y%m%dT%H0000Z")


def fleet(count: int, night: int = 0) -> Dict[str, Dict[str, Any]]:
    names = [f"hv{i:03d}" for i in range(1, count + 1)]
    return {name: host_result(i, name, night) for i, name in enumerate(names, start=1)}


def history_index(count: int, nights: int, keep: int = 30) -> Optional[Dict[str, Any]]:
    """``history/index.json`` after ``nights`` earlier nightly runs of the same fleet (oldest first), built with the
    role's own report and history code; None for no nights."""
    index = None
    for night in range(nights, 0, -1):
        results = list(fleet(count, night).values())
        moment = START - datetime.timedelta(days=night) + datetime.timedelta(hours=5)
        report = build_report(results, generated_at=_stamp(moment), history=index, history_keep=keep)
        index = history_update(report, index, keep)["index"]
    return index


def restore_proofs(*tests: tuple, now: Optional[datetime.datetime] = None) -> Dict[str, Any]:
    """``restore-proofs.json`` as playbooks/test_restore.yml leaves it, built with the role's own merge.

    Each test is ``(host, vm, days_ago, passed)``; a passed one restored generation 20261120T020000Z and saw
    the heartbeat after 48 s.
    """
    now = now or datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    records = []
    for host, vm, days_ago, passed in tests:
        outcome = {"outcome": "passed" if passed else "failed", "check": "heartbeat"}
        outcome.update({"seconds_to_heartbeat": 48.0} if passed else {"reason": "no heartbeat within 600 s"})
        when = now - datetime.timedelta(days=days_ago)
        records.append(proven_restore(host, vm, "20261120T020000Z", outcome, when, backup_host=host.upper()))
    return merge_proofs(None, records, now=now)
