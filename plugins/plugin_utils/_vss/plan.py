# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""Plan a VSS backup of a Hyper-V host: what to snapshot, where to expose it, what to copy where.

:func:`build_plan` is pure: it reads the host's VM inventory, its normalized volume facts and the
task options and returns a plan, a JSON-serializable ``dict`` that the renderers in
``scripts.py`` turn into a diskshadow script and a robocopy wrapper, that the job runner
payload receives as a parameter, and that ``manifest.py`` records. Every problem is raised as
:class:`BackupPlanError` (a ``ValueError``) naming the bad value and what was expected, before
anything runs on the host. The plan is also checked to be renderable (see ``scripts.py``),
so characters diskshadow or ``cmd.exe`` cannot carry are reported here already.

VM inventory (input, one ``dict`` per VM, as the host inventory payload returns it)::

    {
      "name": "web01",                      # Hyper-V display name (becomes a folder name)
      "id": "5f3c0c4e-...-...",             # VM id (GUID), braces optional
      "state": "Running",                   # Hyper-V state text, recorded only
      "config_paths": [...],                # files of the configuration: <id>.vmcx, .vmrs, .vmgs, ...
      "checkpoint_paths": [...],            # checkpoint configuration/state files
      "vhd_paths": [...],                   # every virtual disk file, differencing parents included
    }

Each path entry is a full local path of one **file** (``D:\\Hyper-V\\web01\\Virtual Hard Disks\\web01.vhdx``)
or a ``dict`` ``{"path": ..., "size": <bytes>}`` when the inventory knows the size. Folders are not
accepted here: a VM's configuration folder is often shared with other VMs.

Volume facts (input): the normalized list from ``volumes.py``; only ``guid``, ``path``
(``\\\\?\\Volume{...}\\``), ``drive_letter`` and ``mount_points`` are used, and the volume that holds
a path is found with ``volumes.volume_for_path``.

Plan (output)::

    {
      "format": 1,
      "host": "HV01",
      "job_id": "7c1e...",
      "job_dir": "C:\\ProgramData\\vaware.hyperv\\jobs\\7c1e...",
      "generation": "20261125T020000Z",     # see generation_id()
      "created_at": "2026-11-25T02:00:00Z",
      "backup_type": "copy" | "full",
      "require_hyperv_writer": true,         # WRITER VERIFY for the Hyper-V writer when VMs are planned
      "destination": "\\\\nas\\backup",       # as given (normalized)
      "host_path": "<destination>\\HV01",    # folder holding this host's generations
      "generation_path": "<destination>\\HV01\\20261125T020000Z",
      "job_files": {                         # everything the job writes, all inside job_dir
        "script": ...\\backup.dsh, "wrapper": ...\\copy.cmd, "metadata": ...\\metadata.cab,
        "robocopy_log": ...\\robocopy.log, "exit_codes": ...\\robocopy-exit-codes.txt,
        "transcript": ...\\diskshadow.log,
        "source_hashes": ...\\source-hashes.txt,  # certutil records of the shadow copy (verify: hash)
        "source_sizes": ...\\source-sizes.txt     # size of each VM file in the shadow copy (verify: size)
      },
      "mount_root": "<job_dir>\\mnt",        # parent of the per-volume mount folders
      "volumes": [{                          # one per volume to snapshot, in alias order
        "alias": "VAWVOL1",                 # diskshadow alias (also an environment variable)
        "guid": ..., "volume_path": "\\\\?\\Volume{...}\\", "drive_letter": "D:" | null,
        "add_as": "D:" | "\\\\?\\Volume{...}\\",  # what ADD VOLUME names (GUID path when no letter)
        "key": "D" | "Volume{...}",         # folder name for this volume (VMs spanning volumes, extra paths)
        "mount_folder": "<job_dir>\\mnt\\VAWVOL1",  # empty folder the shadow is exposed on
        "used_by": ["vm:web01", "extra:D:\\Scripts"]
      }],
      "vms": [{
        "name", "id", "state",
        "destination": "<generation_path>\\web01",
        "aliases": ["VAWVOL1", ...],
        "steps": ["s001", ...],
        "files": [{"kind": "config"|"checkpoint"|"vhd", "original_path": "D:\\...",
                   "shadow_path": "<mount folder>\\...", "relative_path": "Virtual Hard Disks\\web01.vhdx",
                   "size": <int> | null}]
      }],
      "extra_paths": [{"path": "D:\\Scripts", "alias": "VAWVOL1", "destination": ..., "step": "s004"}],
      "excluded_vms": ["test01"],
      "steps": [{                            # one robocopy job each, in order
        "id": "s001", "kind": "vm" | "extra", "vm": "web01" | null,
        "alias": "VAWVOL1",
        "original_dir": "D:\\Hyper-V\\web01\\Virtual Hard Disks",
        "source_dir": "<mount folder>\\Hyper-V\\web01\\Virtual Hard Disks",
        "destination_dir": "<generation_path>\\web01\\Virtual Hard Disks",
        "files": ["web01.vhdx"] | null,     # null: the whole folder tree (extra paths)
        "recurse": false | true
      }],
      "robocopy": {"threads": 8, "retry": 2, "wait": 30, "unbuffered_min_size": 1073741824 | null},
      "total_bytes": <int> | null,          # sum of VM file sizes; null when one is unknown or extra paths are planned
      "warnings": [...]
    }

