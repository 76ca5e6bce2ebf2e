# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""The ``manifest.json`` of a backup generation: build it, check it, decide whether a generation is complete.

The manifest is written last, at ``<generation_path>\\manifest.json``; a generation is complete only
when its manifest exists, is valid and says ``status: complete`` (:func:`is_generation_complete`).
Its JSON Schema is ``docs/manifest.schema.json``; :func:`validate_manifest` checks the same rules
in plain Python so the controller needs no schema library at run time.

Shape (``format`` 1)::

    {
      "format": 1,
      "host": "HV01", "generation": "20261125T020000Z", "job_id": "7c1e...",
      "started_at": "2026-11-25T02:00:00Z", "finished_at": "2026-11-25T03:12:09Z",   # UTC ISO 8601
      "backup_type": "copy" | "full",
      "verify": "size" | "hash" | "none",
      "destination": "<generation_path>",
      "status": "complete" | "partial" | "failed",
      "error": null | "what stopped the job",
      "shadow_set_id": "a995..." | null,
      "shadows": [{"id", "set_id", "alias", "original_volume", "original_mount"}],
      "writer": {"id": "66841cd4-...", "name": "Microsoft Hyper-V VSS Writer", "required": true,
                 "included": true | false | null, "state": 1 | null, "state_name": ..., "last_error": ...,
                 "excluded_components": ["<VM id or name>", ...]},
      "vms": [{"name", "id", "state", "status": "complete" | "failed", "bytes", "file_count",
               "seconds": null | number,
               "files": [{"relative_path", "original_path", "kind", "size", "sha256"?}],
               "exit_codes": {"s001": 1, ...}, "problems": ["..."]}],
      "extra_paths": [{"path", "destination", "status", "files": null | int, "bytes": null | int,
                       "exit_codes": {...}, "problems": [...]}],
      "robocopy": {"runs": [{"step", "pass", "code"}], "wrapper_exit_code": 0 | 1 | null,
                   "summary": null | {parse_summary() result, errors capped at 100}, "error_count": int},
      "warnings": ["..."]
    }

