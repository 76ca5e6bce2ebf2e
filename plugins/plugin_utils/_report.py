# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""The fleet backup report: per-host results of the role ``vaware.hyperv.hyperv_backup`` in, one report out.

:func:`build_report` shapes the results (plain Python, unit-tested); the filter
``vaware.hyperv.backup_report`` adapts Ansible's values to it. The report's shape is
``docs/backup-report.schema.json``; the role writes it as ``backup-report.json`` and renders
``backup-report.html`` from it. Bad input is a :class:`ReportInputError` naming the value.
"""

from __future__ import annotations

import datetime
import json
import math
import re
from typing import Any, Dict, List, Mapping, Optional, Sequence

from ansible_collections.vaware.hyperv.plugins.plugin_utils._proofs import (
    last_proven_restore,
    load_proofs,
    restore_proof_entry,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._report_history import (
    DEFAULT_KEEP_RUNS,
    HistoryError,
    destination_outlook,
    keep_runs,
    read_index,
    run_id_for,
    trend,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restore.options import RestoreError

__all__ = ["DEFAULT_KEEP_RUNS", "DEFAULT_RESTORE_MAX_AGE_DAYS", "ReportInputError", "build_report", "unreachable_line"]

REPORT_FORMAT = 1
DEFAULT_TITLE = "Hyper-V backup report"
DEFAULT_RESTORE_MAX_AGE_DAYS = 30
NO_RESULT_MSG = (
    "no result recorded for this host: it was unreachable, or its play stopped before the "
    "hyperv_backup role could record what happened"
)
_OK_WORDS = {"ok", "success", "succeeded", "successful", "copied", "completed", "complete", "done", "verified"}
_FAILED_WORDS = {"failed", "failure", "error", "errors", "aborted", "cancelled", "canceled"}
_HOST_STATUS_RANK = {"failed": 0, "warning": 1, "ok": 2}


_UNREACHABLE_RE = re.compile(r"^(?P<step>.*?)host unreachable while running payload \S+: (?P<raw>.+)$", re.DOTALL)
_ENDPOINT_RE = re.compile(r"host='(?P<host>[^']+)', port=(?P<port>\d+)")
_OBJECT_REPR_RE = re.compile(r"<[\w.]+ object at 0x[0-9a-fA-F]+>,?\s*")


def unreachable_line(msg: Optional[str]) -> Optional[str]:
    """A connection error as one clear line: ``read volumes: host unreachable (hv05:5986): Connection to hv05 timed
    out. (connect timeout=30)`` instead of the client library's nested exception text. Other messages unchanged."""
    match = _UNREACHABLE_RE.match(msg or "")
    if not match:
        return msg
    raw = _OBJECT_REPR_RE.sub("", match["raw"])
    endpoint = _ENDPOINT_RE.search(raw)
    # the innermost reason: the last quoted sentence of a "(Caused by ...)" chain, else what follows the endpoint
    caused = re.findall(r"'([^']{6,})'", raw.split("(Caused by", 1)[1]) if "(Caused by" in raw else []
    if caused:
        reason = caused[-1]
    else:
        reason = raw.split(" (Caused by", 1)[0]
        reason = reason[endpoint.end() :].lstrip("): ") if endpoint else reason
    reason = " ".join(reason.split()) or "no reason given"
    where = f" ({endpoint['host']}:{endpoint['port']})" if endpoint else ""
    return f"{match['step']}host unreachable{where}: {reason}"[:400]


class ReportInputError(ValueError):
    """The per-host results are not in the shape the role records."""


