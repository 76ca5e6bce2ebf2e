# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""A ``win_vss_backup`` job whose VMs go to a restic repository: the plan's restic steps and their outcome.

The job takes the same application-consistent shadow copies as a files job (``_vss/plan.build_plan`` with
``destination=None``); :func:`add_restic_steps` then replaces the robocopy steps with one ``restic backup
--json`` step per VM over the exposed shadow folders. The diskshadow script ends after ``EXPOSE``; the job
runner runs each step's argument list, records restic's stdout (JSON lines) and stderr in the job folder
and its exit code in ``status.json`` (``restic_exit_codes``), deletes the shadows, then runs ``restic
check``. The controller reads that with :func:`analyse` and, only when every snapshot was made and the check
found no error, hands the runner the ``forget`` steps of :func:`retention_steps` (never ``--prune``;
``prune`` is its own step on the configured weekdays) in the signed verdict.

A step (``plan["steps"]`` item, ``plan["restic"]["check"]``, a retention step)::

    {"id": "r001", "kind": "backup" | "init" | "check" | "forget" | "prune" | "config" | "snapshots",
     "vm": "web01" | None, "vm_id": <guid> | None, "extra_path": "D:\\\\Scripts" (extra path steps only),
     "working_dir": <folder restic runs in>, "paths": [...] (backup only),
     "tags": [...] (backup only), "args": [...], "command_line": "<args quoted for CreateProcess>",
     "stdout": "<job_dir>\\\\restic-r001.out", "stderr": "<job_dir>\\\\restic-r001.err"}

Each extra path is its own snapshot (step ``e001``, ...), made from its volume's mount folder with the path below
the volume root, tagged ``vaware.hyperv``, ``extra`` and ``extra-path:<path>`` (:func:`.options.extra_tags`);
its retention is its own ``forget`` group (``--tag extra-path:<path>``).

