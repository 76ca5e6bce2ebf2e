# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""Read what restic printed: its ``--json`` messages on stdout, its diagnostics on stderr, its exit code.

restic prints one JSON document a line with ``--json``: ``backup`` a stream of
``{"message_type": "status", ...}`` lines and one ``{"message_type": "summary", ...}`` at the end
(restic >= 0.17 adds ``{"message_type": "error", ...}`` lines for files it could not read);
``snapshots``, ``forget`` and ``stats`` one document each; ``ls`` the snapshot and then one node a line.
``check``, ``prune`` and (before 0.17) ``restore`` and ``init`` print text only. Fatal errors are
text on stderr, starting ``Fatal:``, whatever ``--json`` says.

Exit codes (restic's manual, "Scripting"): 0 success, 1 failure, 3 backup made a snapshot but could not
read some files, 10 no repository, 11 the repository is locked, 12 wrong password (10-12 since 0.17;
older versions exit 1 and only the text tells), 130 interrupted. Any other code is a failure.
:func:`classify_failure` names the case from the code and the text, so 0.14 and 0.18 read alike.

Every parser takes the text restic printed and never raises on what restic may print; a document that
is not what the command prints is reported, not guessed at.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic.options import vm_name_from_tags

__all__ = [
    "FAILURE_KINDS",
    "backup_progress",
    "classify_failure",
    "dedup_ratio",
    "json_lines",
    "parent_missing",
    "parse_backup",
    "parse_check",
    "parse_config",
    "parse_forget",
    "parse_init",
    "parse_ls",
    "parse_restore",
    "parse_snapshot_groups",
    "parse_snapshot_time",
    "parse_snapshots",
    "parse_stats",
]

FAILURE_KINDS = (
    "wrong_password",
    "locked",
    "no_repository",
    "repository_exists",
    "damaged",
    "incomplete",
    "interrupted",
    "failed",
)

_EXIT_KINDS = {3: "incomplete", 10: "no_repository", 11: "locked", 12: "wrong_password", 130: "interrupted"}
_TEXT_KINDS = (
    ("wrong_password", re.compile(r"wrong password or no key found", re.IGNORECASE)),
    ("locked", re.compile(r"repository is already locked|unable to create lock", re.IGNORECASE)),
    (
        "no_repository",
        re.compile(r"repository does not exist|unable to open config file|Is there a repository at", re.IGNORECASE),
    ),
    (
        "repository_exists",
        re.compile(r"config file already exists|repository master key and config already initialized"),
    ),
    (
        "damaged",
        re.compile(
            r"repository contains errors|Pack ID does not match|ciphertext verification failed|"
            r"pack file cannot be listed|is damaged|errors were found",
            re.IGNORECASE,
        ),
    ),
)
_LOCK_RE = re.compile(r"locked (?:exclusively )?by PID (\d+) on (.+?) by (.+?)(?: \(UID|\s*$)", re.MULTILINE)
_LOCK_AT_RE = re.compile(r"lock was created at (.+?) \(", re.MULTILINE)
_SKIPPED_RE = re.compile(r"^(.*) does not exist, skipping$", re.MULTILINE)
_TIME_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$")
_INIT_RE = re.compile(r"created restic repository ([0-9a-f]+) at (.+)$", re.MULTILINE)
_RESTORE_ERROR_RE = re.compile(r"^ignoring error for (.*?): (.*)$", re.MULTILINE)
_CHECK_READ_RE = re.compile(
    r"^read (all data|[\d.]+% of data packs|group #\d+ of \d+ data packs.*|\S+ of data packs.*)$", re.MULTILINE
)
_CHECK_QUIET = re.compile(
    r"^(using temporary cache in |create exclusive lock|load indexes|check all packs|check snapshots|"
    r"read all data|read \S+|\[\d+:\d+\]|no errors were found|Fatal: repository contains errors|"
    r"loading indexes|checking |\s*$)"
)
_SUMMARY_KEYS = (
    "files_new",
    "files_changed",
    "files_unmodified",
    "dirs_new",
    "dirs_changed",
    "dirs_unmodified",
    "data_blobs",
    "tree_blobs",
    "data_added",
    "data_added_packed",
    "total_files_processed",
    "total_bytes_processed",
    "total_duration",
    "backup_start",
    "backup_end",
    "snapshot_id",
)


def json_lines(text: Any) -> Tuple[List[Any], List[str]]:
    """Split restic's stdout into JSON documents (one a line) and the other, non-empty lines."""
    documents: List[Any] = []
    other: List[str] = []
    for line in (text or "").splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped[0] in "{[":
            try:
                documents.append(json.loads(stripped))
                continue
            except ValueError:
                pass
        other.append(stripped)
    return documents, other


def _fatal(stderr: str) -> Optional[str]:
    for line in stderr.splitlines():
        if line.startswith("Fatal:"):
            return line[len("Fatal:") :].strip()
    return None


def _lock_holder(text: str) -> Optional[Dict[str, Any]]:
    match = _LOCK_RE.search(text)
    if not match:
        return None
    created = _LOCK_AT_RE.search(text)
    return {
        "pid": int(match.group(1)),
        "host": match.group(2),
        "user": match.group(3),
        "created_at": created.group(1) if created else None,
    }


def classify_failure(exit_code: Any, stderr: Any = "", stdout: Any = "") -> Optional[Dict[str, Any]]:
    """What went wrong, or None when restic exited 0.

    :returns: ``{"kind": one of FAILURE_KINDS, "exit_code": n, "message": text, "lock": {...} | None}``;
        ``message`` is restic's ``Fatal:`` line, else its last line of stderr.
    """
    if exit_code == 0:
        return None
    err = stderr if isinstance(stderr, str) else ""
    out = stdout if isinstance(stdout, str) else ""
    kind = _EXIT_KINDS.get(exit_code) if isinstance(exit_code, int) else None
    if kind in (None, "incomplete"):
        for name, pattern in _TEXT_KINDS:
            if pattern.search(err):
                kind = name
                break
    kind = kind or "failed"
    lines = [line.strip() for line in err.splitlines() if line.strip()]
    message = _fatal(err) or (lines[-1] if lines else None)
    if not message:
        others = json_lines(out)[1]
        message = others[-1] if others else f"restic exited with code {exit_code} and printed no error"
    if kind == "locked":
        # restic prints the holder on the lines after the Fatal/unable line: keep them together.
        message = " ".join(line for line in lines if not line.startswith("the `unlock` command")) or message
    return {
        "kind": kind,
        "exit_code": exit_code,
        "message": message,
        "lock": _lock_holder(err) if kind == "locked" else None,
    }


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value


def backup_progress(status: Mapping[str, Any]) -> Dict[str, Any]:
    """One ``status`` message as the progress shown in status.json and the task result."""
    current = status.get("current_files")
    return {
        "percent_done": _number(status.get("percent_done")),
        "bytes_done": _number(status.get("bytes_done")),
        "total_bytes": _number(status.get("total_bytes")),
        "files_done": _number(status.get("files_done")),
        "total_files": _number(status.get("total_files")),
        "seconds_elapsed": _number(status.get("seconds_elapsed")),
        "seconds_remaining": _number(status.get("seconds_remaining")),
        "error_count": _number(status.get("error_count")),
        "current_files": [str(name) for name in current] if isinstance(current, list) else [],
    }


def dedup_ratio(processed: Any, added: Any) -> Optional[float]:
    """Bytes read per byte stored (processed / added), rounded; None when nothing was added."""
    if _number(processed) is None or not _number(added):
        return None
    return round(processed / added, 2)


def _error_text(message: Mapping[str, Any]) -> str:
    error = message.get("error")
    if isinstance(error, Mapping):
        text = error.get("message")
        if text:
            return str(text)
        return "error (restic < 0.17 does not print its text in JSON)"
    return str(error) if error else "error"


def parse_backup(stdout: Any, stderr: Any = "", exit_code: Any = 0) -> Dict[str, Any]:
    """``backup --json``: the summary, the last progress, the files restic could not read, the verdict.

    :returns: ``{"ok", "snapshot_id", "summary", "progress", "errors", "skipped", "failure"}``: ``ok`` only
        when restic exited 0, printed a summary with a snapshot id and reported no error and no skipped
        path. ``errors`` are restic's error messages (``item``, ``during``, ``message``), ``skipped`` the
        paths restic < 0.17 skips with "does not exist, skipping" (exit 0; 0.17 exits 3).
    """
    documents, _other = json_lines(stdout)
    summary = None
    last_status = None
    errors = []
    for doc in documents:
        if not isinstance(doc, Mapping):
            continue
        kind = doc.get("message_type")
        if kind == "summary":
            summary = {key: doc.get(key) for key in _SUMMARY_KEYS if key in doc}
        elif kind == "status":
            last_status = doc
        elif kind == "error":
            errors.append({"item": doc.get("item"), "during": doc.get("during"), "message": _error_text(doc)})
    err = stderr if isinstance(stderr, str) else ""
    skipped = [match.group(1) for match in _SKIPPED_RE.finditer(err)]
    failure = classify_failure(exit_code, err, stdout)
    if summary is not None:
        summary["dedup_ratio"] = dedup_ratio(summary.get("total_bytes_processed"), summary.get("data_added"))
    snapshot_id = summary.get("snapshot_id") if summary else None
    if failure is None and (summary is None or not snapshot_id):
        failure = {
            "kind": "failed",
            "exit_code": exit_code,
            "message": "restic printed no summary with a snapshot id",
            "lock": None,
        }
    if failure is None and (errors or skipped):
        failure = {
            "kind": "incomplete",
            "exit_code": exit_code,
            "message": "restic could not read "
            + ", ".join([str(e["item"]) for e in errors] + [f"{path} (does not exist)" for path in skipped]),
            "lock": None,
        }
    return {
        "ok": failure is None,
        "snapshot_id": snapshot_id,
        "summary": summary,
        "progress": backup_progress(last_status) if last_status else None,
        "errors": errors,
        "skipped": skipped,
        "failure": failure,
    }


def parse_snapshot_time(text: Any) -> Optional[_dt.datetime]:
    """restic's RFC 3339 time with up to nanoseconds (``2026-12-03T07:35:30.690415942Z``, ``...+01:00``)."""
    match = _TIME_RE.match(text) if isinstance(text, str) else None
    if not match:
        return None
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    micro = int((match.group(7) or "0")[:6].ljust(6, "0"))
    zone_text = match.group(8)
    if zone_text == "Z":
        zone = _dt.timezone.utc
    else:
        sign = 1 if zone_text[0] == "+" else -1
        zone = _dt.timezone(sign * _dt.timedelta(hours=int(zone_text[1:3]), minutes=int(zone_text[4:6])))
    return _dt.datetime(year, month, day, hour, minute, second, micro, tzinfo=zone)


def _snapshot(doc: Mapping[str, Any]) -> Dict[str, Any]:
    tags = doc.get("tags") if isinstance(doc.get("tags"), list) else []
    vm_id = next((tag[len("vm-id:") :] for tag in tags if isinstance(tag, str) and tag.startswith("vm-id:")), None)
    when = parse_snapshot_time(doc.get("time"))
    return {
        "id": doc.get("id"),
        "short_id": doc.get("short_id") or (str(doc.get("id"))[:8] if doc.get("id") else None),
        "time": when.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if when else doc.get("time"),
        "host": doc.get("hostname"),
        "paths": list(doc.get("paths") or []),
        "tags": list(tags),
        "parent": doc.get("parent"),
        "tree": doc.get("tree"),
        "vm_id": vm_id,
        "vm_name": vm_name_from_tags(tags),
        "summary": doc.get("summary") if isinstance(doc.get("summary"), Mapping) else None,
    }


def parse_snapshots(stdout: Any) -> List[Dict[str, Any]]:
    """``snapshots --json``: one entry per snapshot, oldest first (by time, then id).

    :raises ValueError: when stdout holds no JSON list (restic failed: see :func:`classify_failure`).
    """
    documents, _other = json_lines(stdout)
    lists = [doc for doc in documents if isinstance(doc, list)]
    if not lists:
        raise ValueError("restic snapshots --json printed no JSON list")
    result = [_snapshot(doc) for doc in lists[0] if isinstance(doc, Mapping)]
    return sorted(result, key=lambda snap: (snap["time"] or "", snap["id"] or ""))


def parse_snapshot_groups(stdout: Any) -> List[Dict[str, Any]]:
    """``snapshots --json`` with or without ``--group-by``: every snapshot of every group, oldest first.

    With ``--group-by`` restic prints ``[{"group_key": {...}, "snapshots": [...]}, ...]``, without it the
    flat list :func:`parse_snapshots` reads.

    :raises ValueError: when stdout holds no JSON list (restic failed: see :func:`classify_failure`).
    """
    documents, _other = json_lines(stdout)
    lists = [doc for doc in documents if isinstance(doc, list)]
    if not lists:
        raise ValueError("restic snapshots --json printed no JSON list")
    found: List[Mapping[str, Any]] = []
    for doc in lists[0]:
        if isinstance(doc, Mapping) and isinstance(doc.get("snapshots"), list) and "group_key" in doc:
            found += [snap for snap in doc["snapshots"] if isinstance(snap, Mapping)]
        elif isinstance(doc, Mapping):
            found.append(doc)
    result = [_snapshot(doc) for doc in found]
    return sorted(result, key=lambda snap: (snap["time"] or "", snap["id"] or ""))


def parse_config(stdout: Any) -> Dict[str, Any]:
    """``cat config``: the repository's format ``version`` (1 or 2; 2 is needed for compression) and ``id``.

    :raises ValueError: when stdout holds no config document.
    """
    documents, _other = json_lines(stdout)
    if not documents:
        # restic pretty-prints the config over several lines
        try:
            documents = [json.loads(stdout)] if isinstance(stdout, str) and stdout.strip() else []
        except ValueError:
            documents = []
    for doc in documents:
        if isinstance(doc, Mapping) and isinstance(doc.get("version"), int) and not isinstance(doc["version"], bool):
            return {"version": doc["version"], "id": doc.get("id")}
    raise ValueError("restic cat config printed no repository config with a version")


def parent_missing(text: Any, parent: Any) -> bool:
    """Whether ``backup --parent <parent>`` failed because no snapshot ``parent`` is in the repository any more
    (restic's ``Fatal: invalid id "<parent>": no matching ID found``; ``text``: its stderr, and stdout for the
    JSON error message of newer versions)."""
    if not isinstance(text, str) or not isinstance(parent, str) or not parent:
        return False
    return bool(re.search(r'invalid id \\?"' + re.escape(parent) + r'\\?"', text))


def parse_forget(stdout: Any) -> Dict[str, Any]:
    """``forget --json``: per group the snapshots kept and removed, and the ids removed overall.

    :returns: ``{"groups": [{"host", "tags", "paths", "keep": [ids], "remove": [ids], "reasons": {id: [..]}}],
        "kept": [ids], "removed": [ids]}``
    :raises ValueError: when stdout holds no JSON list.
    """
    documents, _other = json_lines(stdout)
    lists = [doc for doc in documents if isinstance(doc, list)]
    if not lists:
        raise ValueError("restic forget --json printed no JSON list")
    groups = []
    kept: List[str] = []
    removed: List[str] = []
    for group in lists[0]:
        if not isinstance(group, Mapping):
            continue
        keep = [snap.get("id") for snap in group.get("keep") or [] if isinstance(snap, Mapping)]
        remove = [snap.get("id") for snap in group.get("remove") or [] if isinstance(snap, Mapping)]
        reasons = {}
        for reason in group.get("reasons") or []:
            snap = reason.get("snapshot") if isinstance(reason, Mapping) else None
            if isinstance(snap, Mapping):
                # restic < 0.17 leaves the id out of the reason's snapshot: match it by time and tree.
                match = next(
                    (
                        s.get("id")
                        for s in group.get("keep") or []
                        if isinstance(s, Mapping)
                        and s.get("time") == snap.get("time")
                        and s.get("tree") == snap.get("tree")
                    ),
                    snap.get("id"),
                )
                reasons[match] = list(reason.get("matches") or [])
        groups.append(
            {
                "host": group.get("host"),
                "tags": group.get("tags"),
                "paths": group.get("paths"),
                "keep": keep,
                "remove": remove,
                "reasons": reasons,
            }
        )
        kept += keep
        removed += remove
    return {"groups": groups, "kept": kept, "removed": removed}


def parse_ls(stdout: Any) -> Dict[str, Any]:
    """``ls --json <snapshot>``: the snapshot and its files (``path`` with ``/``, ``size``, ``mtime``) and folders."""
    documents, _other = json_lines(stdout)
    snapshot = None
    files = []
    dirs = []
    for doc in documents:
        if not isinstance(doc, Mapping):
            continue
        if doc.get("struct_type") == "snapshot" or (snapshot is None and "tree" in doc and "paths" in doc):
            snapshot = _snapshot(doc)
        elif doc.get("type") == "file":
            files.append({"path": doc.get("path"), "size": doc.get("size"), "mtime": doc.get("mtime")})
        elif doc.get("type") == "dir":
            dirs.append(doc.get("path"))
    if snapshot is None:
        raise ValueError("restic ls --json printed no snapshot")
    return {"snapshot": snapshot, "files": files, "dirs": dirs}


def parse_check(stdout: Any, stderr: Any = "", exit_code: Any = 0) -> Dict[str, Any]:
    """``check`` (text output): whether the repository is sound and what restic found wrong.

    :returns: ``{"ok", "read_data": "all data" | "50.0% of data packs" | None, "errors": [lines], "failure"}``;
        ``ok`` needs exit 0 and restic's "no errors were found".
    """
    out = stdout if isinstance(stdout, str) else ""
    err = stderr if isinstance(stderr, str) else ""
    read = _CHECK_READ_RE.search(out)
    errors = [
        line.strip()
        for line in (err + "\n" + out).splitlines()
        if line.strip() and not _CHECK_QUIET.match(line.strip()) and not line.startswith(("{", "["))
    ]
    sound = exit_code == 0 and "no errors were found" in out
    failure = classify_failure(exit_code, err, out)
    if failure is None and not sound:
        failure = {
            "kind": "failed",
            "exit_code": exit_code,
            "message": "restic check did not report 'no errors were found'",
            "lock": None,
        }
    return {"ok": failure is None, "read_data": read.group(1) if read else None, "errors": errors, "failure": failure}


def parse_restore(stdout: Any, stderr: Any = "", exit_code: Any = 0) -> Dict[str, Any]:
    """``restore``: the summary (restic >= 0.17 with ``--json``) and the files restic could not restore."""
    documents, _other = json_lines(stdout)
    summary = None
    errors = []
    for doc in documents:
        if isinstance(doc, Mapping) and doc.get("message_type") == "summary":
            summary = dict(doc)
        elif isinstance(doc, Mapping) and doc.get("message_type") == "error":
            errors.append({"item": doc.get("item"), "message": _error_text(doc)})
    err = stderr if isinstance(stderr, str) else ""
    errors += [{"item": match.group(1), "message": match.group(2)} for match in _RESTORE_ERROR_RE.finditer(err)]
    failure = classify_failure(exit_code, err, stdout)
    if failure is None and errors:
        failure = {
            "kind": "failed",
            "exit_code": exit_code,
            "message": f"{len(errors)} file(s) not restored",
            "lock": None,
        }
    if failure is not None and errors and failure["kind"] == "failed":
        failure["message"] += ": " + "; ".join(f"{e['item']}: {e['message']}" for e in errors[:5])
    return {"ok": failure is None, "summary": summary, "errors": errors, "failure": failure}


def parse_stats(stdout: Any) -> Dict[str, Any]:
    """``stats --json``: sizes (``total_size``; restic >= 0.16 adds ``total_uncompressed_size``, ...)."""
    documents, _other = json_lines(stdout)
    for doc in documents:
        if isinstance(doc, Mapping) and "total_size" in doc:
            keys = (
                "total_size",
                "total_uncompressed_size",
                "compression_ratio",
                "compression_space_saving",
                "total_blob_count",
                "total_file_count",
                "snapshots_count",
            )
            return {key: doc.get(key) for key in keys if key in doc}
    raise ValueError("restic stats --json printed no sizes")


def parse_init(stdout: Any) -> Dict[str, Any]:
    """``init``: the new repository's id (text before restic 0.15, ``{"message_type": "initialized"}`` after)."""
    documents, other = json_lines(stdout)
    for doc in documents:
        if isinstance(doc, Mapping) and doc.get("message_type") == "initialized":
            return {"id": doc.get("id"), "location": doc.get("repository")}
    match = _INIT_RE.search("\n".join(other))
    if match:
        return {"id": match.group(1), "location": match.group(2).strip()}
    raise ValueError("restic init printed neither its JSON message nor 'created restic repository'")