def _text(value: Any) -> Optional[str]:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _number(value: Any, what: str) -> Optional[float]:
    """A non-negative number from an int, float or numeric string; ``None`` stays ``None``."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ReportInputError(f"{what}: expected a number, got the boolean {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ReportInputError(f"{what}: expected a number, got {value!r}") from None
    if math.isnan(number) or number < 0:
        raise ReportInputError(f"{what}: expected a number >= 0, got {value!r}")
    return number


def _int(value: Any, what: str) -> Optional[int]:
    number = _number(value, what)
    return None if number is None else int(number)


def _text_list(value: Any) -> List[str]:
    """Warnings/errors as a list of strings (a single string or mapping is accepted too)."""
    if value is None or value == "":
        return []
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        value = [value]
    out = []
    for item in value:
        if isinstance(item, Mapping):
            item = item.get("msg") or item.get("message") or item.get("text") or str(dict(item))
        text = _text(item)
        if text:
            out.append(text)
    return out


def _timestamp(value: Any, what: str) -> Optional[datetime.datetime]:
    text = _text(value)
    if text is None:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ReportInputError(f"{what}: expected an ISO 8601 timestamp, got {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed


def _iso(moment: Optional[datetime.datetime]) -> Optional[str]:
    if moment is None:
        return None
    return moment.astimezone(datetime.timezone.utc).isoformat().replace("+00:00", "Z")


def _throughput(bytes_: Optional[int], seconds: Optional[float], reported: Any, what: str) -> Optional[float]:
    """MB/s (10^6 bytes per second) from bytes and seconds; the module's own figure when those are unknown."""
    if bytes_ is not None and seconds:
        return round(bytes_ / 1_000_000 / seconds, 2)
    reported = _number(reported, what)
    return None if reported is None else round(reported, 2)


def vm_status(value: Any) -> str:
    """``ok``, ``failed`` or the module's own word (lower case) for anything else (``skipped``, ...)."""
    text = (_text(value) or "unknown").lower()
    if text in _OK_WORDS:
        return "ok"
    if text in _FAILED_WORDS:
        return "failed"
    return text


def _vm_rank(vm: Mapping[str, Any]) -> int:
    return 0 if vm["status"] == "failed" else (2 if vm["status"] == "ok" else 1)


def _shape_vm(raw: Any, host: str, index: int, generation: Optional[str]) -> Dict[str, Any]:
    where = f"host {host!r}, backup.vms[{index}]"
    if not isinstance(raw, Mapping):
        raise ReportInputError(f"{where}: expected a mapping with name and status, got {type(raw).__name__}")
    name = _text(raw.get("name"))
    if name is None:
        raise ReportInputError(f"{where}: the VM has no name")
    bytes_ = _int(raw.get("bytes"), f"{where} ({name}).bytes")
    seconds = _number(raw.get("seconds"), f"{where} ({name}).seconds")
    errors = _text_list(raw.get("errors")) + _text_list(raw.get("error"))
    status = vm_status(raw.get("status"))
    if raw.get("msg") and status == "failed":
        errors.append(str(raw["msg"]).strip())
    if status == "failed" and not errors:
        errors.append("failed (the module gave no reason)")
    shaped = {
        "name": name,
        "status": status,
        "bytes": bytes_,
        "files": _int(raw.get("files"), f"{where} ({name}).files"),
        "seconds": None if seconds is None else round(seconds, 1),
        "mb_per_s": _throughput(bytes_, seconds, raw.get("mb_per_s"), f"{where} ({name}).mb_per_s"),
        "generation": _text(raw.get("generation")) or generation,
        "warnings": _text_list(raw.get("warnings")),
        "errors": list(dict.fromkeys(errors)),
        "last_proven_restore": None,
        "last_restore_test": None,
        "restore_points": None,
        "oldest_restore_point": None,
    }
    if "bytes_added" in raw:  # a restic snapshot: what it added to the repository (bytes = what restic read)
        shaped["bytes_added"] = _int(raw.get("bytes_added"), f"{where} ({name}).bytes_added")
        shaped["snapshot_id"] = _text(raw.get("snapshot_id"))
    return shaped