Layout at the destination: ``<destination>\\<host>\\<generation>\\<vm name>\\...``. A VM's files keep
their layout relative to the deepest folder holding all of them on a volume (usually the VM's own
folder, e.g. ``Virtual Machines\\<id>.vmcx`` and ``Virtual Hard Disks\\web01.vhdx``). When a VM's
files span several volumes, each volume's part goes below ``<vm name>\\<volume key>\\`` (``D`` or
``Volume{guid}``) so nothing can collide. Extra paths (folders, copied with their subfolders) go to
``<generation>\\_extra_paths\\<volume key>\\<path below the volume root>``. ``manifest.json`` sits at
the generation root; ``_extra_paths`` and ``manifest.json`` are therefore not accepted as VM names.
"""

from __future__ import annotations

import datetime
import fnmatch
import re
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.common import (
    OPTION_LIMITS,
    BackupPlanError,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.scripts import check_renderable
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.volumes import volume_for_path
from ansible_collections.vaware.hyperv.plugins.plugin_utils._winpath import (
    damaged_path_hint,
    is_absolute,
    is_drive_path,
    is_unc_path,
    is_under,
    join,
    parent,
    quote_value,
)

PLAN_FORMAT = 1
EXTRA_FOLDER = "_extra_paths"
MANIFEST_NAME = "manifest.json"
ALIAS_PREFIX = "VAWVOL"
BACKUP_TYPES = ("copy", "full")
DEFAULT_COPY_THREADS = 8
DEFAULT_RETRY = 2
DEFAULT_WAIT = 30
DEFAULT_UNBUFFERED_MIN_SIZE = 1024 * 1024 * 1024  # 1 GiB: VHDX-sized files get unbuffered I/O

JOB_FILE_NAMES = {
    "script": "backup.dsh",
    "wrapper": "copy.cmd",
    "metadata": "metadata.cab",
    "robocopy_log": "robocopy.log",
    "exit_codes": "robocopy-exit-codes.txt",
    "transcript": "diskshadow.log",
    "source_hashes": "source-hashes.txt",
    "source_sizes": "source-sizes.txt",
}

# Generation ids: UTC start time, ``YYYYMMDDTHHMMSSZ``, plus ``-NN`` (01-99) only when a generation
# with the same second already exists. Plain string order is time order.
GENERATION_RE = re.compile(r"^(\d{8}T\d{6}Z)(?:-(\d{2}))?\Z")
_JOB_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")
_VOLUME_KEY_RE = re.compile(r"(Volume\{[0-9A-Fa-f-]+\})")
_VM_ID_RE = re.compile(r"^\{?([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\}?\Z")
_RESERVED_NAMES = {"CON", "PRN", "AUX", "NUL"} | {f"{p}{n}" for p in ("COM", "LPT") for n in range(1, 10)}
_FOLDER_FORBIDDEN = set('<>:"/\\|?*')


# --------------------------------------------------------------------------------------- paths


def normalize_path(path: Any, what: str) -> str:
    """Return ``path`` with ``\\`` separators, no doubled or trailing separators (roots keep theirs)."""
    if not isinstance(path, str) or not path.strip():
        raise BackupPlanError(f"{what}: expected a non-empty path string, got {quote_value(path)}")
    text = path.strip().replace("/", "\\")
    prefix = ""
    if text.startswith("\\\\"):
        prefix, text = "\\\\", text[2:]
    text = re.sub(r"\\{2,}", "\\\\", text)
    if len(text) > 3 or prefix:
        text = text.rstrip("\\")
    result = prefix + text
    if re.fullmatch(r"[A-Za-z]:", result):
        result += "\\"
    return result


def _parts(path: str) -> List[str]:
    return [p for p in path.split("\\") if p]


def _check_components(path: str, what: str) -> None:
    for part in _parts(path)[1:]:
        if part in (".", ".."):
            raise BackupPlanError(
                f"{what}: {quote_value(path)} contains a '{part}' component; give a plain absolute path"
            )
        bad = sorted({c for c in part if c in _FOLDER_FORBIDDEN or ord(c) < 32})
        if bad:
            raise BackupPlanError(
                f"{what}: {quote_value(path)} contains {' '.join(quote_value(c) for c in bad)},"
                f" which Windows does not allow in a file or folder name{damaged_path_hint(path)}"
            )


def _local_path(path: Any, what: str) -> str:
    norm = normalize_path(path, what)
    if not is_drive_path(norm):
        raise BackupPlanError(
            f"{what}: expected an absolute local path such as D:\\Hyper-V\\web01, got {quote_value(path)}"
            f"{damaged_path_hint(path)}"
        )
    _check_components(norm, what)
    return norm


def check_folder_name(name: Any, what: str) -> str:
    """Return ``name`` when Windows accepts it as one folder name, else raise :class:`BackupPlanError`."""
    if not isinstance(name, str) or not name:
        raise BackupPlanError(f"{what}: expected a non-empty name, got {quote_value(name)}")
    bad = sorted({c for c in name if c in _FOLDER_FORBIDDEN or ord(c) < 32})
    if bad:
        raise BackupPlanError(
            f"{what}: {quote_value(name)} cannot be a folder name: it contains {' '.join(quote_value(c) for c in bad)}"
            ' (Windows forbids < > : " / \\ | ? * and control characters)'
        )
    if name != name.strip() or name.endswith("."):
        raise BackupPlanError(
            f"{what}: {quote_value(name)} cannot be a folder name: it starts or ends with a space or ends with a dot"
        )
    if name in (".", "..") or name.split(".")[0].upper() in _RESERVED_NAMES:
        raise BackupPlanError(f"{what}: {quote_value(name)} cannot be a folder name: it is reserved by Windows")
    return name


# --------------------------------------------------------------------------------- generation


def generation_id(now: datetime.datetime, existing: Iterable[str] = ()) -> str:
    """Generation id for a job started at ``now`` (aware datetime): ``20261125T020000Z``.

    When ``existing`` already holds that id (a second job in the same second), ``-01`` ... ``-99``
    is appended, so ids stay unique and plain string order stays time order.
    """
    if not isinstance(now, datetime.datetime) or now.tzinfo is None or now.utcoffset() is None:
        raise BackupPlanError(f"now: expected a timezone-aware datetime, got {quote_value(now)}")
    base = now.astimezone(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    taken = {e.casefold() for e in existing}
    if base.casefold() not in taken:
        return base
    for n in range(1, 100):
        candidate = f"{base}-{n:02d}"
        if candidate.casefold() not in taken:
            return candidate
    raise BackupPlanError(f"generation {base}: 99 generations already exist for this second")


def parse_generation_id(text: str) -> Optional[datetime.datetime]:
    """Start time (aware, UTC) of a generation id made by :func:`generation_id`; None for anything else.

    Use it to tell this collection's generation folders from anything else in a host folder.
    """
    match = GENERATION_RE.match(text or "")
    if not match:
        return None
    try:
        stamp = datetime.datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ")
    except ValueError:
        return None
    return stamp.replace(tzinfo=datetime.timezone.utc)


# ------------------------------------------------------------------------------------- volumes


def _volume_for_path(volumes: Sequence[Mapping[str, Any]], path: str, what: str) -> Mapping[str, Any]:

    try:
        return volume_for_path(volumes, path)
    except ValueError as exc:
        raise BackupPlanError(f"{what}: {quote_value(path)} is on no volume of the host ({exc})") from exc


def _drive_letter(volume: Mapping[str, Any]) -> Optional[str]:
    letter = volume.get("drive_letter")
    if not letter:
        return None
    letter = str(letter).strip()
    if not re.fullmatch(r"[A-Za-z](:\\?)?", letter):
        raise BackupPlanError(f"volume facts: drive_letter {quote_value(letter)} is not a drive letter such as 'D:'")
    return letter[0].upper() + ":"


def _access_paths(volume: Mapping[str, Any]) -> List[str]:
    paths = [normalize_path(m, "volume facts mount_points") for m in volume.get("mount_points") or []]
    letter = _drive_letter(volume)
    if letter:
        paths.append(letter + "\\")
    return paths


def _relative_to_volume(volume: Mapping[str, Any], path: str, what: str) -> str:
    """Path of ``path`` below the root of ``volume``, found through the longest matching access path."""
    best = None
    for root in _access_paths(volume):
        if is_under(path, root) and (best is None or len(root) > len(best)):
            best = root
    if best is None:
        raise BackupPlanError(
            f"{what}: {quote_value(path)} was mapped to volume {quote_value(volume.get('path'))},"
            f" but none of its drive letter or mount points {quote_value(_access_paths(volume))} contains it"
        )
    return path[len(best.rstrip("\\")) :].strip("\\")


def _volume_path(volume: Mapping[str, Any]) -> str:
    path = volume.get("path")
    if not isinstance(path, str) or not _VOLUME_KEY_RE.search(path):
        raise BackupPlanError(
            f"volume facts: path {quote_value(path)} is not a volume GUID path such as \\\\?\\Volume{{...}}\\"
        )
    return path if path.endswith("\\") else path + "\\"


# --------------------------------------------------------------------------------- inventory


def _file_entries(vm_name: str, vm: Mapping[str, Any], warnings: List[str]) -> List[Dict[str, Any]]:
    """The VM's files to copy. Disks no shadow copy of this host can hold (pass-through, on a share) are
    left out with a warning naming VM and disk; an inventory the host could not read fails the plan."""
    errors = vm.get("inventory_errors") or []
    if errors:
        raise BackupPlanError(
            f"VM {quote_value(vm_name)}: its inventory is incomplete, so a backup could miss a disk or checkpoint:"
            f" {'; '.join(str(e) for e in errors)}. Fix the VM (or exclude it with exclude_vms) and run again"
        )
    # a pass-through disk is listed once per checkpoint that has it too: warn once per disk
    skipped = {(str(d.get("disk")), str(d.get("disk_number"))): d for d in vm.get("skipped_disks") or []}
    for disk in skipped.values():
        warnings.append(
            f"VM {quote_value(vm_name)}: {disk.get('reason') or 'unsupported'} disk {quote_value(disk.get('disk'))}"
            f" (host disk {disk.get('disk_number')}) is not backed up: it is not a file a shadow copy can hold"
        )
    files: List[Dict[str, Any]] = []
    seen = set()
    for key, kind in (("config_paths", "config"), ("checkpoint_paths", "checkpoint"), ("vhd_paths", "vhd")):
        entries = vm.get(key) or []
        if not isinstance(entries, (list, tuple)):
            raise BackupPlanError(
                f"VM {quote_value(vm_name)}: {key} must be a list of file paths, got {quote_value(entries)}"
            )
        for entry in entries:
            size = None
            if isinstance(entry, Mapping):
                size = entry.get("size")
                entry = entry.get("path")
                if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
                    raise BackupPlanError(
                        f"VM {quote_value(vm_name)}: size of {quote_value(entry)} must be a byte count,"
                        f" got {quote_value(size)}"
                    )
            if key == "vhd_paths" and isinstance(entry, str) and is_unc_path(entry):
                warnings.append(
                    f"VM {quote_value(vm_name)}: disk {quote_value(entry)} is on an SMB share and is not backed up"
                    " (no shadow copy of this host holds it; back it up on the file server)"
                )
                continue
            path = _local_path(entry, f"VM {quote_value(vm_name)} {key}")
            if path.casefold() in seen:
                continue
            seen.add(path.casefold())
            files.append({"kind": kind, "original_path": path, "size": size})
    if not files:
        raise BackupPlanError(
            f"VM {quote_value(vm_name)}: the inventory lists no configuration, checkpoint or disk file"
        )
    return files


def _writer_exclusions(
    vms: Sequence[Mapping[str, Any]],
    excluded: Sequence[str],
    volumes: Sequence[Mapping[str, Any]],
    snapshotted: Mapping[str, Any],
    warnings: List[str],
) -> List[Dict[str, str]]:
    """Hyper-V writer components of excluded VMs with a file on a snapshotted volume.

    The writer would otherwise quiesce them too (a VM without online backup is put into a saved state
    for the snapshot). Its component for a VM is the VM id (``\\<ID>``); ``snapshotted`` is keyed by
    the volume GUID path, case-folded. VMs whose files are all on other volumes need nothing: the
    writer leaves out a component whose volumes are not in the shadow copy set.
    """
    names = {n.casefold() for n in excluded}
    out: List[Dict[str, str]] = []
    for vm in vms:
        name = str(vm.get("name") or "")
        if name.casefold() not in names:
            continue
        on_set = False
        for key in ("config_paths", "checkpoint_paths", "vhd_paths"):
            for entry in vm.get(key) or []:
                path = entry.get("path") if isinstance(entry, Mapping) else entry
                if not isinstance(path, str) or not is_drive_path(path):
                    continue
                try:
                    volume = _volume_for_path(volumes, path, "excluded VM")
                    on_set = on_set or _volume_path(volume).casefold() in snapshotted
                except BackupPlanError:
                    continue
        if not on_set:
            continue
        match = _VM_ID_RE.match(str(vm.get("id") or ""))
        if not match:
            warnings.append(
                f"excluded VM {quote_value(name)} has files on a volume in the snapshot but no VM id"
                f" ({quote_value(vm.get('id'))}), so the Hyper-V writer cannot be told to leave it out:"
                " it is quiesced with the others"
            )
            continue
        vm_id = match.group(1).upper()
        out.append({"vm": name, "id": vm_id, "component": "\\" + vm_id})
    return out


def _matcher(names: Sequence[str]):
    """A pattern that equals a VM name matches only that VM; any other pattern is a glob."""
    literal = {n.casefold() for n in names}

    def match(name: str, pattern: str) -> bool:
        if pattern.casefold() in literal:
            return name.casefold() == pattern.casefold()
        return fnmatch.fnmatchcase(name.casefold(), pattern.casefold())

    return match


def _patterns(value: Any, what: str) -> Optional[List[str]]:
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
        raise BackupPlanError(f"{what}: expected a list of VM names or globs, got {quote_value(value)}")
    return list(value)


def select_vms(
    host: str, vms: Sequence[Mapping[str, Any]], include: Any, exclude: Any, warnings: List[str]
) -> Tuple[List[Mapping[str, Any]], List[str]]:
    """VMs chosen by ``include`` globs (None: all) minus ``exclude`` globs; returns (selected, excluded names)."""
    include_p = _patterns(include, "vms")
    exclude_p = _patterns(exclude, "exclude_vms") or []
    names = [str(vm.get("name")) for vm in vms]
    _match = _matcher(names)
    if include_p is not None:
        unknown = [p for p in include_p if not any(_match(n, p) for n in names)]
        if unknown:
            listing = ", ".join(sorted(names, key=str.casefold)) or "none"
            raise BackupPlanError(
                f"vms: {', '.join(quote_value(u) for u in unknown)} matches no VM on host {host} (VMs there: {listing})"
            )
    for pattern in exclude_p:
        if not any(_match(n, pattern) for n in names):
            warnings.append(f"exclude_vms: {quote_value(pattern)} matches no VM on host {host}")
    selected, excluded = [], []
    for vm, name in zip(vms, names):
        wanted = include_p is None or any(_match(name, p) for p in include_p)
        if wanted and not any(_match(name, p) for p in exclude_p):
            selected.append(vm)
        else:
            excluded.append(name)
    return selected, excluded


def _common_dir(dirs: Sequence[str]) -> str:
    split = [_parts(d) for d in dirs]
    common = split[0]
    for other in split[1:]:
        n = 0
        while n < min(len(common), len(other)) and common[n].casefold() == other[n].casefold():
            n += 1
        common = common[:n]
    return "\\".join(common)


def _live_root(planned_file: Mapping[str, Any]) -> str:
    """The volume root as the inventory spelled it for this file (``D:\\`` or a folder mount point)."""
    original, below = planned_file["original_path"], planned_file["_rel_volume"]
    return original[: len(original) - len(below)] or original


def _int_option(value: Any, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BackupPlanError(f"{what}: expected a whole number from {low} to {high}, got {quote_value(value)}")
    return value


# -------------------------------------------------------------------------------------- plan


def build_plan(
    host: str,
    vms: Sequence[Mapping[str, Any]],
    volumes: Sequence[Mapping[str, Any]],
    *,
    destination: Optional[str],
    job_id: str,
    job_dir: str,
    now: Optional[datetime.datetime] = None,
    include_vms: Any = None,
    exclude_vms: Any = None,
    extra_paths: Any = None,
    backup_type: str = "copy",
    require_hyperv_writer: bool = True,
    copy_threads: int = DEFAULT_COPY_THREADS,
    unbuffered_min_size: Optional[int] = DEFAULT_UNBUFFERED_MIN_SIZE,
    retry: int = DEFAULT_RETRY,
    wait: int = DEFAULT_WAIT,
    existing_generations: Iterable[str] = (),
) -> Dict[str, Any]:
    """Build the backup plan described in the module docstring.

    ``include_vms`` (the ``vms`` option): names or globs (case-insensitive); None means every VM, an
    empty list means none (extra paths only). Each entry must match at least one VM. ``exclude_vms``
    removes matching VMs. ``unbuffered_min_size``: files of at least this many bytes are copied with
    unbuffered I/O (``/J``); 0 means every file, None means none. ``existing_generations``: ids already
    in the host folder, only used to keep the new id unique. ``destination`` None plans a job whose VMs go
    to another repository (restic, see ``_restic/job.py``): no generation folder (``host_path``,
    ``generation_path`` and the destinations are None) and no copy wrapper.
    """
    warnings: List[str] = []
    host = check_folder_name(host, "host")
    if not isinstance(job_id, str) or not _JOB_ID_RE.match(job_id):
        raise BackupPlanError(
            "job_id: expected 1-64 letters, digits, '_', '.' or '-' starting with a letter or digit,"
            f" got {quote_value(job_id)}"
        )
    job_dir = _local_path(job_dir, "job_dir")
    if backup_type not in BACKUP_TYPES:
        raise BackupPlanError(f"backup_type: expected one of {', '.join(BACKUP_TYPES)}, got {quote_value(backup_type)}")
    if not isinstance(require_hyperv_writer, bool):
        raise BackupPlanError(
            f"require_hyperv_writer: expected true or false, got {quote_value(require_hyperv_writer)}"
        )
    robocopy = {
        "threads": _int_option(copy_threads, "copy_threads", *OPTION_LIMITS["copy_threads"]),
        "retry": _int_option(retry, "retry", 0, 1000),
        "wait": _int_option(wait, "wait", 0, 3600),
        "unbuffered_min_size": None
        if unbuffered_min_size is None
        else _int_option(unbuffered_min_size, "unbuffered_min_size", 0, 2**62),
    }
    if now is None:
        now = datetime.datetime.now(datetime.timezone.utc)
    generation = generation_id(now, existing_generations)

    given = destination
    if destination is None:
        # another repository (restic) stores the VMs: no generation folder, no copy steps
        host_path = generation_path = None
    else:
        destination = normalize_path(destination, "destination")
        if not (is_absolute(destination)):
            raise BackupPlanError(
                f"destination: expected a local path such as E:\\Backups or a UNC path such as \\\\nas\\backups,"
                f" got {quote_value(given)}{damaged_path_hint(given)}"
            )
        _check_components(destination, "destination")
        host_path = join(destination, host)
        generation_path = join(host_path, generation)
    jobs_root = parent(job_dir) if len(_parts(job_dir)) > 1 else job_dir
    if destination is not None and (is_under(destination, jobs_root) or is_under(job_dir, generation_path)):
        raise BackupPlanError(
            f"destination: {quote_value(destination)} and the job folders ({quote_value(jobs_root)})"
            " must not contain each other: job cleanup removes what is below the job folders"
        )

    if not isinstance(vms, (list, tuple)) or not all(isinstance(vm, Mapping) for vm in vms):
        raise BackupPlanError(f"VM inventory of host {host}: expected a list of VM dicts, got {quote_value(vms)}")
    for vm in vms:
        if not isinstance(vm.get("name"), str) or not vm.get("name"):
            raise BackupPlanError(f"VM inventory of host {host}: a VM has no name: {quote_value(dict(vm))}")
    selected, excluded = select_vms(host, vms, include_vms, exclude_vms, warnings)

    # Names become folder names under the generation: safe, unique (case-insensitive), not ours.
    seen_names: Dict[str, Mapping[str, Any]] = {}
    for vm in selected:
        name = vm["name"]
        check_folder_name(name, f"VM name {quote_value(name)}")
        if name.casefold() in (EXTRA_FOLDER.casefold(), MANIFEST_NAME.casefold()):
            raise BackupPlanError(
                f"VM name {quote_value(name)}: this name is reserved for the backup layout; rename or exclude the VM"
            )
        if name.casefold() in seen_names:
            other = seen_names[name.casefold()]
            raise BackupPlanError(
                f"VM name {quote_value(name)}: two VMs would share one backup folder"
                f" (ids {other.get('id')}, {vm.get('id')}); rename one of them or exclude it with exclude_vms"
            )
        seen_names[name.casefold()] = vm

    # Volumes, in the order they are first needed.
    volume_entries: Dict[str, Dict[str, Any]] = {}

    def volume_entry(path: str, what: str, user: str) -> Dict[str, Any]:
        volume = _volume_for_path(volumes, path, what)
        vpath = _volume_path(volume)
        key = vpath.casefold()
        if key not in volume_entries:
            alias = f"{ALIAS_PREFIX}{len(volume_entries) + 1}"
            letter = _drive_letter(volume)
            volume_entries[key] = {
                "alias": alias,
                "guid": volume.get("guid"),
                "volume_path": vpath,
                "drive_letter": letter,
                "add_as": letter or vpath,
                "key": letter[0] if letter else _VOLUME_KEY_RE.search(vpath).group(1),
                "mount_folder": join(job_dir, "mnt", alias),
                "used_by": [],
                "_facts": volume,
            }
        entry = volume_entries[key]
        if user not in entry["used_by"]:
            entry["used_by"].append(user)
        return entry

    steps: List[Dict[str, Any]] = []

    def add_step(**step: Any) -> str:
        step_id = f"s{len(steps) + 1:03d}"
        steps.append({"id": step_id, **step})
        return step_id

    plan_vms: List[Dict[str, Any]] = []
    # (volume path, folder below its root, what it is) the destination must stay out of
    guard_dirs: List[Tuple[str, str, str]] = []
    for vm in selected:
        name = vm["name"]
        files = _file_entries(name, vm, warnings)
        by_volume: Dict[str, List[Dict[str, Any]]] = {}
        for f in files:
            entry = volume_entry(f["original_path"], f"VM {quote_value(name)} file", f"vm:{name}")
            f["alias"] = entry["alias"]
            f["_rel_volume"] = _relative_to_volume(entry["_facts"], f["original_path"], f"VM {quote_value(name)} file")
            by_volume.setdefault(entry["alias"], []).append(f)
        vm_dest = join(generation_path, name) if generation_path else None
        aliases = list(by_volume)
        step_ids: List[str] = []
        for alias in aliases:
            entry = next(e for e in volume_entries.values() if e["alias"] == alias)
            group = by_volume[alias]
            root_rel = _common_dir([parent("\\" + f["_rel_volume"]) for f in group])
            if root_rel:
                live = join(_live_root(group[0]), root_rel)
                guard_dirs.append((entry["volume_path"], root_rel, f"the folder of VM {quote_value(name)} ({live})"))
            else:  # the VM's files share only the volume root: guard each folder holding them
                guard_dirs.extend(
                    (
                        entry["volume_path"],
                        parent("\\" + f["_rel_volume"]).strip("\\"),
                        f"a folder of VM {quote_value(name)} ({parent(f['original_path'])})",
                    )
                    for f in group
                )
            base_dest = (join(vm_dest, entry["key"]) if len(aliases) > 1 else vm_dest) if vm_dest else None
            by_dir: Dict[str, List[Dict[str, Any]]] = {}
            for f in group:
                by_dir.setdefault(parent("\\" + f["_rel_volume"]).strip("\\").casefold(), []).append(f)
            for group_files in by_dir.values():
                # one spelling per folder (the first file's), so paths agree with where robocopy writes
                rel_dir = parent("\\" + group_files[0]["_rel_volume"]).strip("\\")
                dest_rel = rel_dir[len(root_rel) :].strip("\\")
                for f in group_files:
                    base = f["original_path"].rsplit("\\", 1)[1]
                    f["relative_path"] = (
                        join(entry["key"], dest_rel, base) if len(aliases) > 1 else join(dest_rel, base)
                    )
                    f["shadow_path"] = join(entry["mount_folder"], rel_dir, base)
                step_ids.append(
                    add_step(
                        kind="vm",
                        vm=name,
                        alias=alias,
                        original_dir=join(parent(group_files[0]["original_path"])),
                        source_dir=join(entry["mount_folder"], rel_dir),
                        destination_dir=join(base_dest, dest_rel) if base_dest else None,
                        files=[f["original_path"].rsplit("\\", 1)[1] for f in group_files],
                        recurse=False,
                    )
                )
        plan_vms.append(
            {
                "name": name,
                "id": str(vm.get("id") or ""),
                "state": str(vm.get("state") or ""),
                "destination": vm_dest,
                "aliases": aliases,
                "steps": step_ids,
                "files": [
                    {k: f[k] for k in ("kind", "original_path", "shadow_path", "relative_path", "size")} for f in files
                ],
            }
        )

    plan_extras: List[Dict[str, Any]] = []
    extra_list = [] if extra_paths is None else extra_paths
    if isinstance(extra_list, str) or not isinstance(extra_list, (list, tuple)):
        raise BackupPlanError(f"extra_paths: expected a list of folder paths, got {quote_value(extra_paths)}")
    normalized_extras: List[str] = []
    for raw in extra_list:
        path = _local_path(raw, "extra_paths")
        for other in normalized_extras:
            if is_under(path, other) or is_under(other, path):
                raise BackupPlanError(
                    f"extra_paths: {quote_value(path)} and {quote_value(other)} overlap; list only the outer folder"
                )
        normalized_extras.append(path)
    for path in normalized_extras:
        entry = volume_entry(path, "extra_paths", f"extra:{path}")
        rel = _relative_to_volume(entry["_facts"], path, "extra_paths")
        dest = join(generation_path, EXTRA_FOLDER, entry["key"], rel) if generation_path else None
        guard_dirs.append((entry["volume_path"], rel, f"extra path {quote_value(path)}"))
        step_id = add_step(
            kind="extra",
            vm=None,
            alias=entry["alias"],
            original_dir=path,
            source_dir=join(entry["mount_folder"], rel),
            destination_dir=dest,
            files=None,
            recurse=True,
        )
        plan_extras.append({"path": path, "alias": entry["alias"], "destination": dest, "step": step_id})

    if not steps:
        raise BackupPlanError(f"host {host}: nothing to back up (no VM selected by vms/exclude_vms and no extra_paths)")

    # The destination must not land in what is being copied, nor in the job's own folders.
    if destination is not None and is_drive_path(destination):
        dest_volume = _volume_for_path(volumes, destination, "destination")
        dest_key = _volume_path(dest_volume).casefold()
        dest_rel = _relative_to_volume(dest_volume, generation_path, "destination")
        for volume_path, folder, why in guard_dirs:
            if volume_path.casefold() == dest_key and is_under("\\" + dest_rel, "\\" + folder):
                raise BackupPlanError(
                    f"destination: {quote_value(destination)} is inside {why};"
                    " choose a folder outside the VM folders and extra paths"
                )
        if dest_key in volume_entries:
            warnings.append(
                f"destination {quote_value(destination)} is on a volume that is being snapshotted"
                f" ({volume_entries[dest_key]['add_as']}): the copy grows that shadow copy's storage"
            )

    sizes = [f["size"] for vm in plan_vms for f in vm["files"]]
    plan = {
        "format": PLAN_FORMAT,
        "host": host,
        "job_id": job_id,
        "job_dir": job_dir,
        "generation": generation,
        "created_at": now.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "backup_type": backup_type,
        "require_hyperv_writer": require_hyperv_writer,
        "destination": destination,
        "host_path": host_path,
        "generation_path": generation_path,
        "job_files": {key: join(job_dir, name) for key, name in JOB_FILE_NAMES.items()},
        "mount_root": join(job_dir, "mnt"),
        "volumes": [{k: v for k, v in e.items() if not k.startswith("_")} for e in volume_entries.values()],
        "vms": plan_vms,
        "extra_paths": plan_extras,
        "excluded_vms": excluded,
        "writer_excluded_components": _writer_exclusions(vms, excluded, volumes, volume_entries, warnings),
        "steps": steps,
        "robocopy": robocopy,
        "total_bytes": None if not sizes or None in sizes or plan_extras else sum(sizes),
        "warnings": warnings,
    }
    if destination is None:
        check_renderable(plan, copy_wrapper=False)
    else:
        check_renderable(plan)
    return plan
