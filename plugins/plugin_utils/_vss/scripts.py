# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""Render the files a backup job runs on the host from a plan made by ``plan.build_plan``.

:func:`render_script` returns the diskshadow script (``job_files.script``), :func:`render_copy_wrapper`
the ``.cmd`` that diskshadow ``EXEC``\\ s (``job_files.wrapper``). Both return ``str`` with CRLF line
ends and only ASCII characters; write them as ASCII. Values that the target language could
misread are refused with :class:`ScriptRenderError` (a ``BackupPlanError``/``ValueError``) naming the
value, never escaped or dropped. ``build_plan`` calls :func:`check_renderable`, so these errors
appear before anything runs.

diskshadow script, in this order::

    SET CONTEXT PERSISTENT             # required for EXPOSE
    SET METADATA <job_dir>\\metadata.cab
    SET VERBOSE ON
    WRITER VERIFY {66841cd4-...}       # Hyper-V writer: only with VMs and require_hyperv_writer
    WRITER EXCLUDE {66841cd4-...}:\\<VM id>  # one per excluded VM with files on a snapshotted volume
    BEGIN BACKUP                       # only for backup_type full (copy backups leave logs alone)
    ADD VOLUME D: ALIAS VAWVOL1        # one per volume; GUID path when the volume has no letter
    CREATE
    EXPOSE %VAWVOL1% <job_dir>\\mnt\\VAWVOL1
    EXEC <job_dir>\\copy.cmd
    UNEXPOSE <job_dir>\\mnt\\VAWVOL1
    END BACKUP                         # only for full
    DELETE SHADOWS SET %VSS_SHADOW_SET%   # this job's shadow set, never every shadow

When ``EXEC`` returns non-zero diskshadow stops, so nothing after it runs: the shadows stay exposed
and, for a full backup, ``END BACKUP`` (BackupComplete) is deliberately not sent. The job runner
therefore always unexposes and deletes this job's shadow set by id (from the diskshadow output)
after diskshadow ends, whatever happened.

A plan for a restic repository (``plan["repository"]["type"] == "restic"``, see ``_restic/job.py``) ends
the script after the ``EXPOSE`` lines: the persistent shadows stay exposed when diskshadow exits, the
runner runs restic over the mount folders and then deletes this job's shadow set by id, as above. Such a
plan has no copy wrapper, and ``backup_type: full`` is refused (``END BACKUP`` would have to follow restic
in the same diskshadow session).

Copy wrapper: one robocopy run per step and pass, in plan order, always with ``/B`` (backup
privilege, needed on an exposed shadow), ``/COPY:DAT /DCOPY:T``, ``/R:n /W:n``, ``/MT:n``, ``/NP``,
``/BYTES``, ``/XJ`` and ``/UNILOG+:<job_dir>\\robocopy.log``; a step that copies from a volume root is
followed by ``attrib -H -S`` on its destination folder, which robocopy gives the root's attributes. Unbuffered I/O: with
``unbuffered_min_size`` N > 0 each step runs twice, pass ``large`` (``/J /MIN:N``) and pass ``small``
(``/MAX:N-1``), which split the files at copy time even when sizes changed since the inventory; N = 0
runs one pass ``all`` with ``/J``, None one pass ``all`` without it. VM steps name their files
explicitly (nothing else in a shared folder is copied); extra-path steps copy the tree (``/E``).

Every run appends ``<step id> <pass> <real robocopy exit code>`` to ``job_files.exit_codes``; the
wrapper starts that file with ``begin <job id>`` and ends it with ``end <wrapper exit code>``. **A failing
step does not stop the wrapper**: the remaining steps still run, so one VM's failure does not cost the
others their backup, and the manifest marks the generation partial. The wrapper exits 0 when every run
returned 0-7 and 1 when any returned 8 or more (robocopy's 1 = "files copied" would otherwise abort
``EXEC``). :func:`parse_exit_codes` reads the file back.

Source hashes (``render_copy_wrapper(plan, hash_sources=True)``, used for ``verify: hash``): after the
robocopy runs of a VM step, each file the step names is hashed **in the exposed shadow copy** (the frozen
source) with ``certutil -hashfile "<file>" SHA256``; per file the wrapper appends to
``job_files.source_hashes``::

    vaware-file <path of the file in the shadow copy>
    <certutil's output, stdout and stderr>
    vaware-exit <certutil's exit code>