def _restore_points(value: Any, host: str) -> Optional[Dict[str, Dict[str, Any]]]:
    """win_vss_backup's ``restore_points`` by VM name (case-insensitive); None when the backup did not list them."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise ReportInputError(f"host {host!r}: backup.restore_points must be a list, got {type(value).__name__}")
    points = {}
    for index, item in enumerate(value):
        where = f"host {host!r}, backup.restore_points[{index}]"
        if not isinstance(item, Mapping) or not _text(item.get("name")):
            raise ReportInputError(f"{where}: expected a mapping with name, count and oldest, got {item!r}"[:300])
        points[_text(item["name"]).casefold()] = {
            "count": _int(item.get("count"), f"{where}.count"),
            "oldest": _text(item.get("oldest")),
        }
    return points


def _planned_vms(plan: Mapping[str, Any]) -> List[Dict[str, Any]]:
    """VMs of a plan (check mode) as VM results with status ``planned`` and the size the plan knows."""
    planned = []
    for vm in plan.get("vms") or []:
        if not isinstance(vm, Mapping):
            continue
        sizes = [f.get("size") if isinstance(f, Mapping) else None for f in vm.get("files") or []]
        known = all(isinstance(size, int) for size in sizes)
        planned.append(
            {
                "name": vm.get("name"),
                "status": "planned",
                "bytes": sum(sizes) if sizes and known else None,
                "files": len(sizes),
                "seconds": None,
            }
        )
    return planned


def _sum(values: List[Optional[float]]) -> Optional[float]:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _expired(value: Any) -> List[str]:
    """Expired generations as names (the module may give names or mappings with ``name``/``generation``)."""
    names = []
    for item in value or []:
        if isinstance(item, Mapping):
            item = item.get("generation") or item.get("name") or item.get("path")
        text = _text(item)
        if text:
            names.append(text)
    return names


def _writer(value: Any) -> Optional[str]:
    if value is None or isinstance(value, str):
        return _text(value)
    if isinstance(value, Mapping):
        for key in ("outcome", "status", "state"):
            if value.get(key) is not None:
                return str(value[key])
    return str(value)


_WRITER_PROBLEM_KEYS = (
    "name",
    "id",
    "state",
    "state_name",
    "last_error",
    "problem",
    "service",
    "service_display_name",
    "remedy",
    "found_by",
)


def _writer_problems(value: Any, host: str) -> List[Dict[str, Any]]:
    """win_vss_backup's ``writer_problems`` (writer, state, hosting service, remedy) as the report keeps them."""
    if value is None or value == "":
        return []
    if not isinstance(value, list):
        raise ReportInputError(
            f"host {host!r}: backup.writer_problems must be a list of writer problems, got {type(value).__name__}"
        )
    shaped = []
    for index, item in enumerate(value):
        where = f"host {host!r}, backup.writer_problems[{index}]"
        if not isinstance(item, Mapping) or _text(item.get("name")) is None:
            raise ReportInputError(f"{where}: expected a mapping with the writer's name and remedy, got {item!r}"[:300])
        problem = {key: _text(item.get(key)) for key in _WRITER_PROBLEM_KEYS}
        problem["state"] = _int(item.get("state"), f"{where}.state")
        problem["remedy"] = problem["remedy"] or "no remedy recorded"
        shaped.append(problem)
    return shaped