Before any shadow copy the runner runs the read-only probe (``plan["restic"]["probe"]``: ``cat config`` and this
host's newest snapshot per tag set) and waits in :data:`PLAN_PHASE` for the controller's signed
:data:`PLAN_ANSWER_FILE` (:func:`plan_answer`): a refusal (the repository cannot be read, or its format version
does not take ``repository.compression``) ends the job before the snapshot; otherwise the answer's backup steps,
each naming the newest snapshot of its VM (or extra path) as ``--parent``, replace the planned ones.

``command_line`` is ``args`` quoted by the rules Windows programs (and Go's runtime, so restic) use to
split a command line (:func:`windows_command_line`): Windows PowerShell 5.1's ``Start-Process`` joins an
argument array with spaces and quotes nothing, so the runner passes this one string. A VM whose files are
on one volume is backed up with that volume's mount folder as working directory and paths relative to it
(the snapshot holds ``Hyper-V\\\\web01\\\\...``, not the job folder); a VM spanning volumes from the mount
root, with paths below the volume aliases (``VAWVOL1\\\\...``, ``VAWVOL2\\\\...``).

Secrets never enter the plan, the parameters file or a command line: the password and restic's environment
(``RESTIC_REPOSITORY``, backend credentials, ``RESTIC_PASSWORD_FILE``) reach the start payload as sensitive
parameters (:func:`secret_parameters`), which writes them into the job folder readable only by the job
account (:data:`SECRET_FILES`); the runner reads the environment file, deletes it, and deletes the password
file when the job ends.
"""

from __future__ import annotations

import copy
import datetime
import json
import re
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic import command
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic.messages import (
    classify_failure,
    dedup_ratio,
    parent_missing,
    parse_backup,
    parse_check,
    parse_config,
    parse_forget,
    parse_snapshot_groups,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic.options import (
    WEEKDAYS,
    ResticOptionError,
    dir_tags,
    extra_path_from_tags,
    extra_path_tag,
    extra_tags,
    restic_environment,
    validate_repository,
    vm_tags,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._winpath import is_under, join

__all__ = [
    "ENVIRONMENT_FILE",
    "PASSWORD_FILE",
    "PLAN_ANSWER_FILE",
    "PLAN_PHASE",
    "SECRET_FILES",
    "add_restic_steps",
    "analyse",
    "check_repository_option",
    "collect_entries",
    "compression_problem",
    "display_location",
    "failure_text",
    "forget_results",
    "is_restic",
    "output_steps",
    "plan_answer",
    "restic_secrets",
    "retention_steps",
    "runner_parameters",
    "secret_parameters",
    "windows_command_line",
    "without_parent",
]

PASSWORD_FILE = "restic.pass"  # noqa: S105 - a file name, not a password
ENVIRONMENT_FILE = "restic.env.json"
#: Files of the job folder that hold secrets (written by the start payload, removed by the runner).
SECRET_FILES = (PASSWORD_FILE, ENVIRONMENT_FILE)
#: The runner's phase while it waits, before any shadow copy, for the controller's answer to the probe steps.
PLAN_PHASE = "awaiting_restic_plan"
#: The job folder file (signed like the verdict) with that answer: refuse, or the backup steps with --parent.
PLAN_ANSWER_FILE = "restic_plan.json"
#: Compression modes a repository of format version 1 takes (it stores everything uncompressed).
VERSION1_COMPRESSION = ("auto", "off")
STDOUT_TAIL = 1024 * 1024  # backup --json ends with its summary; its status lines before can be many
STDERR_TAIL = 64 * 1024
_USERINFO_RE = re.compile(r"^([a-z0-9]+:(?:[a-z]+://)?)[^/@]+@", re.IGNORECASE)


def is_restic(plan: Optional[Mapping[str, Any]]) -> bool:
    return bool(plan) and (plan.get("repository") or {}).get("type") == "restic"


def check_repository_option(value: Any) -> Optional[Dict[str, Any]]:
    """The task's ``repository`` option: None for the files repository, else the validated restic mapping.

    :raises ResticOptionError: naming the key and what was expected.
    """
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ResticOptionError(f"repository must be a mapping with type files or restic; got {value!r}")
    given = {key: item for key, item in value.items() if item is not None}
    kind = given.get("type", "files")
    if kind == "files":
        extra = sorted(key for key in given if key != "type")
        if extra:
            raise ResticOptionError(
                f"repository: {', '.join(extra)} apply to type restic only; type files takes the destination option"
            )
        return None
    if kind != "restic":
        raise ResticOptionError(f"repository.type must be files or restic; got {kind!r}")
    return validate_repository(given)


def display_location(location: str) -> str:
    """The repository location as results may show it: a ``user:password@`` part of a URL is left out."""
    return _USERINFO_RE.sub(r"\1***@", location)


def windows_command_line(args: Sequence[str]) -> str:
    """``args`` as one command line that CommandLineToArgvW (and Go's os.Args on Windows) splits back into ``args``.

    An argument with a space or tab, or an empty one, is put in double quotes; a double quote inside an
    argument is escaped as ``\\"``, and the backslashes before it (or before the closing quote) are doubled.
    """
    parts = []
    for arg in args:
        if not isinstance(arg, str):
            raise ResticOptionError(f"restic argument {arg!r} is not a string")
        quoted = not arg or " " in arg or "\t" in arg
        out = ['"'] if quoted else []
        slashes = 0
        for char in arg:
            if char == "\\":
                slashes += 1
                continue
            if char == '"':
                out.append("\\" * (2 * slashes + 1) + '"')
            else:
                out.append("\\" * slashes + char)
            slashes = 0
        out.append("\\" * (2 * slashes if quoted else slashes) + ('"' if quoted else ""))
        parts.append("".join(out))
    return " ".join(parts)


def _step(job_dir: str, step_id: str, kind: str, args: List[str], working_dir: str, **extra: Any) -> Dict[str, Any]:
    return {
        "id": step_id,
        "kind": kind,
        "vm": extra.pop("vm", None),
        "vm_id": extra.pop("vm_id", None),
        "working_dir": working_dir,
        **extra,
        "args": args,
        "command_line": windows_command_line(args),
        "stdout": join(job_dir, f"restic-{step_id}.out"),
        "stderr": join(job_dir, f"restic-{step_id}.err"),
    }


def _relative(path: str, folder: str) -> str:
    return path[len(folder.rstrip("\\")) :].strip("\\")


def add_restic_steps(plan: Mapping[str, Any], repository: Mapping[str, Any]) -> Dict[str, Any]:
    """The plan of ``build_plan(..., destination=None)`` with one restic backup step per VM (see module doc)."""
    if plan.get("backup_type") != "copy":
        raise ResticOptionError(
            "backup_type full needs the files repository: restic reads the shadow copies after diskshadow has"
            " ended, so BackupComplete could not follow it; use backup_type copy with a restic repository"
        )
    result = copy.deepcopy(dict(plan))
    copy_steps = {step["id"]: step for step in result.get("steps") or []}
    job_dir = result["job_dir"]
    mount_root = result["mount_root"]
    folders = {volume["alias"]: volume["mount_folder"] for volume in result["volumes"]}
    steps = []
    for vm in result["vms"]:
        aliases = list(vm["aliases"])
        base = folders[aliases[0]] if len(aliases) == 1 else mount_root
        paths = []
        origins: Dict[str, str] = {}  # folder in the snapshot -> the folder it was on the host (for the restore)
        for planned in vm["files"]:
            shadow = planned["shadow_path"]
            if not is_under(shadow, base):
                raise ResticOptionError(f"VM {vm['name']}: {shadow} is not below its mount folder {base}")
            rel = _relative(shadow, base)
            if rel.casefold() not in (p.casefold() for p in paths):
                paths.append(rel)
            inside = rel.rpartition("\\")[0]
            if inside.casefold() not in (key.casefold() for key in origins):
                origins[inside] = planned["original_path"].rpartition("\\")[0]
        tags = vm_tags(vm["name"], vm["id"], list(repository.get("tags") or []))
        tags += [tag for tag in dir_tags(origins, len(paths)) if tag not in tags]
        step_id = f"r{len(steps) + 1:03d}"
        args = command.backup_args(repository, paths, tags, result["host"])
        steps.append(
            _step(job_dir, step_id, "backup", args, base, vm=vm["name"], vm_id=vm["id"], paths=paths, tags=tags)
        )
        vm["steps"] = [step_id]
        vm["destination"] = None
    # each extra path its own snapshot, from its volume's mount folder, tagged extra and extra-path:<path>
    for count, extra in enumerate(result.get("extra_paths") or [], start=1):
        base = folders[extra["alias"]]
        source = copy_steps[extra["step"]]["source_dir"]
        if not is_under(source, base):
            raise ResticOptionError(f"extra path {extra['path']}: {source} is not below its mount folder {base}")
        paths = [_relative(source, base) or "."]
        tags = extra_tags(extra["path"], list(repository.get("tags") or []))
        step_id = f"e{count:03d}"
        args = command.backup_args(repository, paths, tags, result["host"])
        steps.append(_step(job_dir, step_id, "backup", args, base, paths=paths, tags=tags, extra_path=extra["path"]))
        extra["step"] = step_id
        extra["destination"] = None
    result["steps"] = steps
    result["repository"] = {
        "type": "restic",
        "location": display_location(repository["location"]),
        "restic_path": repository["restic_path"],
        "compression": repository["compression"],
        "tags": list(repository["tags"]),
        "options": dict(repository["options"]),
        "environment_names": sorted(repository["environment"]),
        "init": repository["init"],
        "check_read_data_subset": repository["check_read_data_subset"],
        "prune_weekdays": list(repository["prune_weekdays"]),
    }
    result["restic"] = {
        "exe": repository["restic_path"],
        "password_file": join(job_dir, PASSWORD_FILE),
        "environment_file": join(job_dir, ENVIRONMENT_FILE),
        "init": _step(job_dir, "init", "init", command.init_args(repository), job_dir) if repository["init"] else None,
        "check": _step(
            job_dir, "check", "check", command.check_args(repository, repository["check_read_data_subset"]), job_dir
        ),
        # read-only, before the snapshot: the repository's format version and each VM's newest snapshot
        "probe": [
            _step(job_dir, "config", "config", command.config_args(repository), job_dir),
            _step(job_dir, "parents", "snapshots", command.latest_snapshots_args(repository, result["host"]), job_dir),
        ],
    }
    # what the job writes besides restic's outputs: the diskshadow script, its metadata and transcript
    result["job_files"] = {key: result["job_files"][key] for key in ("script", "metadata", "transcript")}
    return result


def secret_parameters(plan: Mapping[str, Any], repository: Mapping[str, Any]) -> Dict[str, str]:
    """The start payload's sensitive parameters: the password and restic's environment (as JSON)."""
    return restic_secrets(repository, plan["restic"]["password_file"])


def restic_secrets(repository: Mapping[str, Any], password_file: str) -> Dict[str, str]:
    """``ResticPassword`` and ``ResticEnvironment`` (JSON, ``RESTIC_PASSWORD_FILE`` naming ``password_file``):
    the sensitive parameters of every payload that runs restic."""
    environment = restic_environment(repository, password_file)
    return {"ResticPassword": repository["password"], "ResticEnvironment": json.dumps(environment, sort_keys=True)}


def runner_parameters(plan: Mapping[str, Any]) -> Dict[str, Any]:
    """What params.json carries for the runner of a restic job (no secret: file names only)."""
    restic = plan["restic"]
    return {
        "repository_type": "restic",
        "restic": {
            "exe": restic["exe"],
            "password_file": restic["password_file"],
            "environment_file": restic["environment_file"],
            "init": restic["init"],
            "steps": list(plan["steps"]),
            "check": restic["check"],
            "probe": list(restic.get("probe") or []),
            "plan_answer_file": PLAN_ANSWER_FILE,
        },
        "vm_destinations": [],
        "extra_destinations": [],
        "required_bytes": None,
        "expire_when_short": False,
    }


def _name(path: str) -> str:
    return path.rsplit("\\", 1)[-1]


def collect_entries(steps: Sequence[Optional[Mapping[str, Any]]]) -> List[Dict[str, Any]]:
    """The collect payload's file entries for the outputs of ``steps`` (None entries are skipped)."""
    entries = []
    for step in steps:
        if step:
            entries.append({"name": _name(step["stdout"]), "tail_bytes": STDOUT_TAIL, "encoding": "utf8"})
            entries.append({"name": _name(step["stderr"]), "tail_bytes": STDERR_TAIL, "encoding": "utf8"})
    return entries


def _outputs(step: Mapping[str, Any], texts: Mapping[str, Optional[str]]) -> tuple:
    return texts.get(_name(step["stdout"])) or "", texts.get(_name(step["stderr"])) or ""


def failure_text(failure: Mapping[str, Any], location: str) -> str:
    """restic's failure as one line that says what to do."""
    kind = failure.get("kind")
    message = str(failure.get("message") or "").strip()
    if kind == "wrong_password":
        return f"wrong password: repository.password does not open the repository at {location} ({message})"
    if kind == "locked":
        lock = failure.get("lock") or {}
        holder = (
            f" by PID {lock.get('pid')} on {lock.get('host')} ({lock.get('user')}) since {lock.get('created_at')}"
            if lock
            else ""
        )
        return (
            f"repository {location} is locked{holder}; nothing was changed. If no restic runs there any more,"
            f" remove the stale lock with 'restic unlock' ({message})"
        )
    if kind == "no_repository":
        return (
            f"there is no restic repository at {location}: create it with 'restic init' or set repository.init:"
            f" true ({message})"
        )
    if kind == "damaged":
        return f"repository {location} is damaged: {message}"
    if kind == "incomplete":
        return f"the snapshot is incomplete: {message}"
    return f"restic failed (exit code {failure.get('exit_code')}): {message}"


def compression_problem(compression: Any, version: Any, location: str) -> Optional[str]:
    """Why ``repository.compression`` cannot be used with a repository of this format version, or None.

    Format version 1 stores everything uncompressed: restic 0.14 then ignores ``--compression max`` without a
    word (newer versions refuse it), so the job stops before any shadow copy instead.
    """
    mode = compression or "auto"
    if isinstance(version, int) and version < 2 and mode not in VERSION1_COMPRESSION:
        return (
            f"repository.compression {mode} needs a restic repository of format version 2, but the repository at"
            f" {location} is format version {version}, which stores data uncompressed; set repository.compression"
            " to auto or off, or upgrade the repository with 'restic migrate upgrade_repo_v2' (then 'restic prune"
            " --repack-uncompressed' to compress what it holds)"
        )
    return None


def without_parent(plan: Mapping[str, Any], step: Mapping[str, Any]) -> Dict[str, Any]:
    """The planned backup ``step`` again, without ``--parent``, with its own id and output files: the runner runs it
    when the named parent was gone by the time restic looked for it (restic then fails before reading a file)."""
    extra = {key: step[key] for key in ("paths", "tags", "extra_path") if key in step}
    return _step(
        plan["job_dir"],
        f"{step['id']}-noparent",
        "backup",
        list(step["args"]),
        step["working_dir"],
        vm=step["vm"],
        vm_id=step["vm_id"],
        **extra,
    )


def _probe(plan: Mapping[str, Any], step_id: str) -> Optional[Mapping[str, Any]]:
    return next((step for step in plan["restic"].get("probe") or [] if step["id"] == step_id), None)


def _probe_output(
    plan: Mapping[str, Any], step_id: str, what: str, codes: Mapping[str, Any], texts: Mapping[str, Optional[str]]
) -> Tuple[Optional[str], str]:
    """(error, stdout) of one probe step; error says what failed, in words that say what to do."""
    step = _probe(plan, step_id)
    if step is None:
        return f"the plan has no {what} step", ""
    code = codes.get(step_id)
    out, err = _outputs(step, texts)
    if code is None:
        return f"the job did not run {what}", out
    problem = classify_failure(code, err, out)
    if problem:
        return f"{what} failed: {failure_text(problem, plan['repository']['location'])}", out
    return None, out


def plan_answer(
    plan: Mapping[str, Any], status: Mapping[str, Any], texts: Mapping[str, Optional[str]]
) -> Dict[str, Any]:
    """The controller's answer to the runner's probe steps, before any shadow copy is made.

    ``refuse`` (with ``error``) when the repository cannot be read or its format version does not take
    ``repository.compression``; else ``backup`` with the backup steps to run: each VM's step names its parent
    (``--parent``), the newest snapshot tagged with its ``vm-id`` on this host, so restic compares the files with
    it although each job's mount folder is another path; a VM without a snapshot yet is backed up without one.
    Each step with a parent carries ``retry_without_parent`` (:func:`without_parent`). ``report`` is what the
    runner records in status.json (``restic_plan``) for the result.
    """
    codes = status.get("restic_exit_codes") or {}
    location = plan["repository"]["location"]
    report: Dict[str, Any] = {"repository_version": None, "parents": {}}

    def refuse(error: str) -> Dict[str, Any]:
        return {"decision": "refuse", "error": error + "; no shadow copy was made", "steps": [], "report": report}

    error, out = _probe_output(plan, "config", "reading the repository config (restic cat config)", codes, texts)
    if error:
        return refuse(error)
    try:
        report["repository_version"] = parse_config(out)["version"]
    except ValueError as exc:
        return refuse(f"the repository config at {location} cannot be read: {exc}")
    problem = compression_problem(plan["repository"].get("compression"), report["repository_version"], location)
    if problem:
        return refuse(problem)
    error, out = _probe_output(plan, "parents", "listing the host's snapshots (restic snapshots)", codes, texts)
    if error:
        return refuse(error)
    try:
        snapshots = parse_snapshot_groups(out)
    except ValueError as exc:
        return refuse(f"the snapshot list of {location} cannot be read: {exc}")
    newest: Dict[str, Mapping[str, Any]] = {}
    for snap in snapshots:  # oldest first: the newest of each VM and of each extra path is left
        if snap["host"] != plan["host"] or not snap["id"]:
            continue
        if snap["vm_id"]:
            newest[str(snap["vm_id"]).lower()] = snap
        extra = extra_path_from_tags(snap["tags"])
        if extra:
            newest[extra_path_tag(extra)] = snap
    steps = []
    for step in plan["steps"]:
        key = extra_path_tag(step["extra_path"]) if step.get("extra_path") else str(step["vm_id"]).strip("{}").lower()
        parent = newest.get(key)
        if parent is None:
            steps.append(dict(step, parent=None))
            report["parents"][step["id"]] = None
            continue
        args = command.backup_args(plan["repository"], step["paths"], step["tags"], plan["host"], parent=parent["id"])
        keep = {key: step[key] for key in ("paths", "tags", "extra_path") if key in step}
        answered = _step(
            plan["job_dir"], step["id"], "backup", args, step["working_dir"], vm=step["vm"], vm_id=step["vm_id"], **keep
        )
        answered["parent"] = parent["id"]
        answered["retry_without_parent"] = without_parent(plan, step)
        steps.append(answered)
        report["parents"][step["id"]] = {"id": parent["id"], "time": parent["time"]}
    return {"decision": "backup", "error": None, "steps": steps, "report": report}


def output_steps(plan: Mapping[str, Any]) -> List[Mapping[str, Any]]:
    """Every step of the plan whose outputs the controller reads after the backups (retries included)."""
    restic = plan["restic"]
    return [
        *([restic["init"]] if restic.get("init") else []),
        *(restic.get("probe") or []),
        *plan["steps"],
        *(without_parent(plan, step) for step in plan["steps"]),
        restic["check"],
    ]


def _vm_result(step: Mapping[str, Any], parsed: Optional[Mapping[str, Any]], location: str, why: str) -> Dict[str, Any]:
    summary = (parsed or {}).get("summary") or {}
    failure = (parsed or {}).get("failure")
    seconds = summary.get("total_duration")
    processed = summary.get("total_bytes_processed")
    ok = bool(parsed and parsed["ok"])
    errors = [] if ok else [failure_text(failure, location) if failure else why]
    return {
        "name": step["vm"],
        "id": step["vm_id"],
        "status": "complete" if ok else "failed",
        "snapshot_id": (parsed or {}).get("snapshot_id"),
        "files": summary.get("total_files_processed"),
        "bytes": processed,
        "bytes_processed": processed,
        "bytes_added": summary.get("data_added"),
        "dedup_ratio": dedup_ratio(processed, summary.get("data_added")),
        "files_new": summary.get("files_new"),
        "files_changed": summary.get("files_changed"),
        "files_unmodified": summary.get("files_unmodified"),
        "seconds": None if seconds is None else round(float(seconds), 1),
        "mb_per_s": round(processed / seconds / 1e6, 1) if processed and seconds else None,
        "errors": errors,
        "failure_kind": failure.get("kind") if failure else (None if ok else "failed"),
    }


def _extra_result(found: Mapping[str, Any], step: Mapping[str, Any]) -> Dict[str, Any]:
    """An extra path's backup as the result shows it (a VM result without name and id)."""
    result = {"path": step["extra_path"]}
    result.update((key, value) for key, value in found.items() if key not in ("name", "id"))
    return result


def analyse(plan: Mapping[str, Any], status: Mapping[str, Any], texts: Mapping[str, Optional[str]]) -> Dict[str, Any]:
    """What the job's restic steps did, from status.json's exit codes and the collected outputs.

    :returns: ``{"vms": [per VM result], "init": parsed | None, "check": {...} | None, "verified": bool,
        "failure": (step, message) | None, "warnings": [...], "repository_version": n | None}``; ``verified``
        only when every VM's snapshot was made and ``restic check`` found no error. Each VM's ``parent`` is the
        snapshot restic compared its files with (None: it read them all); when that parent had been removed
        after the probe, the result is the runner's backup without it (:func:`without_parent`).
    """
    codes = status.get("restic_exit_codes") or {}
    location = plan["repository"]["location"]
    init_step = plan["restic"].get("init")
    init = None
    failure = None
    if init_step and codes.get("init") is not None:
        out, err = _outputs(init_step, texts)
        init = {"exit_code": codes["init"], "created": codes["init"] == 0, "stderr": err.strip()[-2000:]}
        problem = classify_failure(codes["init"], err, out)
        init["failure"] = None if problem is None or problem["kind"] == "repository_exists" else problem
        if init["failure"]:
            failure = ("restic init", failure_text(init["failure"], location))
    vms = []
    warnings = []
    parents = (status.get("restic_plan") or {}).get("parents") or {}
    for step in plan["steps"]:
        code = codes.get(step["id"])
        named = parents.get(step["id"]) if isinstance(parents.get(step["id"]), Mapping) else None
        parent = named.get("id") if named else None
        if code is None:
            vm = _vm_result(step, None, location, "restic did not run for this VM (the job stopped before)")
            vms.append(dict(vm, parent=parent))
            continue
        out, err = _outputs(step, texts)
        retry = without_parent(plan, step)
        if parent and parent_missing(err + "\n" + out, parent):
            what = f"extra path {step['extra_path']}" if step.get("extra_path") else f"VM {step['vm']}"
            warnings.append(
                f"{what}: its newest snapshot {parent[:8]} was removed from the repository after the job"
                " listed it (restic forget elsewhere); "
                + (
                    "backed up without a parent, so restic read every file"
                    if codes.get(retry["id"]) is not None
                    else "the backup without a parent did not run"
                )
            )
            parent = None
            if codes.get(retry["id"]) is not None:
                code = codes[retry["id"]]
                out, err = _outputs(retry, texts)
        vm = _vm_result(step, parse_backup(out, err, code), location, "restic failed")
        vms.append(dict(vm, parent=parent))
    # the extra paths' snapshots are reported apart from the VMs
    extras = [_extra_result(vm, step) for vm, step in zip(vms, plan["steps"]) if step.get("extra_path")]
    vms = [vm for vm, step in zip(vms, plan["steps"]) if not step.get("extra_path")]
    check = None
    check_step = plan["restic"]["check"]
    if codes.get("check") is not None:
        out, err = _outputs(check_step, texts)
        parsed = parse_check(out, err, codes["check"])
        check = {
            "ok": parsed["ok"],
            "exit_code": codes["check"],
            "read_data": parsed["read_data"],
            "read_data_subset": plan["repository"].get("check_read_data_subset"),
            "errors": parsed["errors"][:20],
            "failure": failure_text(parsed["failure"], location) if parsed["failure"] else None,
            "failure_kind": (parsed["failure"] or {}).get("kind"),
        }
    bad = [f"VM {vm['name']}: {vm['errors'][0]}" for vm in vms if vm["status"] != "complete"]
    bad += [f"extra path {e['path']}: {e['errors'][0]}" for e in extras if e["status"] != "complete"]
    if failure is None and bad:
        failure = ("restic backup", "; ".join(bad))
    if failure is None and check is None:
        failure = ("restic check", "the job did not run restic check, so the new snapshots are not verified")
    elif failure is None and not check["ok"]:
        failure = ("restic check", f"restic check after the backup: {check['failure']}")
    return {
        "vms": vms,
        "extra_paths": extras,
        "init": init,
        "check": check,
        "verified": failure is None,
        "failure": failure,
        "warnings": warnings,
        "repository_version": (status.get("restic_plan") or {}).get("repository_version"),
    }


def retention_steps(
    plan: Mapping[str, Any], policy: Optional[Mapping[str, Any]], today: datetime.date
) -> Dict[str, Any]:
    """The verdict's retention for verified snapshots: one ``forget --json`` per VM (None when the policy
    expires nothing) and ``prune`` when ``today`` is one of ``prune_weekdays`` and something is forgotten."""
    repository = plan["repository"]
    job_dir = plan["job_dir"]
    forget = []
    for vm in plan["vms"]:
        args = command.forget_args(repository, policy, plan["host"], vm["id"])
        if args is None:
            continue
        forget.append(_step(job_dir, f"f{len(forget) + 1:03d}", "forget", args, job_dir, vm=vm["name"], vm_id=vm["id"]))
    for extra in plan.get("extra_paths") or []:  # each extra path's snapshots are their own group
        args = command.forget_tag_args(repository, policy, plan["host"], extra_path_tag(extra["path"]))
        if args is None:
            continue
        step_id = f"f{len(forget) + 1:03d}"
        forget.append(_step(job_dir, step_id, "forget", args, job_dir, extra_path=extra["path"]))
    weekday = WEEKDAYS[today.weekday()]
    prune = None
    if forget and weekday in repository["prune_weekdays"]:
        prune = _step(job_dir, "prune", "prune", command.prune_args(repository), job_dir)
    return {"forget": forget, "prune": prune, "weekday": weekday}


def forget_results(
    retention: Mapping[str, Any], status: Mapping[str, Any], texts: Mapping[str, Optional[str]], location: str
) -> Dict[str, Any]:
    """What the runner's forget and prune steps did: per VM the snapshots kept and removed, and the errors."""
    codes = status.get("restic_exit_codes") or {}
    per_vm = []
    errors = []
    for step in retention.get("forget") or []:
        code = codes.get(step["id"])
        out, err = _outputs(step, texts)
        entry: Dict[str, Any] = {"vm": step["vm"], "exit_code": code, "kept": [], "removed": []}
        what = f"VM {step['vm']}"
        if step.get("extra_path"):
            entry["extra_path"] = step["extra_path"]
            what = f"extra path {step['extra_path']}"
        if code == 0:
            try:
                parsed = parse_forget(out)
                entry["kept"], entry["removed"] = parsed["kept"], parsed["removed"]
            except ValueError as exc:
                errors.append(f"forget for {what}: {exc}")
        else:
            problem = classify_failure(code, err, out) if code is not None else None
            why = failure_text(problem, location) if problem else "the job did not run it"
            errors.append(f"forget for {what}: {why}")
        per_vm.append(entry)
    prune = None
    step = retention.get("prune")
    if step:
        code = codes.get(step["id"])
        prune = {"ran": code is not None, "exit_code": code}
        if code != 0:
            out, err = _outputs(step, texts)
            problem = classify_failure(code, err, out) if code is not None else None
            errors.append("prune: " + (failure_text(problem, location) if problem else "the job did not run it"))
    return {"forget": per_vm, "prune": prune, "errors": errors}