after a first line ``begin <job id>``. A failing certutil is recorded, never fatal: it does not change the
wrapper's exit code (a non-zero ``EXEC`` would abort diskshadow). :func:`parse_source_hashes` reads the
file back. Extra paths are copied as whole trees the plan does not enumerate: they are not hashed.

Source sizes (always, when the plan names ``job_files.source_sizes``): after the robocopy runs of a VM
step, the size of each file the step names is read **in the exposed shadow copy** by cmd.exe itself
(``for %%F in ("<file>") do echo vaware-size %%~zF``), so size verification does not depend on how
robocopy counts files its ``/MIN``/``/MAX`` pass left out. Per file the wrapper appends::

    vaware-file <path of the file in the shadow copy>
    vaware-size <bytes, or nothing when cmd.exe could not read the file's size>

after a first line ``begin <job id>``. A size that cannot be read is recorded as empty, never fatal.
:func:`parse_source_sizes` reads the file back. Extra paths are not enumerated: no sizes.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Optional

from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.common import (
    HYPERV_WRITER_ID,
    BackupPlanError,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._winpath import quote_value

CRLF = "\r\n"
# What a diskshadow script line may carry for a path: no spaces, quotes, % or anything non-ASCII.
_DISKSHADOW_PATH_RE = re.compile(r"^[A-Za-z0-9\\:._{}?$-]+\Z")
_ALIAS_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}\Z")
# cmd.exe interprets these even inside quotes (or the quote itself).
CMD_SPECIAL = '%^&|<>"!'
_MAX_CMD_LINE = 7000  # cmd.exe allows 8191 characters after expansion; keep a margin
_PASS_NAMES = ("all", "large", "small")


class ScriptRenderError(BackupPlanError):
    """A plan value cannot be written safely into a diskshadow script or a .cmd file."""