def _shape_host(raw: Any, index: int) -> Dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise ReportInputError(
            f"result #{index}: expected a mapping with 'host' and 'status' (hyperv_backup_host_result), "
            f"got {type(raw).__name__}: {raw!r}"[:300]
        )
    name = _text(raw.get("host"))
    if name is None:
        raise ReportInputError(f"result #{index}: 'host' is missing; expected the inventory name of the host")
    recorded = _text(raw.get("status"))
    if recorded not in ("ok", "failed"):
        raise ReportInputError(f"host {name!r}: status {raw.get('status')!r} is not one of 'ok', 'failed'")
    backup = raw.get("backup") or {}
    if not isinstance(backup, Mapping):
        raise ReportInputError(f"host {name!r}: 'backup' must be the registered win_vss_backup result, a mapping")
    generation = _text(backup.get("generation"))
    raw_vms = backup.get("vms") or []
    if not isinstance(raw_vms, list):
        raise ReportInputError(f"host {name!r}: backup.vms must be a list, got {type(raw_vms).__name__}")
    if not raw_vms and isinstance(backup.get("plan"), Mapping):
        raw_vms = _planned_vms(backup["plan"])  # check mode: the module returns the plan, no VM results
    vms = [_shape_vm(vm, name, i, generation) for i, vm in enumerate(raw_vms)]
    vms.sort(key=lambda vm: (_vm_rank(vm), vm["name"].lower()))
    points = _restore_points(backup.get("restore_points"), name)
    for vm in vms:
        found = (points or {}).get(vm["name"].casefold())
        if points is not None:
            vm["restore_points"] = found["count"] if found else 0
            vm["oldest_restore_point"] = found["oldest"] if found else None

    started = _timestamp(raw.get("started"), f"host {name!r}: started")
    finished = _timestamp(raw.get("finished"), f"host {name!r}: finished")
    seconds = (finished - started).total_seconds() if started and finished and finished >= started else None
    if seconds is None:
        seconds = _sum([vm["seconds"] for vm in vms])

    errors: List[str] = []
    msg = _text(raw.get("msg"))
    if recorded == "failed":
        errors.append(unreachable_line(msg) or "the backup of this host failed (no message recorded)")
    if backup.get("failed") and _text(backup.get("msg")) and _text(backup.get("msg")) != msg:
        errors.append(_text(backup.get("msg")))
    for vm in vms:
        errors.extend(f"{vm['name']}: {e}" for e in vm["errors"] if f"{vm['name']}: {e}" not in errors)
    warnings = _text_list(backup.get("warnings"))
    for vm in vms:
        warnings.extend(f"{vm['name']}: {w}" for w in vm["warnings"])

    vms_failed = sum(1 for vm in vms if vm["status"] == "failed")
    vms_ok = sum(1 for vm in vms if vm["status"] == "ok")
    failed = recorded == "failed" or bool(backup.get("failed")) or vms_failed > 0
    if failed and not errors:
        errors.append(f"{vms_failed} VM(s) failed")
    writer_problems = _writer_problems(backup.get("writer_problems"), name)
    status = "failed" if failed else ("warning" if warnings or writer_problems else "ok")
    bytes_ = _sum([vm["bytes"] for vm in vms])
    files = _sum([vm["files"] for vm in vms])
    copy_seconds = _sum([vm["seconds"] for vm in vms])
    bytes_ = None if bytes_ is None else int(bytes_)
    volumes = raw.get("volumes") or []
    if not isinstance(volumes, list):
        raise ReportInputError(f"host {name!r}: 'volumes' must be a list of win_volume_guid_facts items")
    return {
        "name": name,
        "status": status,
        "msg": msg if recorded == "failed" else _text(backup.get("msg")) if backup.get("failed") else None,
        "failed_task": _text(raw.get("failed_task")),
        "step": _text(backup.get("step")),
        "changed": bool(backup.get("changed")),
        "check_mode": bool(raw.get("check_mode")),
        "generation": generation,
        "destination_path": _text(backup.get("destination_path")),
        "manifest_path": _text(backup.get("manifest_path")),
        "started": _iso(started),
        "finished": _iso(finished),
        "seconds": None if seconds is None else round(seconds, 1),
        "bytes": bytes_,
        "files": None if files is None else int(files),
        "mb_per_s": _throughput(bytes_, copy_seconds, None, f"host {name!r}"),
        "vms_total": len(vms),
        "vms_ok": vms_ok,
        "vms_failed": vms_failed,
        "writer": _writer(backup.get("writer")),
        "writer_problems": writer_problems,
        "shadows_created": _int(_count(backup.get("shadows_created")), f"host {name!r}: shadows_created"),
        "shadows_deleted": _int(_count(backup.get("shadows_deleted")), f"host {name!r}: shadows_deleted"),
        "expired": _expired(backup.get("expired")),
        "warnings": list(dict.fromkeys(warnings)),
        "errors": errors,
        "volumes": [_shape_volume(v, name) for v in volumes],
        "vms": vms,
        "_started": started,
        "_finished": finished,
        "_measured": _measured_space(backup, started or finished, name),
    }


def _measured_space(backup: Mapping[str, Any], moment: Optional[datetime.datetime], host: str) -> Optional[Dict]:
    """The destination's free space win_vss_backup measured before its copy (None when it did not)."""
    free = _int(backup.get("destination_free_bytes"), f"host {host!r}: backup.destination_free_bytes")
    if free is None:
        return None
    total = _int(backup.get("destination_total_bytes"), f"host {host!r}: backup.destination_total_bytes")
    return {"free_bytes": free, "total_bytes": total, "measured_at": _iso(moment)}


def _count(value: Any) -> Any:
    """Shadow copies may be reported as a number or as the list of their ids."""
    if isinstance(value, (list, tuple)):
        return len(value)
    return value


def _shape_volume(raw: Any, host: str) -> Dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise ReportInputError(f"host {host!r}: a volume must be a win_volume_guid_facts item, got {raw!r}"[:300])
    vms = []
    for vm in raw.get("vms") or []:
        vm_name = _text(vm.get("name") if isinstance(vm, Mapping) else vm)
        if vm_name:
            vms.append(vm_name)
    return {
        "path": _text(raw.get("path")),
        "label": _text(raw.get("label")),
        "drive_letter": _text(raw.get("drive_letter")),
        "capacity_bytes": _int(raw.get("capacity_bytes"), f"host {host!r}: volume capacity_bytes"),
        "free_bytes": _int(raw.get("free_bytes"), f"host {host!r}: volume free_bytes"),
        "vms": vms,
    }


