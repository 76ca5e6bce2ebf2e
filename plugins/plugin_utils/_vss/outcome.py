# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""What a finished backup job amounts to: the files it left read and verified into a manifest, and the
result and failure message the user sees (the step, the VM and the tool output line that explain it).

The action collects the job's files from the host and passes them here as ``collected``::

    {"plan", "status", "transcript", "exit_codes", "robocopy_log", "robocopy_log_truncated", "listing",
     "source_hashes", "source_sizes", "stderr", "shadows", "generations", "verify"}
"""

from __future__ import annotations

import datetime
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.common import HYPERV_WRITER_NAME
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.diskshadow import normalize_guid, parse_output
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.generations import shortage_message
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.jobs import SPACE_PHASES, polled_task_result
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.manifest import build_manifest
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.robocopy import outcome as robocopy_outcome
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.robocopy import parse_summary
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.scripts import parse_exit_codes, parse_source_sizes
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.writer_remedies import error_hint, job_problems
from ansible_collections.vaware.hyperv.plugins.plugin_utils._winpath import is_under, parse_time


def first_line(text: Any) -> str:
    for line in str(text or "").splitlines():
        if line.strip():
            return line.strip()
    return ""


def split_robocopy_jobs(text: str) -> List[str]:
    """The robocopy log split into one chunk per run (each run starts with its ``ROBOCOPY :: ...`` banner)."""
    chunks: List[List[str]] = []
    for line in text.splitlines():
        if "ROBOCOPY" in line.upper() and "::" in line:
            chunks.append([])
        if chunks:
            chunks[-1].append(line)
    return ["\n".join(c) for c in chunks]


def analyse(
    collected: Mapping[str, Any],
    writer_before: Optional[Mapping[str, Any]],
    *,
    verify: Optional[str],
    now: datetime.datetime,
) -> Dict[str, Any]:
    """Parse what the job left and verify the copy; returns the manifest, the findings and ``warnings``.

    ``verify`` is the task's option (the job's own record wins), ``now`` stands in for missing job times.
    """
    warnings: List[str] = []
    plan = collected["plan"]
    status = collected["status"]
    ds = parse_output(collected["transcript"])
    codes = parse_exit_codes(collected["exit_codes"] or "")
    summary = parse_summary(collected["robocopy_log"]) if collected["robocopy_log"] else None
    verify = collected.get("verify") or verify or "size"

    # files at the destination, per VM (relative to the VM folder) and per extra path
    listing = collected.get("listing") or []
    gen = plan["generation_path"]
    per_vm: Dict[str, List[Dict[str, Any]]] = {vm["name"]: [] for vm in plan["vms"]}
    # each planned file's size in the shadow copy, as the copy wrapper recorded it (not robocopy's counts)
    sizes_text = collected.get("source_sizes")
    by_shadow = {str(r["path"]).casefold(): r for r in parse_source_sizes(sizes_text)}
    source_sizes: Dict[str, Dict[str, Mapping[str, Any]]] = {
        vm["name"]: {
            str(f["relative_path"]).casefold(): by_shadow.get(str(f.get("shadow_path") or "").casefold())
            or {"size": None, "error": "the copy wrapper recorded no size for it"}
            for f in vm["files"]
        }
        for vm in plan["vms"]
    }
    if sizes_text is None and plan["vms"] and verify != "none":
        warnings.append(
            "verify: the job recorded no sizes of the files in the shadow copy (it was started by an earlier"
            " version of this module); the copies were checked by robocopy's exit codes and presence only"
        )
    by_rel: Dict[str, Mapping[str, Any]] = {}
    for entry in listing:
        rel = str(entry.get("path") or "").replace("/", "\\")
        by_rel[rel.casefold()] = entry
        head, _sep, rest = rel.partition("\\")
        for name in per_vm:
            if head.casefold() == name.casefold() and rest:
                item = {"relative_path": rest, "size": entry.get("size")}
                if entry.get("sha256"):
                    item["sha256"] = entry["sha256"]
                source = source_sizes[name].get(rest.casefold())
                if source is not None and sizes_text is not None:
                    if source.get("size") is not None:
                        item["source_size"] = int(source["size"])
                    else:
                        item["source_size_error"] = source.get("error")
                per_vm[name].append(item)
    extra_totals = {}
    for extra in plan.get("extra_paths") or []:
        prefix = extra["destination"][len(gen) :].strip("\\").casefold() + "\\"
        found = [e for k, e in by_rel.items() if k.startswith(prefix)]
        extra_totals[extra["path"]] = {"files": len(found), "bytes": sum(int(e.get("size") or 0) for e in found)}

    # robocopy per run: the log holds one block per run, in the order of the exit code file
    chunks = split_robocopy_jobs(collected["robocopy_log"]) if collected["robocopy_log"] else []
    runs = codes["runs"]
    run_figures: Dict[str, List[Dict[str, Any]]] = {}
    if runs and chunks and (len(chunks) >= len(runs) or collected.get("robocopy_log_truncated")):
        aligned = list(zip(runs[-len(chunks) :] if len(chunks) < len(runs) else runs, chunks[-len(runs) :]))
        for run, chunk in aligned:
            run_figures.setdefault(run["step"], []).append(parse_summary(chunk))
    # robocopy's figures give the copy time only: sizes are verified per file against the shadow copy
    # (build_manifest); robocopy's Total may count the files its /MIN or /MAX pass left out
    step_seconds: Dict[str, float] = {}
    for step_id, figures in run_figures.items():
        seconds = 0.0
        for fig in figures:
            copied = (fig.get("bytes") or {}).get("copied")
            if copied and fig.get("speed_bytes_per_sec"):
                seconds += copied / fig["speed_bytes_per_sec"]
        step_seconds[step_id] = seconds
    vm_seconds = {vm["name"]: sum(step_seconds.get(s, 0.0) for s in vm["steps"]) or None for vm in plan["vms"]}

    # the Hyper-V writer: excluded (diskshadow said so), included (snapshot made with VMs), unknown
    excluded = any(HYPERV_WRITER_NAME.casefold() in str(w).casefold() for w in ds.get("excluded_writers") or [])
    excluded = excluded or bool(hyperv_components_excluded(ds, plan))
    writer: Dict[str, Any] = dict(writer_before or {})
    if excluded:
        writer["included"] = False
    elif ds.get("shadows") and plan.get("vms") and not ds.get("errors"):
        writer["included"] = True
    else:
        writer["included"] = None

    error = None
    if status.get("error"):
        error = f"{status.get('error_phase') or 'job'}: {status['error']}"
    elif ds.get("errors"):
        first = ds["errors"][0]
        error = f"diskshadow: {first.get('text')} (HRESULT {first.get('hresult')})"

    started = status.get("started_at") or plan.get("created_at")
    finished = status.get("finished_at") or status.get("updated_at")
    started_at = parse_time(started) or now
    finished_at = max(parse_time(finished) or now, started_at)
    manifest = build_manifest(
        plan,
        started_at=started_at,
        finished_at=finished_at,
        files=per_vm,
        exit_codes=codes,
        shadows=ds.get("shadows"),
        shadow_set_id=ds.get("shadow_set_id"),
        writer={k: writer.get(k) for k in ("included", "state", "state_name", "last_error")},
        robocopy_summary=summary,
        extra_totals=extra_totals,
        vm_seconds=vm_seconds,
        verify=verify,
        source_hashes=collected.get("source_hashes"),
        warnings=job_warnings(ds, plan),
        error=error,
    )
    return {
        "manifest": manifest,
        "diskshadow": ds,
        "codes": codes,
        "summary": summary,
        "writer": writer,
        "warnings": warnings,
    }


def hyperv_components_excluded(ds: Mapping[str, Any], plan: Mapping[str, Any]) -> List[Mapping[str, Any]]:
    """Components of the Hyper-V writer (that is, VMs) diskshadow left out, except those of excluded VMs
    that the script itself left out (WRITER EXCLUDE)."""

    def key(component: Any) -> str:
        return str(component or "").strip().strip("\\{}").casefold()

    planned = {key(c.get("component")) for c in plan.get("writer_excluded_components") or []}
    return [
        item
        for item in ds.get("excluded_components") or []
        if HYPERV_WRITER_NAME.casefold() in str(item.get("writer") or "").casefold()
        and key(item.get("component")) not in planned
    ]


def job_warnings(ds: Mapping[str, Any], plan: Mapping[str, Any]) -> List[str]:
    """Exclusions that matter to the user: components of the Hyper-V writer (that is, VMs)."""
    return [
        f"diskshadow excluded component {item.get('component')} of the {HYPERV_WRITER_NAME}"
        for item in hyperv_components_excluded(ds, plan)
    ]


def deleted_shadows(
    ds: Mapping[str, Any], collected: Mapping[str, Any], status: Mapping[str, Any], cleaned: Mapping[str, Any]
) -> List[str]:
    """Ids of this job's shadows that are gone: deleted by diskshadow's own script (created, no longer
    listed by the host at collect time), by the runner, or by the cleanup call."""
    present = {normalize_guid(str(s.get("id") or "")) for s in collected.get("shadows") or []}
    deleted = {s["id"] for s in ds.get("shadows") or [] if s["id"] not in present}
    deleted.update(normalize_guid(str(s)) for s in status.get("shadows_deleted") or [])
    deleted.update(normalize_guid(str(s)) for s in cleaned.get("shadows_deleted") or [])
    return sorted(deleted)


def writer_result(writer: Mapping[str, Any]) -> Dict[str, Any]:
    """The manifest's writer record plus ``outcome``: included, excluded, not_required or unknown."""
    if writer.get("included") is True:
        outcome = "included"
    elif writer.get("included") is False:
        outcome = "excluded"
    elif not writer.get("required"):
        outcome = "not_required"
    else:
        outcome = "unknown"
    return {"outcome": outcome, **writer}


