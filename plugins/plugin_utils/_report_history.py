# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""The run history of the fleet report: one record per run, a retained index, the trend and the growth.

The role's report play keeps ``<report dir>/history/<run id>.json`` (:func:`run_record`) and
``<report dir>/history/index.json`` (:func:`updated_index`, the last ``keep`` runs). The next report reads the
index back (:func:`read_index`) for its trend (:func:`trend`: data, duration and failures per run) and for the
days until each host's destination is full (:func:`destination_outlook`, from the free space the backups
measured run after run). Plain Python, no Ansible.
"""

from __future__ import annotations

import datetime
import json
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

HISTORY_FORMAT = 1
DEFAULT_KEEP_RUNS = 30
# the run figures the index keeps for the trend (a subset of the report's totals)
TREND_TOTALS = (
    "hosts",
    "hosts_failed",
    "vms",
    "vms_failed",
    "vms_unprotected",
    "bytes",
    "seconds",
    "elapsed_seconds",
)


class HistoryError(ValueError):
    """The history index is not in the format this module writes."""


def keep_runs(value: Any) -> int:
    """The number of runs to keep (a whole number >= 1); a clear error names a bad value."""
    if value is None or value == "":
        return DEFAULT_KEEP_RUNS
    if isinstance(value, bool):
        raise HistoryError(f"history_keep: expected a whole number of runs >= 1, got {value!r}")
    try:
        runs = int(str(value).strip())
    except ValueError:
        raise HistoryError(f"history_keep: expected a whole number of runs >= 1, got {value!r}") from None
    if runs < 1:
        raise HistoryError(f"history_keep: expected a whole number of runs >= 1, got {value!r}")
    return runs


def _parse_time(value: Any) -> Optional[datetime.datetime]:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def _size(value: Any) -> Optional[int]:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        return None
    return int(value)


def read_index(document: Any) -> List[Dict[str, Any]]:
    """The runs of an index (text or mapping), oldest first; None/empty is no history. HistoryError says what is wrong.

    Runs without a usable ``run_id`` and ``generated_at`` are left out; figures that are not numbers become None.
    """
    if document is None or document == "":
        return []
    if isinstance(document, (str, bytes)):
        try:
            document = json.loads(document)
        except ValueError as err:
            raise HistoryError(f"not valid JSON ({err})") from None
    if not isinstance(document, Mapping) or document.get("format") != HISTORY_FORMAT:
        raise HistoryError(f"not a history index of format {HISTORY_FORMAT}")
    runs = document.get("runs")
    if not isinstance(runs, list):
        raise HistoryError("'runs' is not a list")
    out = []
    for run in runs:
        if not isinstance(run, Mapping) or not isinstance(run.get("run_id"), str):
            continue
        moment = _parse_time(run.get("generated_at"))
        if moment is None:
            continue
        totals = run.get("totals") if isinstance(run.get("totals"), Mapping) else {}
        destinations = {}
        listed = run.get("destinations") if isinstance(run.get("destinations"), Mapping) else {}
        for host, dest in listed.items():
            if isinstance(dest, Mapping) and _size(dest.get("free_bytes")) is not None:
                destinations[str(host)] = {
                    "free_bytes": _size(dest.get("free_bytes")),
                    "total_bytes": _size(dest.get("total_bytes")),
                    "measured_at": dest.get("measured_at") if _parse_time(dest.get("measured_at")) else None,
                }
        out.append(
            {
                "run_id": run["run_id"],
                "file": run.get("file") if isinstance(run.get("file"), str) else f"{run['run_id']}.json",
                "generated_at": run["generated_at"],
                "status": run.get("status") if run.get("status") in ("ok", "warning", "failed") else "unknown",
                "totals": {key: _number(totals.get(key)) for key in TREND_TOTALS},
                "destinations": destinations,
            }
        )
    out.sort(key=lambda r: (_parse_time(r["generated_at"]), r["run_id"]))
    return out


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value


def run_id_for(generated_at: str, runs: Sequence[Mapping[str, Any]]) -> str:
    """``20261125T063000Z`` from the report's time; ``-2``, ``-3`` ... when an earlier run has that id."""
    moment = _parse_time(generated_at) or datetime.datetime.now(datetime.timezone.utc)
    base = moment.astimezone(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    taken = {r["run_id"] for r in runs}
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def index_entry(report: Mapping[str, Any]) -> Dict[str, Any]:
    """What the index keeps of one report: status, trend figures and each host's measured free space."""
    destinations = {}
    for host in report.get("hosts") or []:
        dest = host.get("destination") or {}
        if dest.get("measured_this_run") and dest.get("free_bytes") is not None:
            destinations[host["name"]] = {
                "free_bytes": dest["free_bytes"],
                "total_bytes": dest.get("total_bytes"),
                "measured_at": dest.get("measured_at"),
            }
    return {
        "run_id": report["run_id"],
        "file": f"{report['run_id']}.json",
        "generated_at": report["generated_at"],
        "status": report["status"],
        "totals": {key: report["totals"].get(key) for key in TREND_TOTALS},
        "destinations": destinations,
    }


def run_record(report: Mapping[str, Any]) -> Dict[str, Any]:
    """``history/<run id>.json``: the run's totals and one line per host (the full report is backup-report.json)."""
    hosts = []
    for host in report.get("hosts") or []:
        dest = host.get("destination") or {}
        hosts.append(
            {
                "name": host["name"],
                "status": host["status"],
                "generation": host.get("generation"),
                "bytes": host.get("bytes"),
                "seconds": host.get("seconds"),
                "vms_total": host.get("vms_total"),
                "vms_failed": host.get("vms_failed"),
                "vms_unprotected": len(host.get("unprotected_vms") or []),
                "destination_free_bytes": dest.get("free_bytes") if dest.get("measured_this_run") else None,
                "destination_total_bytes": dest.get("total_bytes") if dest.get("measured_this_run") else None,
                "error": (host.get("errors") or [None])[0],
            }
        )
    return {
        "format": HISTORY_FORMAT,
        "run_id": report["run_id"],
        "generated_at": report["generated_at"],
        "status": report["status"],
        "failed_hosts": list(report.get("failed_hosts") or []),
        "totals": dict(report["totals"]),
        "hosts": hosts,
    }


def updated_index(
    runs: Sequence[Mapping[str, Any]], report: Mapping[str, Any], keep: int
) -> Tuple[Dict[str, Any], List[str]]:
    """The index with this report's run added and only the last ``keep`` runs; and the files of the runs dropped."""
    entries = [dict(r) for r in runs if r["run_id"] != report["run_id"]] + [index_entry(report)]
    kept, dropped = entries[-keep:], entries[:-keep]
    index = {"format": HISTORY_FORMAT, "keep": keep, "runs": kept}
    return index, [r["file"] for r in dropped if _plain_file_name(r["file"])]


def _plain_file_name(name: str) -> bool:
    """Only ``<something>.json`` without a folder part is ever deleted from the history folder."""
    return name.endswith(".json") and "/" not in name and "\\" not in name and name not in ("index.json", ".json")


def trend(runs: Sequence[Mapping[str, Any]], report: Mapping[str, Any], keep: int) -> List[Dict[str, Any]]:
    """The last ``keep`` runs including this one (not a check-mode one, which copied nothing), oldest first: time,
    status and the trend figures."""
    entries = [r for r in runs if r["run_id"] != report["run_id"]]
    if not report.get("check_mode"):
        entries.append(index_entry(report))
    return [
        {"run_id": r["run_id"], "generated_at": r["generated_at"], "status": r["status"], **r["totals"]}
        for r in entries[-keep:]
    ]


def destination_outlook(
    host: str,
    measured: Optional[Mapping[str, Any]],
    runs: Sequence[Mapping[str, Any]],
) -> Dict[str, Any]:
    """Free space at a host's destination and the days until it is full at the current growth.

    ``measured``: this run's ``{"free_bytes", "total_bytes", "measured_at"}`` or None (the backup did not measure;
    the newest measurement of the history is shown then). Growth is the least-squares slope of the free space over
    the measurements of the history and this run (the same size of destination only: a resized destination starts
    a new series). ``days_until_full`` is null with ``unknown_reason`` when there are fewer than two
    measurements, they were all taken at the same time, or the free space is not shrinking.
    """
    series = []
    for run in runs:
        dest = run["destinations"].get(host)
        if dest:
            moment = _parse_time(dest.get("measured_at")) or _parse_time(run["generated_at"])
            series.append((moment, dest["free_bytes"], dest.get("total_bytes")))
    this_run = bool(measured and measured.get("free_bytes") is not None)
    if this_run:
        series.append(
            (_parse_time(measured.get("measured_at")), int(measured["free_bytes"]), measured.get("total_bytes"))
        )
    series = [s for s in series if s[0] is not None]
    out: Dict[str, Any] = {
        "free_bytes": None,
        "total_bytes": None,
        "measured_at": None,
        "measured_this_run": this_run,
        "growth_bytes_per_day": None,
        "days_until_full": None,
        "measurements": 0,
        "unknown_reason": None,
    }
    if not series:
        out["unknown_reason"] = "the backups did not report the destination's free space"
        return out
    series.sort(key=lambda s: s[0])
    latest = series[-1]
    out.update(
        free_bytes=latest[1],
        total_bytes=latest[2],
        measured_at=latest[0].astimezone(datetime.timezone.utc).isoformat().replace("+00:00", "Z"),
    )
    same_size = [s for s in series if s[2] == latest[2]]
    out["measurements"] = len(same_size)
    if len(same_size) < 2:
        out["unknown_reason"] = f"needs the free space of 2 runs or more, {len(same_size)} known" + (
            " since the destination changed size" if len(series) > len(same_size) else ""
        )
        return out
    start = same_size[0][0]
    xs = [(s[0] - start).total_seconds() / 86400 for s in same_size]
    ys = [float(s[1]) for s in same_size]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mean_x) ** 2 for x in xs)
    if var == 0:
        out["unknown_reason"] = "the free space was measured only at one moment"
        return out
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / var
    growth = -slope
    out["growth_bytes_per_day"] = round(growth)
    span = xs[-1] - xs[0]
    if growth <= 0:
        out["unknown_reason"] = (
            f"the free space did not shrink over the last {len(same_size)} measurements ({span:.1f} days)"
        )
        return out
    out["days_until_full"] = round(latest[1] / growth, 1)
    return out


def history_update(report: Mapping[str, Any], document: Any, keep: Any = DEFAULT_KEEP_RUNS) -> Dict[str, Any]:
    """What the report play writes after a (real) run: ``file`` (``<run id>.json``) with ``record``, the new
    ``index`` and the files of the runs it no longer keeps (``remove``). An unreadable index starts a new one (the
    report already carries the warning)."""
    if not isinstance(report, Mapping) or not isinstance(report.get("run_id"), str):
        raise HistoryError("expected a fleet report of vaware.hyperv.backup_report (with run_id)")
    if report.get("check_mode"):
        raise HistoryError("a check-mode report is not a run to keep in the history")
    try:
        runs = read_index(document)
    except HistoryError:
        runs = []
    index, dropped = updated_index(runs, report, keep_runs(keep))
    return {"file": f"{report['run_id']}.json", "record": run_record(report), "index": index, "remove": dropped}