def _missing_host(name: str) -> Dict[str, Any]:
    return {"host": name, "status": "failed", "msg": NO_RESULT_MSG}


def _max_age_days(value: Any) -> int:
    if value is None or value == "":
        return DEFAULT_RESTORE_MAX_AGE_DAYS
    if isinstance(value, bool):
        raise ReportInputError(f"restore_max_age_days: expected a whole number of days >= 0, got {value!r}")
    try:
        days = int(str(value).strip())
    except ValueError:
        raise ReportInputError(f"restore_max_age_days: expected a whole number of days >= 0, got {value!r}") from None
    if days < 0:
        raise ReportInputError(f"restore_max_age_days: expected a whole number of days >= 0, got {value!r}")
    return days


def _restore_test(record: Any, what: str) -> Optional[Dict[str, Any]]:
    """One test restore record of the proofs, shaped for the report; ReportInputError names a bad value."""
    if record is None:
        return None
    tested = _timestamp(record.get("tested_at"), f"{what}.tested_at")
    if tested is None:
        raise ReportInputError(f"{what}: tested_at is missing")
    heartbeat = _number(record.get("seconds_to_heartbeat"), f"{what}.seconds_to_heartbeat")
    return {
        "generation": _text(record.get("generation")),
        "tested_at": _iso(tested),
        "passed": record.get("passed") is True,
        "check": _text(record.get("check")),
        "seconds_to_heartbeat": None if heartbeat is None else round(heartbeat, 1),
        "reason": _text(record.get("reason")),
    }


def _proven_restore(record: Any, what: str, moment: datetime.datetime, max_age_days: int) -> Optional[Dict[str, Any]]:
    """The last passed test restore with where it ran, its age in days at ``moment`` and whether it is stale."""
    shaped = _restore_test(record, what)
    if shaped is None:
        return None
    shaped.pop("reason")
    tested = _timestamp(shaped["tested_at"], what)
    age_days = round(max((moment - tested).total_seconds(), 0.0) / 86400, 1)
    shaped.update(
        tested_on=_text(record.get("host")),
        backup_host=_text(record.get("backup_host")),
        age_days=age_days,
        stale=bool(max_age_days) and age_days > max_age_days,
    )
    return shaped


def _add_restore_proofs(
    shaped: List[Dict[str, Any]],
    proofs: Any,
    source: Optional[str],
    error: Optional[str],
    moment: datetime.datetime,
    max_age_days: int,
) -> tuple:
    """Fill each VM's last proven restore and latest test; return (report's restore_proofs, report warnings)."""
    where = f"restore proofs {source}" if source else "restore proofs"
    info = {"source": source, "status": "absent", "updated_at": None, "max_age_days": max_age_days}
    if error:
        info["status"] = "unreadable"
        return info, [f"{where} could not be read, so no VM shows a proven restore: {error}"]
    try:
        document = load_proofs(proofs)
    except RestoreError as err:
        info["status"] = "unreadable"
        return info, [f"{where} ignored, so no VM shows a proven restore: {err}"]
    if document is None:
        return info, []
    info.update(status="read", updated_at=_text(document.get("updated_at")))
    warnings = []
    for host in shaped:
        for vm in host["vms"]:
            what = f"{where}: host {host['name']!r}, VM {vm['name']!r}"
            try:
                entry = restore_proof_entry(document, host["name"], vm["name"]) or {}
                vm["last_restore_test"] = _restore_test(entry.get("last_test"), f"{what}: last_test")
                vm["last_proven_restore"] = _proven_restore(
                    last_proven_restore(document, host["name"], vm["name"]),
                    f"{what}: last_passed",
                    moment,
                    max_age_days,
                )
            except ReportInputError as err:
                vm["last_proven_restore"] = vm["last_restore_test"] = None
                warnings.append(f"{err}; this proof is ignored")
    return info, warnings


def _previous_report(previous: Any, source: Optional[str]) -> tuple:
    """The last real report (``backup-report.json`` of the run before) as a mapping, or None; and a warning."""
    if previous is None or previous == "":
        return None, []
    where = f"previous report {source}" if source else "previous report"
    try:
        document = json.loads(previous) if isinstance(previous, (str, bytes)) else previous
    except ValueError as err:
        return None, [f"{where} ignored, so no VM is known from earlier runs: not valid JSON ({err})"]
    if (
        not isinstance(document, Mapping)
        or document.get("format") != REPORT_FORMAT
        or not isinstance(document.get("hosts"), list)
    ):
        return None, [f"{where} ignored, so no VM is known from earlier runs: not a backup report of format 1"]
    return document, []