Status rules: a VM is ``complete`` when every robocopy run of each of its steps was recorded with an
exit code below 8, every planned file is present at the destination (case-insensitive relative
path), the size of each file in the shadow copy (recorded by the copy wrapper) matches the copy and a
size the wrapper could not read fails the VM (``verify`` size or hash),
with ``verify: hash`` every copy has a SHA-256 that equals the SHA-256 of the same file in the shadow
copy (``source_hashes``; a missing source digest fails the VM too), and, when the writer is required,
the Hyper-V writer did not exclude the VM's component. The generation is ``complete`` when there is no
job error, the copy wrapper finished, the Hyper-V writer was included when it was required, and
every VM and extra path is complete; ``failed`` when nothing is complete (or the writer was required
and not included); ``partial`` otherwise.
"""

from __future__ import annotations

import datetime
import re
from typing import Any, Dict, Iterable, List, Mapping, Optional

from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.common import HYPERV_WRITER_ID, HYPERV_WRITER_NAME
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.plan import (
    GENERATION_RE,
    MANIFEST_NAME,
    parse_generation_id,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.scripts import (
    parse_exit_codes,
    parse_source_hashes,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._winpath import quote_value

MANIFEST_FORMAT = 1
STATUSES = ("complete", "partial", "failed")
VERIFY_MODES = ("size", "hash", "none")
MAX_RECORDED_ERRORS = 100
_SHA256_RE = re.compile(r"^[0-9a-f]{64}\Z")
_UTC_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z\Z")


_TOP_KEYS = (
    "format",
    "host",
    "generation",
    "job_id",
    "started_at",
    "finished_at",
    "backup_type",
    "verify",
    "destination",
    "status",
    "error",
    "shadow_set_id",
    "shadows",
    "writer",
    "vms",
    "extra_paths",
    "robocopy",
    "warnings",
)
_WRITER_KEYS = ("id", "name", "required", "included", "state", "state_name", "last_error", "excluded_components")
_VM_KEYS = ("name", "id", "state", "status", "bytes", "file_count", "seconds", "files", "exit_codes", "problems")
_EXTRA_KEYS = ("path", "destination", "status", "files", "bytes", "exit_codes", "problems")


class ManifestError(ValueError):
    """The inputs cannot make a manifest (a wrong type or value, named in the message)."""


def utc_iso(value: datetime.datetime, what: str) -> str:
    """``2026-11-25T02:00:00Z`` for an aware datetime (microseconds kept when present)."""
    if not isinstance(value, datetime.datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ManifestError(f"{what}: expected a timezone-aware datetime, got {quote_value(value)}")
    utc = value.astimezone(datetime.timezone.utc)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond:06d}"
    return text + "Z"


def parse_utc(text: str) -> datetime.datetime:
    """The aware datetime of a manifest timestamp."""
    if not isinstance(text, str) or not _UTC_RE.match(text):
        raise ManifestError(f"timestamp: expected UTC ISO 8601 like 2026-11-25T02:00:00Z, got {quote_value(text)}")
    try:
        return datetime.datetime.fromisoformat(text[:-1]).replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        raise ManifestError(f"timestamp: {quote_value(text)} is not a real date and time") from None


def _file_index(entries: Any, what: str) -> Dict[str, Mapping[str, Any]]:
    if entries is None:
        return {}
    if not isinstance(entries, (list, tuple)):
        raise ManifestError(f"{what}: expected a list of files, got {quote_value(entries)}")
    index = {}
    for entry in entries:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("relative_path"), str):
            raise ManifestError(f"{what}: expected {{'relative_path', 'size', ...}} entries, got {quote_value(entry)}")
        for key in ("size", "source_size"):
            _size(entry.get(key), f"{what}: {entry['relative_path']} {key}")
        index[entry["relative_path"].replace("/", "\\").casefold()] = entry
    return index


def _size(value: Any, what: str) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ManifestError(f"{what}: expected a byte count, got {quote_value(value)}")
    return value


def _step_problems(step_ids: Iterable[str], codes: Mapping[str, int], runs: List[Mapping[str, Any]]) -> List[str]:
    problems = []
    for step_id in step_ids:
        if step_id not in codes:
            problems.append(f"step {step_id}: robocopy did not run (no exit code recorded)")
        elif codes[step_id] >= 8:
            got = ", ".join(str(r["code"]) for r in runs if r["step"] == step_id)
            problems.append(f"step {step_id}: robocopy failed (exit codes {got}; 8 or more is a failure)")
    return problems


def _writer(plan: Mapping[str, Any], writer: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    writer = dict(writer or {})
    included = writer.get("included")
    if included is not None and not isinstance(included, bool):
        raise ManifestError(f"writer included: expected true, false or null, got {quote_value(included)}")
    state = writer.get("state")
    if state is not None and (isinstance(state, bool) or not isinstance(state, int)):
        raise ManifestError(f"writer state: expected a VSS_WRITER_STATE number, got {quote_value(state)}")
    excluded = writer.get("excluded_components") or []
    if not isinstance(excluded, (list, tuple)) or not all(isinstance(c, str) for c in excluded):
        raise ManifestError(
            f"writer excluded_components: expected a list of component names, got {quote_value(excluded)}"
        )
    return {
        "id": HYPERV_WRITER_ID,
        "name": HYPERV_WRITER_NAME,
        "required": bool(plan.get("require_hyperv_writer")) and bool(plan.get("vms")),
        "included": included,
        "state": state,
        "state_name": writer.get("state_name"),
        "last_error": writer.get("last_error"),
        "excluded_components": list(excluded),
    }


def _component_key(value: Any) -> str:
    return str(value or "").strip().strip("{}").casefold()


def _shadows(shadows: Any) -> List[Dict[str, Any]]:
    result = []
    for shadow in shadows or []:
        if not isinstance(shadow, Mapping) or not isinstance(shadow.get("id"), str):
            raise ManifestError(
                f"shadows: expected dicts from diskshadow.parse_output with an id, got {quote_value(shadow)}"
            )
        result.append({key: shadow.get(key) for key in ("id", "set_id", "alias", "original_volume", "original_mount")})
    return result


def _summary(summary: Any) -> Optional[Dict[str, Any]]:
    if summary is None:
        return None
    if not isinstance(summary, Mapping):
        raise ManifestError(
            f"robocopy summary: expected the dict of robocopy.parse_summary, got {quote_value(summary)}"
        )
    result = dict(summary)
    errors = list(result.get("errors") or [])
    result["errors"] = errors[:MAX_RECORDED_ERRORS]
    return result


def _source_hash_index(source_hashes: Any) -> Dict[str, Mapping[str, Any]]:
    """Path in the shadow copy (case-insensitive) -> record of ``scripts.parse_source_hashes``."""
    if source_hashes is None or isinstance(source_hashes, str):
        records = parse_source_hashes(source_hashes or "")
    elif isinstance(source_hashes, (list, tuple)) and all(
        isinstance(r, Mapping) and isinstance(r.get("path"), str) for r in source_hashes
    ):
        records = source_hashes
    else:
        raise ManifestError(
            "source_hashes: expected the source hash file text or parse_source_hashes(),"
            f" got {quote_value(source_hashes)}"
        )
    return {str(r["path"]).casefold(): r for r in records}


def _hash_problem(rel: str, copy_sha: Optional[str], source: Optional[Mapping[str, Any]]) -> Optional[str]:
    """Why the copy of ``rel`` is not proven equal to the file in the shadow copy (None: it is)."""
    source_sha = str(source.get("sha256") or "").lower() if source else ""
    if not _SHA256_RE.match(source_sha):
        why = (source or {}).get("error") or "the copy wrapper recorded no digest for it"
        return f"{rel}: no SHA-256 of the file in the shadow copy ({why})"
    if copy_sha is not None and copy_sha != source_sha:
        return f"{rel}: SHA-256 of the copy {copy_sha} differs from the shadow copy's {source_sha}"
    return None


def build_manifest(
    plan: Mapping[str, Any],
    *,
    started_at: datetime.datetime,
    finished_at: datetime.datetime,
    files: Optional[Mapping[str, Any]] = None,
    exit_codes: Any = None,
    shadows: Any = None,
    shadow_set_id: Optional[str] = None,
    writer: Optional[Mapping[str, Any]] = None,
    robocopy_summary: Any = None,
    extra_totals: Optional[Mapping[str, Mapping[str, Any]]] = None,
    vm_seconds: Optional[Mapping[str, float]] = None,
    verify: str = "size",
    source_hashes: Any = None,
    warnings: Iterable[str] = (),
    error: Optional[str] = None,
) -> Dict[str, Any]:
    """Build the manifest of ``plan``'s generation from what the job reported.

    ``files``: VM name -> files found at the destination, each ``{"relative_path", "size",
    "sha256"?, "source_size"?, "source_size_error"?}`` (``relative_path`` below the VM folder, as in the
    plan; ``source_size`` is the size in the shadow copy when the host reported it, ``source_size_error`` why
    the host could not: with ``verify`` size or hash that fails the VM). ``exit_codes``: the text
    of the wrapper's exit code file or :func:`scripts.parse_exit_codes` output (None: nothing
    ran). ``shadows``/``shadow_set_id``: from ``diskshadow.parse_output``. ``writer``: ``{"included",
    "state", "state_name", "last_error", "excluded_components"}`` for the Hyper-V writer, where
    ``excluded_components`` lists the names of the Hyper-V writer's components diskshadow excluded (a
    component named after a VM's name or id marks that VM: failed when the writer is required, else a
    warning). ``robocopy_summary``: from
    ``robocopy.parse_summary``. ``extra_totals``: extra path -> ``{"files", "bytes"}``.
    ``source_hashes``: with ``verify: hash``, the wrapper's source hash file (text) or
    ``scripts.parse_source_hashes`` output, matched to the plan's files by their ``shadow_path``.
    ``error``: what stopped the job, if anything. Status rules: see the module docstring.
    """
    if verify not in VERIFY_MODES:
        raise ManifestError(f"verify: expected one of {', '.join(VERIFY_MODES)}, got {quote_value(verify)}")
    start, end = utc_iso(started_at, "started_at"), utc_iso(finished_at, "finished_at")
    if finished_at < started_at:
        raise ManifestError(f"finished_at {end} is before started_at {start}")
    if exit_codes is None or isinstance(exit_codes, str):
        parsed = parse_exit_codes(exit_codes or "")
    elif isinstance(exit_codes, Mapping) and "runs" in exit_codes:
        parsed = exit_codes
    else:
        raise ManifestError(
            f"exit_codes: expected the exit code file text or parse_exit_codes(), got {quote_value(exit_codes)}"
        )
    runs = [dict(r) for r in parsed["runs"]]
    codes = dict(parsed["steps"])
    files = files or {}
    if not isinstance(files, Mapping):
        raise ManifestError(f"files: expected VM name -> list of files, got {quote_value(files)}")
    warnings = [str(w) for w in (*plan.get("warnings", ()), *warnings)]

    source_index = _source_hash_index(source_hashes) if verify == "hash" else {}
    writer_result = _writer(plan, writer)
    excluded_components = {_component_key(c) for c in writer_result["excluded_components"]}
    vms = []
    for vm in plan.get("vms", []):
        name = vm["name"]
        found = _file_index(files.get(name), f"files of VM {quote_value(name)}")
        problems = _step_problems(vm["steps"], codes, runs)
        if excluded_components & {_component_key(name), _component_key(vm.get("id"))}:
            note = f"VM {quote_value(name)}: the Hyper-V writer excluded it, so its copy is crash-consistent only"
            if writer_result["required"]:
                problems.append(note)
            else:
                warnings.append(note)
        entries = []
        for planned in vm["files"]:
            rel = planned["relative_path"]
            got = found.get(rel.casefold())
            entry = {
                "relative_path": rel,
                "original_path": planned["original_path"],
                "kind": planned["kind"],
                "size": None,
            }
            if got is None:
                problems.append(f"{rel}: missing at the destination")
                entries.append(entry)
                continue
            entry["size"] = _size(got.get("size"), f"VM {quote_value(name)} {rel} size")
            if entry["size"] is None:
                problems.append(f"{rel}: size at the destination unknown")
            source_size = _size(got.get("source_size"), f"VM {quote_value(name)} {rel} source_size")
            if verify != "none" and source_size is not None and source_size != entry["size"]:
                problems.append(f"{rel}: {entry['size']} bytes at the destination, {source_size} in the shadow copy")
            elif verify != "none" and source_size is None and got.get("source_size_error"):
                problems.append(f"{rel}: size in the shadow copy unknown ({got['source_size_error']})")
            sha = got.get("sha256")
            if sha is not None:
                sha = str(sha).lower()
                if not _SHA256_RE.match(sha):
                    raise ManifestError(
                        f"VM {quote_value(name)} {rel} sha256: expected 64 hex digits,"
                        f" got {quote_value(got.get('sha256'))}"
                    )
                entry["sha256"] = sha
            elif verify == "hash":
                problems.append(f"{rel}: no SHA-256 although verify is hash")
            if verify == "hash":
                source = source_index.get(str(planned.get("shadow_path") or "").casefold())
                mismatch = _hash_problem(rel, sha, source)
                if mismatch:
                    problems.append(mismatch)
            entries.append(entry)
        planned_paths = {f["relative_path"].casefold() for f in vm["files"]}
        warnings.extend(
            f"VM {quote_value(name)}: unexpected file at the destination: {found[key]['relative_path']}"
            for key in found
            if key not in planned_paths
        )
        seconds = (vm_seconds or {}).get(name)
        vms.append(
            {
                "name": name,
                "id": vm.get("id", ""),
                "state": vm.get("state", ""),
                "status": "failed" if problems else "complete",
                "bytes": sum(e["size"] or 0 for e in entries),
                "file_count": sum(1 for e in entries if e["size"] is not None),
                "seconds": None if seconds is None else float(seconds),
                "files": entries,
                "exit_codes": {s: codes[s] for s in vm["steps"] if s in codes},
                "problems": problems,
            }
        )

    extras = []
    for extra in plan.get("extra_paths", []):
        totals = (extra_totals or {}).get(extra["path"]) or {}
        problems = _step_problems([extra["step"]], codes, runs)
        extras.append(
            {
                "path": extra["path"],
                "destination": extra["destination"],
                "status": "failed" if problems else "complete",
                "files": _size(totals.get("files"), f"extra path {extra['path']} files"),
                "bytes": _size(totals.get("bytes"), f"extra path {extra['path']} bytes"),
                "exit_codes": {extra["step"]: codes[extra["step"]]} if extra["step"] in codes else {},
                "problems": problems,
            }
        )

    parts = [v["status"] for v in vms] + [e["status"] for e in extras]
    writer_missing = writer_result["required"] and writer_result["included"] is not True
    if writer_missing:
        warnings.append(
            "the Hyper-V VSS writer was required but not confirmed as included: the VM copies may not be"
            " application-consistent"
        )
    elif vms and writer_result["included"] is False:
        warnings.append("the Hyper-V VSS writer was excluded: VM copies are crash-consistent only")
    if not parsed["finished"] and error is None and parts:
        error = "the copy wrapper did not finish (no end line in its exit code file)"
    if error is None and not writer_missing and parts and all(p == "complete" for p in parts):
        status = "complete"
    elif writer_missing or "complete" not in parts:
        status = "failed"
    else:
        status = "partial"

    summary = _summary(robocopy_summary)
    return {
        "format": MANIFEST_FORMAT,
        "host": plan["host"],
        "generation": plan["generation"],
        "job_id": plan["job_id"],
        "started_at": start,
        "finished_at": end,
        "backup_type": plan["backup_type"],
        "verify": verify,
        "destination": plan["generation_path"],
        "status": status,
        "error": error,
        "shadow_set_id": shadow_set_id,
        "shadows": _shadows(shadows),
        "writer": writer_result,
        "vms": vms,
        "extra_paths": extras,
        "robocopy": {
            "runs": runs,
            "wrapper_exit_code": parsed.get("exit_code"),
            "summary": summary,
            "error_count": len((robocopy_summary or {}).get("errors") or []) if summary is not None else 0,
        },
        "warnings": warnings,
    }


def manifest_path(plan: Mapping[str, Any]) -> Optional[str]:
    """Where the manifest of ``plan``'s generation goes; None for a plan without one (a restic job)."""
    if not plan.get("generation_path"):
        return None
    return plan["generation_path"] + "\\" + MANIFEST_NAME