def vm_results(manifest: Mapping[str, Any]) -> List[Dict[str, Any]]:
    out = []
    for vm in manifest.get("vms") or []:
        seconds = vm.get("seconds")
        out.append(
            {
                "name": vm["name"],
                "status": vm["status"],
                "bytes": vm["bytes"],
                "files": vm["file_count"],
                "seconds": None if seconds is None else round(seconds, 1),
                "mb_per_s": round(vm["bytes"] / seconds / 1e6, 1) if seconds else None,
                "errors": list(vm.get("problems") or []),
            }
        )
    return out


def failure_message(
    plan: Mapping[str, Any],
    analysis: Mapping[str, Any],
    collected: Mapping[str, Any],
    runner_dead: bool,
    *,
    last_poll: Mapping[str, Any],
    room_for: Callable[[Any, int, int], Optional[Mapping[str, Any]]],
    expire_when_short: bool,
) -> Tuple[str, str]:
    """(step, message) for a failed job: the step, the VM and the tool output line that explain it.

    ``room_for(listed generations, free, required)`` tells what expiring would free (for the shortage message).
    """
    status = collected["status"]
    ds = analysis["diskshadow"]
    manifest = analysis["manifest"]
    if runner_dead:
        code = polled_task_result(last_poll)
        return "job", (
            f"the job runner of job {plan['job_id']} ended without finishing (last phase"
            f" {status.get('phase') or 'none: it never started'}"
            + (f", scheduled task result 0x{code & 0xFFFFFFFF:08X}" if code is not None else "")
            + "); its shadows and mount folders were cleaned up"
        )
    if status.get("error") and status.get("error_phase") in SPACE_PHASES:
        free, required = status.get("destination_free_bytes"), status.get("required_bytes")
        if str(status["error"]).startswith("destination too small") and free is not None and required:
            listed = (collected.get("generations") or {}).get("generations")
            room = room_for(listed, int(free), int(required))
            deleted = [str(p).rsplit("\\", 1)[-1] for p in status.get("expired_before_copy") or []]
            text = shortage_message(
                plan["destination"],
                free_bytes=int(free),
                total_bytes=status.get("destination_total_bytes"),
                required_bytes=int(required),
                room=None if deleted else room,
                option_on=expire_when_short,
            )
            if deleted:
                text += f" (after expiring {', '.join(deleted)} to make room)"
            return "destination", f"{text} (checked as {status.get('account')})"
        return "destination", f"{status['error']} (checked as {status.get('account')})"
    if analysis["writer"].get("included") is False and manifest["writer"]["required"]:
        lines = [f"{c.get('component')}" for c in ds.get("excluded_components") or []]
        [problem] = job_problems(analysis["writer"], True, ds.get("errors") or [])
        return "snapshot", (
            f"the {HYPERV_WRITER_NAME} was excluded from the snapshot"
            + (f" (components: {', '.join(lines)})" if lines else "")
            + (f"; diskshadow: {ds['errors'][0].get('text')}" if ds.get("errors") else "")
            + f"; no application-consistent copy was made; {problem['remedy']}"
        )
    if ds.get("errors"):
        first = ds["errors"][0]
        vm_list = ", ".join(vm["name"] for vm in plan["vms"]) or "extra paths"
        return "snapshot", (
            f"diskshadow failed for VMs {vm_list}: {first.get('text')} (HRESULT {first.get('hresult')})"
            + error_hint(f"{first.get('text')} {first.get('hresult')}")
        )
    if not ds.get("shadows") and status.get("diskshadow_started_at"):
        # diskshadow made no snapshot and printed no VSS error: say what it did print
        said = first_line(collected.get("stderr")) or first_line(collected.get("transcript"))
        code = status.get("diskshadow_exit_code")
        return "snapshot", (
            f"diskshadow created no shadow copy (exit code {code})" + (f": {said}" if said else ", and printed nothing")
        )
    bad_vms = [vm for vm in manifest.get("vms") or [] if vm["status"] != "complete"]
    errors = (analysis.get("summary") or {}).get("errors") or []
    if bad_vms:
        step = "verify"  # unless robocopy itself failed: then the copy step is what went wrong
        parts = []
        for vm in bad_vms:
            plan_vm = next((p for p in plan["vms"] if p["name"] == vm["name"]), {})
            codes = [analysis["codes"]["steps"].get(s) for s in plan_vm.get("steps", [])]
            worst = max((c for c in codes if c is not None), default=None)
            text = f"VM {vm['name']}"
            if worst is not None and worst >= 8:
                step = "copy"
                meaning = "; ".join(f for f in robocopy_outcome(worst)["flags"] if f)
                text += f": robocopy exit code {worst} ({meaning})"
                line = robocopy_error_for(errors, plan_vm, plan.get("steps") or [])
                if line:
                    text += f": {line}"
            elif vm.get("problems"):
                more = len(vm["problems"]) - 1
                text += f": {vm['problems'][0]}" + (f" (and {more} more problem(s))" if more else "")
            parts.append(text)
        return step, "; ".join(parts)
    if status.get("error"):
        return status.get("error_phase") or "job", str(status["error"])
    if manifest.get("error"):
        return "verify", str(manifest["error"])
    return "verify", f"generation {plan['generation']} is {manifest['status']}"