def _last_good_backup(value: Any) -> Optional[Dict[str, Any]]:
    if not isinstance(value, Mapping) or not _text(value.get("generation")):
        return None
    return {"generation": _text(value.get("generation")), "finished": _text(value.get("finished"))}


def _carry_forward(shaped: List[Dict[str, Any]], previous: Optional[Mapping[str, Any]]) -> None:
    """Each VM's last good backup (this run's generation when its copy is OK, else the one the previous report
    knew), and per failed host the VMs the previous report knew that this run did not reach (``unprotected_vms``):
    a host that fails before copying lists no VM of its own, yet all of them went without a backup."""
    known: Dict[str, Dict[str, Dict[str, Any]]] = {}
    for host in (previous or {}).get("hosts") or []:
        if not isinstance(host, Mapping) or not _text(host.get("name")):
            continue
        entries = known.setdefault(_text(host["name"]).lower(), {})
        for vm in list(host.get("vms") or []) + list(host.get("unprotected_vms") or []):
            if isinstance(vm, Mapping) and _text(vm.get("name")):
                entries[_text(vm["name"]).lower()] = {
                    "name": _text(vm["name"]),
                    "last_good_backup": _last_good_backup(vm.get("last_good_backup")),
                    # retention runs only after a good backup, so what the last report counted is still there
                    "restore_points": vm.get("restore_points") if isinstance(vm.get("restore_points"), int) else None,
                    "oldest_restore_point": _text(vm.get("oldest_restore_point")),
                }
    for host in shaped:
        before = known.get(host["name"].lower(), {})
        for vm in host["vms"]:
            if vm["status"] == "ok" and not host["check_mode"] and host["generation"]:
                vm["last_good_backup"] = {"generation": host["generation"], "finished": host["finished"]}
            else:
                vm["last_good_backup"] = (before.get(vm["name"].lower()) or {}).get("last_good_backup")
        seen = {vm["name"].lower() for vm in host["vms"]}
        host["unprotected_vms"] = (
            [entry for key, entry in sorted(before.items()) if key not in seen] if host["status"] == "failed" else []
        )