def _diskshadow_path(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _DISKSHADOW_PATH_RE.match(value):
        raise ScriptRenderError(
            f"{what}: diskshadow cannot express {quote_value(value)}: a script path may hold only ASCII letters, digits"
            " and \\ : . _ - { } ? $ (no spaces, quotes, % or non-ASCII characters)"
        )
    return value


def _cmd_value(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise ScriptRenderError(f"{what}: expected a non-empty string, got {quote_value(value)}")
    bad = sorted({c for c in value if c in CMD_SPECIAL})
    if bad:
        raise ScriptRenderError(
            f"{what}: {quote_value(value)} contains {' '.join(quote_value(c) for c in bad)},"
            " which cmd.exe would interpret; rename it or leave it out of the backup"
            f" (characters refused: {CMD_SPECIAL})"
        )
    odd = sorted({c for c in value if not 32 <= ord(c) <= 126})
    if odd:
        raise ScriptRenderError(
            f"{what}: {quote_value(value)} contains {' '.join(quote_value(c) for c in odd)}:"
            " the copy wrapper carries only printable ASCII (cmd.exe reads it in the host's OEM code page);"
            " rename it or leave it out of the backup"
        )
    return value


def _cmd_dir(value: Any, what: str) -> str:
    value = _cmd_value(value, what)
    if value.endswith("\\"):  # robocopy reads \" as an escaped quote
        raise ScriptRenderError(f"{what}: {quote_value(value)} must not end with a backslash")
    return value


def _alias(volume: Mapping[str, Any]) -> str:
    alias = volume.get("alias")
    if not isinstance(alias, str) or not _ALIAS_RE.match(alias) or alias.upper() == "VSS_SHADOW_SET":
        raise ScriptRenderError(
            f"volume alias {quote_value(alias)}: expected a letter then up to 31 letters, digits or '_'"
        )
    return alias


def _lines(lines: List[str]) -> str:
    text = CRLF.join(lines) + CRLF
    text.encode("ascii")  # every piece was checked; this guards the fixed text too
    return text


def _plan_has_vms(plan: Mapping[str, Any]) -> bool:
    return bool(plan.get("vms"))


def render_script(plan: Mapping[str, Any]) -> str:
    """The diskshadow script for ``plan`` (see the module docstring)."""
    volumes = plan.get("volumes") or []
    if not volumes:
        raise ScriptRenderError("plan: no volume to snapshot")
    if plan.get("backup_type") not in ("copy", "full"):
        raise ScriptRenderError(f"plan backup_type: expected copy or full, got {quote_value(plan.get('backup_type'))}")
    files = plan["job_files"]
    job_id = _diskshadow_path(plan["job_id"], "job_id")
    generation = _diskshadow_path(plan["generation"], "generation")
    full = plan["backup_type"] == "full"
    lines = [
        f"# vaware.hyperv backup job {job_id}, generation {generation}, {plan['backup_type']} backup",
        "# The job runner deletes this job's shadow set by id after diskshadow ends, whatever happened.",
        "SET CONTEXT PERSISTENT",
        f"SET METADATA {_diskshadow_path(files['metadata'], 'metadata file')}",
        "SET VERBOSE ON",
    ]
    if _plan_has_vms(plan) and plan.get("require_hyperv_writer", True):
        lines.append(f"WRITER VERIFY {{{HYPERV_WRITER_ID}}}")
    for item in plan.get("writer_excluded_components") or []:
        # an excluded VM on a snapshotted volume: the writer must not quiesce it (component = VM id)
        component = str(item.get("component") or "")
        if not re.fullmatch(r"\\[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}", component):
            raise ScriptRenderError(
                f"writer component of excluded VM {quote_value(item.get('vm'))}: expected \\<VM id>,"
                f" got {quote_value(component)}"
            )
        lines.append(f"WRITER EXCLUDE {{{HYPERV_WRITER_ID}}}:{component}")
    if full:
        lines.append("BEGIN BACKUP")
    aliases = []
    for volume in volumes:
        alias = _alias(volume)
        if alias.casefold() in (a.casefold() for a in aliases):
            raise ScriptRenderError(f"volume alias {quote_value(alias)} is used twice")
        aliases.append(alias)
        lines.append(f"ADD VOLUME {_diskshadow_path(volume['add_as'], f'volume {alias}')} ALIAS {alias}")
    lines.append("CREATE")
    for volume in volumes:
        folder = _diskshadow_path(volume["mount_folder"], f"mount folder of {volume['alias']}")
        lines.append(f"EXPOSE %{volume['alias']}% {folder}")
    if (plan.get("repository") or {}).get("type") == "restic":
        # restic reads the exposed folders after diskshadow has ended (the runner runs it); the runner then
        # deletes this job's shadow set by id. A full backup needs END BACKUP in this session: refused.
        if full:
            raise ScriptRenderError("backup_type full needs the files repository (restic runs after diskshadow ends)")
        lines[1] = "# The job runner runs restic over the exposed folders, then deletes this job's shadow set by id."
        return _lines(lines)
    lines.append(f"EXEC {_diskshadow_path(files['wrapper'], 'copy wrapper')}")
    for volume in reversed(volumes):
        lines.append(f"UNEXPOSE {volume['mount_folder']}")
    if full:
        lines.append("END BACKUP")
    lines.append("DELETE SHADOWS SET %VSS_SHADOW_SET%")
    return _lines(lines)


def _passes(min_size: Optional[int]) -> List[tuple]:
    """(pass name, robocopy options) for the unbuffered-I/O policy."""
    if min_size is None:
        return [("all", [])]
    if min_size == 0:
        return [("all", ["/J"])]
    return [("large", ["/J", f"/MIN:{min_size}"]), ("small", [f"/MAX:{min_size - 1}"])]


def _quote(value: str) -> str:
    return f'"{value}"'


def render_copy_wrapper(plan: Mapping[str, Any], *, hash_sources: bool = False) -> str:
    """The ``.cmd`` copy wrapper for ``plan`` (see the module docstring); ``hash_sources`` adds the
    SHA-256 of each planned VM file in the shadow copy (``verify: hash``)."""
    files = plan["job_files"]
    rc_file = _cmd_value(files["exit_codes"], "exit code file")
    hash_file = None
    if hash_sources:
        if not files.get("source_hashes"):
            raise ScriptRenderError("plan job_files: no source_hashes file, which hashing the sources needs")
        hash_file = _cmd_value(files["source_hashes"], "source hash file")
    size_file = _cmd_value(files["source_sizes"], "source size file") if files.get("source_sizes") else None
    log = _cmd_value(files["robocopy_log"], "robocopy log")
    job_id = _cmd_value(plan["job_id"], "job_id")
    generation = _cmd_value(plan["generation"], "generation")
    options = plan["robocopy"]
    common = [
        "/B",
        "/COPY:DAT",
        "/DCOPY:T",
        f"/R:{int(options['retry'])}",
        f"/W:{int(options['wait'])}",
        f"/MT:{int(options['threads'])}",
        "/NP",
        "/BYTES",
        "/XJ",
        f"/UNILOG+:{_quote(log)}",
    ]
    lines = [
        "@echo off",
        f"rem vaware.hyperv copy wrapper for backup job {job_id}, generation {generation}",
        "rem Appends 'step pass robocopy-exit-code' per run to the exit code file below;",
        "rem exits 0 when every run returned 0-7, 1 when any returned 8 or more (after running all steps).",
        "setlocal EnableExtensions DisableDelayedExpansion",
        'set "ERRORLEVEL="',
        'set "VAW_EXIT=0"',
        f">{_quote(rc_file)} echo begin {job_id}",
    ]
    if hash_file:
        lines.insert(
            4, "rem With verify: hash, each VM file is hashed in the shadow copy (certutil); failures are recorded."
        )
        lines.append(f">{_quote(hash_file)} echo begin {job_id}")
    if size_file:
        lines.append(f">{_quote(size_file)} echo begin {job_id}")
    volume_roots = {str(v.get("mount_folder")).casefold() for v in plan.get("volumes") or []}
    for step in plan["steps"]:
        step_id = step["id"]
        if not re.fullmatch(r"s\d{3,}", str(step_id)):
            raise ScriptRenderError(f"step id {quote_value(step_id)}: expected s001, s002, ...")
        what = (
            f"VM {quote_value(step['vm'])}" if step.get("vm") else f"extra path {quote_value(step.get('original_dir'))}"
        )
        source = _cmd_dir(step["source_dir"], f"{what}: source folder")
        target = _cmd_dir(step["destination_dir"], f"{what}: destination folder")
        names = [_cmd_value(n, f"{what}: file name") for n in (step.get("files") or [])]
        for name in names:
            if "\\" in name or "*" in name or "?" in name:
                raise ScriptRenderError(f"{what}: file name {quote_value(name)} must be a plain name without \\ * ?")
        tree = ["/E"] if step.get("recurse") else []
        label = f"VM {step['vm']}" if step.get("vm") else f"extra path {step.get('original_dir')}"
        lines.append(f"rem step {step_id}: {_cmd_value(label, what)}")
        for pass_name, pass_options in _passes(options.get("unbuffered_min_size")):
            tail = " ".join(tree + pass_options + common)
            head = f"robocopy {_quote(source)} {_quote(target)}"
            for chunk in _chunks(names, len(head) + len(tail) + 2, what):
                lines.append(" ".join([head, *(_quote(n) for n in chunk), tail]))
                lines.append('set "VAW_RC=%ERRORLEVEL%"')
                lines.append(f">>{_quote(rc_file)} echo {step_id} {pass_name} %VAW_RC%")
                lines.append('if %VAW_RC% GEQ 8 set "VAW_EXIT=1"')
        if source.casefold() in volume_roots:
            # robocopy gives a copy of a volume root the root's hidden/system attributes
            lines.append(f"attrib -H -S {_quote(target)}")
        if size_file:
            for name in names:
                lines.extend(_size_lines(source + "\\" + name, size_file, what))
        if hash_file:
            for name in names:
                lines.extend(_hash_lines(source + "\\" + name, hash_file, what))
    lines.append(f">>{_quote(rc_file)} echo end %VAW_EXIT%")
    lines.append("exit /b %VAW_EXIT%")
    return _lines(lines)


HASH_FILE_MARKER = "vaware-file"
HASH_EXIT_MARKER = "vaware-exit"


def _hash_lines(path: str, hash_file: str, what: str) -> List[str]:
    """Record the SHA-256 of ``path`` (in the exposed shadow) in ``hash_file``; never fails the wrapper."""
    command = f">>{_quote(hash_file)} 2>&1 certutil -hashfile {_quote(path)} SHA256"
    if len(command) > _MAX_CMD_LINE:
        raise ScriptRenderError(f"{what}: the certutil line for {quote_value(path)} would exceed cmd.exe's line limit")
    return [
        f">>{_quote(hash_file)} echo {HASH_FILE_MARKER} {path}",
        command,
        'set "VAW_HRC=%ERRORLEVEL%"',
        f">>{_quote(hash_file)} echo {HASH_EXIT_MARKER} %VAW_HRC%",
    ]


SIZE_MARKER = "vaware-size"


def _size_lines(path: str, size_file: str, what: str) -> List[str]:
    """Record the size of ``path`` (in the exposed shadow) in ``size_file``; never fails the wrapper."""
    command = f"for %%F in ({_quote(path)}) do >>{_quote(size_file)} echo {SIZE_MARKER} %%~zF"
    if len(command) > _MAX_CMD_LINE:
        raise ScriptRenderError(f"{what}: the size line for {quote_value(path)} would exceed cmd.exe's line limit")
    return [f">>{_quote(size_file)} echo {HASH_FILE_MARKER} {path}", command]


def _chunks(names: List[str], fixed: int, what: str) -> List[List[str]]:
    """Split explicit file names over several robocopy lines so none exceeds cmd.exe's limit."""
    if not names:
        return [[]]
    chunks: List[List[str]] = [[]]
    length = fixed
    for name in names:
        extra = len(name) + 3
        if fixed + extra > _MAX_CMD_LINE:
            raise ScriptRenderError(
                f"{what}: the robocopy line for {quote_value(name)} would exceed cmd.exe's line limit"
            )
        if length + extra > _MAX_CMD_LINE and chunks[-1]:
            chunks.append([])
            length = fixed
        chunks[-1].append(name)
        length += extra
    return chunks


def check_renderable(plan: Mapping[str, Any], copy_wrapper: bool = True) -> None:
    """Raise :class:`ScriptRenderError` when ``plan`` holds a value either script cannot carry."""
    render_script(plan)
    if copy_wrapper:
        render_copy_wrapper(plan, hash_sources=True)  # a superset of the wrapper without hashing


_RC_LINE_RE = re.compile(r"^\s*(s\d{3,})\s+(all|large|small)\s+(-?\d+)\s*$")
_END_RE = re.compile(r"^\s*end\s+(\d+)\s*$")


def wrapper_exit_code(codes: List[int]) -> int:
    """What the wrapper returns for these robocopy exit codes: 0 when all are 0-7, else 1."""
    return 1 if any(code >= 8 or code < 0 for code in codes) else 0


def parse_exit_codes(text: str) -> Dict[str, Any]:
    """Read the wrapper's exit code file.

    Returns ``runs`` (``[{"step", "pass", "code"}]`` in order), ``steps`` (step id -> worst code, i.e.
    the highest), ``finished`` (the ``end`` line was written) and ``exit_code`` (from the ``end`` line,
    or None). Unknown lines are ignored; a step absent from ``steps`` never ran.
    """
    runs: List[Dict[str, Any]] = []
    steps: Dict[str, int] = {}
    exit_code = None
    for line in (text or "").splitlines():
        match = _RC_LINE_RE.match(line)
        if match:
            code = int(match.group(3))
            runs.append({"step": match.group(1), "pass": match.group(2), "code": code})
            steps[match.group(1)] = max(code, steps.get(match.group(1), code))
            continue
        end = _END_RE.match(line)
        if end:
            exit_code = int(end.group(1))
    return {"runs": runs, "steps": steps, "finished": exit_code is not None, "exit_code": exit_code}


_HASH_FILE_RE = re.compile(r"^\s*" + HASH_FILE_MARKER + r"\s+(\S.*?)\s*$")
_HASH_EXIT_RE = re.compile(r"^\s*" + HASH_EXIT_MARKER + r"\s+(-?\d+)\s*$")
# certutil prints the digest alone on a line: 64 hex digits, or 32 space-separated pairs (older Windows).
_HEX_LINE_RE = re.compile(r"^\s*[0-9A-Fa-f]{2}(?:\s?[0-9A-Fa-f]{2}){31}\s*$")
_MAX_ERROR_TEXT = 300


def parse_source_hashes(text: Optional[str]) -> List[Dict[str, Any]]:
    """Read the wrapper's source hash file (see the module docstring).

    Returns one record per ``vaware-file`` line, in order: ``path`` (the file in the shadow copy, as the
    wrapper wrote it), ``sha256`` (64 lower-case hex digits, or None), ``exit_code`` (certutil's, or None
    when no exit line followed: the wrapper was stopped) and ``error`` (None, or why there is no digest:
    certutil's own lines, which are localized, or a note). A digest counts only when certutil exited 0
    and printed exactly one digest line; the digest line is found by its shape (hex only), never by the
    words around it. NUL characters are dropped, so UTF-16 text read as single bytes still parses.
    """
    records: List[Dict[str, Any]] = []
    current: Optional[Dict[str, Any]] = None

    def close(record: Dict[str, Any]) -> None:
        digests = sorted(set(record.pop("_digests")))
        said = " / ".join(record.pop("_lines"))[:_MAX_ERROR_TEXT]
        code = record["exit_code"]
        if code is None:
            record["error"] = "certutil did not finish (the copy wrapper was stopped)"
        elif code != 0:
            record["error"] = f"certutil exit code {code}" + (f": {said}" if said else "")
        elif len(digests) != 1:
            record["error"] = ("no digest line" if not digests else "more than one digest line") + (
                f" in certutil's output: {said}" if said else " in certutil's output"
            )
        else:
            record["sha256"] = digests[0]
        records.append(record)

    for raw in (text or "").replace("\x00", "").splitlines():
        line = raw.lstrip("\ufeff")
        start = _HASH_FILE_RE.match(line)
        if start:
            if current is not None:
                close(current)
            current = {"path": start.group(1), "sha256": None, "exit_code": None, "error": None}
            current.update(_digests=[], _lines=[])
            continue
        if current is None:
            continue
        end = _HASH_EXIT_RE.match(line)
        if end:
            current["exit_code"] = int(end.group(1))
            close(current)
            current = None
        elif _HEX_LINE_RE.match(line):
            current["_digests"].append(re.sub(r"\s", "", line).lower())
        elif line.strip():
            current["_lines"].append(line.strip())
    if current is not None:
        close(current)
    return records


_SIZE_RE = re.compile(r"^\s*" + SIZE_MARKER + r"(?:\s+(\S*))?\s*$")


def parse_source_sizes(text: Optional[str]) -> List[Dict[str, Any]]:
    """Read the wrapper's source size file (see the module docstring).

    Returns one record per ``vaware-file`` line, in order: ``path`` (the file in the shadow copy, as the
    wrapper wrote it), ``size`` (bytes, or None) and ``error`` (None, or why there is no size: cmd.exe
    printed none, because the file is missing in the shadow copy or its folder cannot be listed by the job's
    account, or no size line followed: the wrapper was stopped). NUL characters are dropped.
    """
    records: List[Dict[str, Any]] = []
    current: Optional[Dict[str, Any]] = None
    for raw in (text or "").replace("\x00", "").splitlines():
        line = raw.lstrip("\ufeff")
        start = _HASH_FILE_RE.match(line)
        if start:
            current = {
                "path": start.group(1),
                "size": None,
                "error": "no size was recorded (the copy wrapper was stopped)",
            }
            records.append(current)
            continue
        size = _SIZE_RE.match(line)
        if size and current is not None:
            value = size.group(1) or ""
            if value.isdigit():
                current.update(size=int(value), error=None)
            else:
                current["error"] = (
                    "cmd.exe could not read its size in the shadow copy (missing, or its folder cannot be listed"
                    " by the job's account)"
                    if not value
                    else f"unexpected size {quote_value(value)}"
                )
            current = None
    return records