def robocopy_error_for(errors: List[Mapping[str, Any]], plan_vm: Mapping[str, Any], steps: List[Any]) -> str:
    """robocopy's error line for one of this VM's files; a path in the shadow copy is shown as the
    live path it was copied from (``...\\mnt\\VAWVOL2\\db01\\x.vhdx`` -> ``C:\\Mounts\\Fast\\db01\\x.vhdx``)."""
    sources = [str(f.get("shadow_path") or "") for f in plan_vm.get("files") or []]
    originals = [str(f.get("original_path") or "") for f in plan_vm.get("files") or []]
    dests = [str(plan_vm.get("destination") or "")]

    def shown(path: str) -> str:
        for step in steps:
            source = str(step.get("source_dir") or "")
            if source and is_under(path, source):
                return str(step.get("original_dir")) + path[len(source.rstrip("\\")) :] + " (in the shadow copy)"
        return path

    chosen = None
    for err in errors:
        path = str(err.get("path") or "")
        if any(path and (is_under(path, p) or is_under(p, path)) for p in sources + originals + dests if p):
            chosen = err
            break
    if chosen is None and errors:
        chosen = errors[0]
    if chosen is None:
        return ""
    where = shown(str(chosen.get("path") or ""))
    return f"error {chosen.get('code')} on {where}: {chosen.get('reason') or ''}".strip()