def build_report(
    results: Any,
    hosts: Optional[Sequence[str]] = None,
    title: Optional[str] = None,
    generated_at: Optional[str] = None,
    restore_proofs: Any = None,
    restore_proofs_source: Optional[str] = None,
    restore_proofs_error: Optional[str] = None,
    restore_max_age_days: Any = DEFAULT_RESTORE_MAX_AGE_DAYS,
    previous_report: Any = None,
    previous_report_source: Optional[str] = None,
    history: Any = None,
    history_source: Optional[str] = None,
    history_keep: Any = DEFAULT_KEEP_RUNS,
) -> Dict[str, Any]:
    """Shape per-host results into the fleet report (see the module docstring and the JSON Schema)."""
    max_age_days = _max_age_days(restore_max_age_days)
    try:
        keep = keep_runs(history_keep)
    except HistoryError as err:
        raise ReportInputError(str(err)) from None
    if results is None:
        results = []
    if isinstance(results, Mapping) or not isinstance(results, Sequence) or isinstance(results, str):
        raise ReportInputError(
            f"expected a list of per-host results (hyperv_backup_host_result), got {type(results).__name__}"
        )
    if hosts is not None and (isinstance(hosts, (str, Mapping)) or not isinstance(hosts, Sequence)):
        raise ReportInputError(f"hosts: expected a list of inventory host names, got {hosts!r}"[:300])

    by_name: Dict[str, Any] = {}
    for index, raw in enumerate(results):
        name = _text(raw.get("host")) if isinstance(raw, Mapping) else None
        by_name[name or f"#{index}"] = raw  # a later result for the same host wins (serial batches rerun)
    for name in hosts or []:
        name = _text(name)
        if name and name not in by_name:
            by_name[name] = _missing_host(name)
    shaped = [_shape_host(raw, i) for i, raw in enumerate(by_name.values())]
    shaped.sort(key=lambda h: (_HOST_STATUS_RANK[h["status"]], h["name"].lower()))

    moment = _timestamp(generated_at, "generated_at") if generated_at else None
    moment = moment or datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    proofs_info, report_warnings = _add_restore_proofs(
        shaped, restore_proofs, _text(restore_proofs_source), _text(restore_proofs_error), moment, max_age_days
    )
    previous, previous_warnings = _previous_report(previous_report, _text(previous_report_source))
    report_warnings = report_warnings + previous_warnings
    _carry_forward(shaped, previous)
    runs, history_info, history_warnings = _read_history(history, _text(history_source), keep)
    report_warnings = report_warnings + history_warnings
    for host in shaped:
        host["destination"] = destination_outlook(host["name"], host.pop("_measured"), runs)
    starts = [h.pop("_started") for h in shaped]
    ends = [h.pop("_finished") for h in shaped]
    starts = [s for s in starts if s]
    ends = [e for e in ends if e]
    all_vms = [vm for h in shaped for vm in h["vms"]]
    bytes_ = _sum([h["bytes"] for h in shaped])
    copy_seconds = _sum([vm["seconds"] for vm in all_vms if vm["bytes"] is not None])
    totals = {
        "hosts": len(shaped),
        "hosts_ok": sum(1 for h in shaped if h["status"] == "ok"),
        "hosts_warning": sum(1 for h in shaped if h["status"] == "warning"),
        "hosts_failed": sum(1 for h in shaped if h["status"] == "failed"),
        "vms": len(all_vms),
        "vms_ok": sum(1 for vm in all_vms if vm["status"] == "ok"),
        "vms_failed": sum(1 for vm in all_vms if vm["status"] == "failed"),
        "vms_other": sum(1 for vm in all_vms if vm["status"] not in ("ok", "failed")),
        "bytes": int(bytes_ or 0),
        "files": int(_sum([h["files"] for h in shaped]) or 0),
        "seconds": round(_sum([h["seconds"] for h in shaped]) or 0.0, 1),
        "elapsed_seconds": round((max(ends) - min(starts)).total_seconds(), 1) if starts and ends else None,
        "mb_per_s": _throughput(int(bytes_) if bytes_ is not None else None, copy_seconds, None, "totals"),
        "warnings": sum(len(h["warnings"]) for h in shaped) + len(report_warnings),
        "errors": sum(len(h["errors"]) for h in shaped),
        "expired": sum(len(h["expired"]) for h in shaped),
        "vms_restore_proven": sum(1 for vm in all_vms if _proven(vm)),
        "vms_restore_unproven": sum(1 for vm in all_vms if not _proven(vm)),
        # VMs without a backup from this run: those that failed, and those of failed hosts known from the last report
        "vms_unprotected": sum(1 for vm in all_vms if vm["status"] == "failed")
        + sum(len(h["unprotected_vms"]) for h in shaped),
    }
    if totals["hosts_failed"] or not shaped:
        status = "failed"
    elif totals["hosts_warning"] or report_warnings:
        status = "warning"
    else:
        status = "ok"
    report = {
        "format": REPORT_FORMAT,
        "run_id": run_id_for(_iso(moment), runs),
        "title": _text(title) or DEFAULT_TITLE,
        "generated_at": _iso(moment),
        # the same moment in the controller's time zone, for readers who do not think in UTC
        "generated_at_local": moment.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z (UTC%z)"),
        "status": status,
        "check_mode": any(h["check_mode"] for h in shaped),
        "failed_hosts": [h["name"] for h in shaped if h["status"] == "failed"],
        "warnings": report_warnings,
        "restore_proofs": proofs_info,
        "totals": totals,
        "history": history_info,
        "hosts": shaped,
    }
    history_info["runs"] = trend(runs, report, keep)
    return report


def _read_history(document: Any, source: Optional[str], keep: int) -> tuple:
    """The runs of the history index (oldest first), the report's ``history`` and a warning when it is unreadable."""
    info: Dict[str, Any] = {"source": source, "status": "absent", "keep": keep, "runs": []}
    try:
        runs = read_index(document)
    except HistoryError as err:
        info["status"] = "unreadable"
        where = f"history index {source}" if source else "history index"
        return [], info, [f"{where} ignored, so the trend and the days until full start again from this run: {err}"]
    if document is not None and document != "":
        info["status"] = "read"
    return runs, info, []


def _proven(vm: Mapping[str, Any]) -> bool:
    return vm["last_proven_restore"] is not None and not vm["last_proven_restore"]["stale"]