def validate_manifest(manifest: Any) -> List[str]:
    """Problems that make ``manifest`` unusable (empty list: valid). Mirrors docs/manifest.schema.json."""
    if not isinstance(manifest, Mapping):
        return [f"manifest: expected a JSON object, got {type(manifest).__name__}"]
    problems = []
    missing = [key for key in _TOP_KEYS if key not in manifest]
    if missing:
        problems.append(f"manifest: missing {', '.join(missing)}")
    if isinstance(manifest.get("format"), bool) or manifest.get("format") != MANIFEST_FORMAT:
        problems.append(f"format: expected {MANIFEST_FORMAT}, got {quote_value(manifest.get('format'))}")
    for key in ("host", "job_id", "destination"):
        if not isinstance(manifest.get(key), str) or not manifest.get(key):
            problems.append(f"{key}: expected a non-empty string, got {quote_value(manifest.get(key))}")
    generation = manifest.get("generation")
    if not isinstance(generation, str) or not GENERATION_RE.match(generation) or not parse_generation_id(generation):
        problems.append(f"generation: expected an id like 20261125T020000Z, got {quote_value(generation)}")
    for key in ("started_at", "finished_at"):
        if not isinstance(manifest.get(key), str) or not _UTC_RE.match(manifest[key]):
            problems.append(
                f"{key}: expected UTC ISO 8601 like 2026-11-25T02:00:00Z, got {quote_value(manifest.get(key))}"
            )
    if manifest.get("backup_type") not in ("copy", "full"):
        problems.append(f"backup_type: expected copy or full, got {quote_value(manifest.get('backup_type'))}")
    if manifest.get("verify") not in VERIFY_MODES:
        problems.append(f"verify: expected size, hash or none, got {quote_value(manifest.get('verify'))}")
    if manifest.get("status") not in STATUSES:
        problems.append(f"status: expected complete, partial or failed, got {quote_value(manifest.get('status'))}")
    for key in ("shadows", "vms", "extra_paths", "warnings"):
        if not isinstance(manifest.get(key), list):
            problems.append(f"{key}: expected a list, got {quote_value(manifest.get(key))}")
    writer = manifest.get("writer")
    if (
        not isinstance(writer, Mapping)
        or any(key not in writer for key in _WRITER_KEYS)
        or writer.get("id") != HYPERV_WRITER_ID
        or not isinstance(writer.get("required"), bool)
        or writer.get("included") not in (True, False, None)
    ):
        problems.append(f"writer: expected the Hyper-V writer result object, got {quote_value(writer)}")
    if not isinstance(manifest.get("robocopy"), Mapping) or not isinstance(manifest["robocopy"].get("runs"), list):
        problems.append(f"robocopy: expected an object with runs, got {quote_value(manifest.get('robocopy'))}")
    for index, shadow in enumerate(manifest.get("shadows") if isinstance(manifest.get("shadows"), list) else []):
        if not isinstance(shadow, Mapping) or not isinstance(shadow.get("id"), str) or not shadow["id"]:
            problems.append(f"shadows[{index}]: expected an object with an id")
    for index, vm in enumerate(manifest.get("vms") if isinstance(manifest.get("vms"), list) else []):
        if not isinstance(vm, Mapping):
            problems.append(f"vms[{index}]: expected an object")
            continue
        if vm.get("status") not in ("complete", "failed"):
            problems.append(f"vms[{index}].status: expected complete or failed, got {quote_value(vm.get('status'))}")
        if any(key not in vm for key in _VM_KEYS):
            problems.append(f"vms[{index}]: missing {', '.join(k for k in _VM_KEYS if k not in vm)}")
        if not isinstance(vm.get("name"), str) or not isinstance(vm.get("files"), list):
            problems.append(f"vms[{index}]: expected a name and a list of files")
            continue
        for f_index, entry in enumerate(vm["files"]):
            where = f"vms[{index}].files[{f_index}]"
            if not isinstance(entry, Mapping) or not isinstance(entry.get("relative_path"), str):
                problems.append(f"{where}: expected an object with relative_path")
                continue
            size = entry.get("size")
            if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
                problems.append(f"{where}.size: expected a byte count or null, got {quote_value(size)}")
            if "sha256" in entry and not (isinstance(entry["sha256"], str) and _SHA256_RE.match(entry["sha256"])):
                problems.append(
                    f"{where}.sha256: expected 64 lower-case hex digits, got {quote_value(entry['sha256'])}"
                )
    for index, extra in enumerate(manifest.get("extra_paths") if isinstance(manifest.get("extra_paths"), list) else []):
        if (
            not isinstance(extra, Mapping)
            or extra.get("status") not in ("complete", "failed")
            or any(key not in extra for key in _EXTRA_KEYS)
        ):
            problems.append(f"extra_paths[{index}]: expected an object with {', '.join(_EXTRA_KEYS)}")
    if manifest.get("error") is not None and not isinstance(manifest.get("error"), str):
        problems.append(f"error: expected a string or null, got {quote_value(manifest.get('error'))}")
    if problems:
        return problems
    if manifest["status"] == "complete":
        if any(part.get("status") != "complete" for part in (*manifest["vms"], *manifest["extra_paths"])):
            problems.append("status: complete, but a VM or extra path is not complete")
        if manifest.get("error") is not None:
            problems.append("status: complete, but an error is recorded")
    try:
        if parse_utc(manifest["finished_at"]) < parse_utc(manifest["started_at"]):
            problems.append("finished_at: before started_at")
    except ValueError as exc:
        problems.append(f"started_at/finished_at: {exc}")
    return problems


def is_generation_complete(manifest: Any, generation: Optional[str] = None) -> bool:
    """True only for a valid manifest with ``status: complete`` (of ``generation`` when given).

    A missing manifest (None), a manifest of another generation, an unknown format or any
    inconsistency makes the generation incomplete: retention never counts it as kept.
    """
    if manifest is None or validate_manifest(manifest):
        return False
    if generation is not None and manifest["generation"].casefold() != generation.casefold():
        return False
    return manifest["status"] == "complete"


def retention_entry(generation: str, manifest: Any) -> Dict[str, Any]:
    """The ``{"id", "finished_at", "complete"}`` dict ``retention.select_expired`` takes.

    ``finished_at`` is the manifest's end time; without a usable manifest it is the time encoded in
    the generation id, so an unfinished generation still sorts by when it started.
    """
    complete = is_generation_complete(manifest, generation)
    if complete:
        finished = parse_utc(manifest["finished_at"])
    else:
        finished = parse_generation_id(generation)
        if finished is None:
            raise ManifestError(f"generation {quote_value(generation)}: not a generation id of this collection")
    return {"id": generation, "finished_at": finished, "complete": complete}
