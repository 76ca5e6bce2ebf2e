# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""File-level restore from a backed-up virtual disk, pure Python on the controller.

``plugins/action/win_vm_file_restore.py`` feeds it what the host reported:

* :func:`validate_file_options`   the task options (generation choice as :mod:`.options` has it);
* :func:`parse_guest_path`        a path inside the guest (``C:\\inetpub\\web.config``, ``\\inetpub\\*.config``);
* :func:`select_disks`            which of the VM's backed-up disks to read (the ``disk`` option);
* :func:`chain_tops`              the disk to mount of each chain (the top ``.avhdx``), whose parents must all be
  inside the generation: a chain reaching outside it would read the live VM's parent disk;
* :func:`describe_volumes`        the guest volumes found on the mounted disks, named by label, letter in the
  guest (only the guest's Windows volume, C:) or partition number, each readable or not and why;
* :func:`choose_volume`           the volume the ``volume`` option (or the path's drive letter) names;
* :func:`list_requests` / :func:`resolve_copy`   what to read, and the files and folders a copy takes
  (globs in the last path component, matched here);
* :func:`copy_outcome`            the copy payload's robocopy exit codes.
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.vaware.hyperv.plugins.plugin_utils._restore.options import (
    RestoreError,
    check_generation,
    check_path,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.plan import check_folder_name
from ansible_collections.vaware.hyperv.plugins.plugin_utils._winpath import is_under, join, quote_value

FILE_MODES = ("list", "copy")
READABLE_FILE_SYSTEMS = ("NTFS", "ReFS")
_FORBIDDEN = set('<>:"|') | {chr(c) for c in range(32)}
_LETTER_RE = re.compile(r"^([A-Za-z]):(?:\\(.*))?$")
_SELECTOR_LETTER_RE = re.compile(r"^([A-Za-z]):?\\?$")
_PARTITION_RE = re.compile(r"^(?:partition[:\s]*)?(\d{1,3})$", re.IGNORECASE)
_LABEL_PREFIX_RE = re.compile(r"^label:", re.IGNORECASE)
# GPT partition types that never hold user files (Microsoft reserved, EFI system holds only the boot loader)
_MSR_GPT = "{e3c9e316-0b5c-4db8-817d-f92df00215ae}"
GUEST_SYSTEM_LETTER = "C"


# ------------------------------------------------------------------------------------ options


def validate_file_options(args: Mapping[str, Any]) -> Dict[str, Any]:
    """Check the options of win_vm_file_restore and return them normalized; :class:`RestoreError` names a bad one."""
    mode = args.get("mode") or "list"
    if mode not in FILE_MODES:
        raise RestoreError(f"mode: expected one of {', '.join(FILE_MODES)}, got {mode!r}")
    vm = check_folder_name(args.get("vm"), "vm")
    generation, before = check_generation(args.get("generation"), args.get("before"))
    backup_host = args.get("backup_host") or None
    if backup_host is not None:
        backup_host = check_folder_name(backup_host, "backup_host")
    destination = check_path(args.get("destination"), "destination")
    raw_paths = args.get("paths")
    if raw_paths is None or raw_paths == []:
        raw_paths = ["\\"] if mode == "list" else []
    if isinstance(raw_paths, str) or not isinstance(raw_paths, Sequence):
        raise RestoreError(f"paths: expected a list of paths inside the guest, got {quote_value(raw_paths)}")
    if not raw_paths:
        raise RestoreError("paths: give at least one file, folder or glob inside the guest to copy")
    paths = [parse_guest_path(p, "paths") for p in raw_paths]
    if mode == "list" and (len(paths) != 1 or paths[0]["glob"]):
        raise RestoreError(
            f"paths: mode list shows one folder (or file) of the guest, got {', '.join(map(quote_value, raw_paths))}"
        )
    letters = sorted({p["letter"] for p in paths if p["letter"]})
    if len(letters) > 1:
        raise RestoreError(
            f"paths: all paths must be on one guest volume, got drive letters {', '.join(x + ':' for x in letters)}"
        )
    volume = parse_volume_selector(args.get("volume")) if args.get("volume") not in (None, "") else None
    letter = letters[0] if letters else None
    if letter and volume and volume.get("letter") and volume["letter"] != letter:
        raise RestoreError(
            f"volume {quote_value(args.get('volume'))} and the drive letter {letter}: of paths name different volumes"
        )
    if letter and volume and not volume.get("letter"):
        raise RestoreError(
            f"volume {quote_value(args.get('volume'))} and the drive letter {letter}: of paths were both given: "
            "give paths without a drive letter (\\inetpub\\...) or leave volume unset"
        )
    if letter and not volume:
        volume = {"letter": letter, "text": f"{letter}:"}
    target = None
    if mode == "copy":
        if args.get("target") in (None, ""):
            raise RestoreError(
                "target: mode copy needs a folder on the host to copy to (for example E:\\Restore\\web01)"
            )
        target = check_path(args.get("target"), "target")
        if is_under(target, destination) or is_under(destination, target):
            raise RestoreError(
                f"target: {quote_value(target)} is inside the backup destination {quote_value(destination)} "
                "(or holds it); a file restore never writes to the backup: choose a folder outside it"
            )
    disk = args.get("disk")
    if disk not in (None, ""):
        if not isinstance(disk, str) or any(c in _FORBIDDEN for c in disk):
            raise RestoreError(
                f"disk: expected the file name of one of the VM's disks (web01.vhdx), got {quote_value(disk)}"
            )
    else:
        disk = None
    verify = args.get("verify") or "size"
    if verify not in ("size", "hash"):
        raise RestoreError(f"verify: expected one of size, hash, got {verify!r}")
    poll_interval = args.get("poll_interval", 5)
    if isinstance(poll_interval, bool) or not isinstance(poll_interval, int) or not 1 <= poll_interval <= 600:
        raise RestoreError(f"poll_interval: expected a whole number of seconds from 1 to 600, got {poll_interval!r}")
    copy_timeout = args.get("copy_timeout", 86400)
    if isinstance(copy_timeout, bool) or not isinstance(copy_timeout, int) or not 60 <= copy_timeout <= 7 * 86400:
        raise RestoreError(
            f"copy_timeout: expected a whole number of seconds from 60 to 604800 (a week), got {copy_timeout!r}"
        )
    return {
        "poll_interval": poll_interval,
        "copy_timeout": copy_timeout,
        "mode": mode,
        "vm": vm,
        "destination": destination,
        "backup_host": backup_host,
        "generation": generation,
        "before": before,
        "paths": paths,
        "volume": volume,
        "disk": disk,
        "target": target,
        "force": bool(args.get("force")),
        "verify": verify,
    }


def parse_guest_path(value: Any, what: str = "paths") -> Dict[str, Any]:
    """A path inside the guest: ``{"text", "letter", "parts", "glob"}``.

    ``C:\\inetpub\\web.config`` (drive letter in the guest), ``\\inetpub\\web.config`` or ``inetpub\\web.config``
    (from the root of the chosen volume); ``/`` works as ``\\``. ``*`` and ``?`` are wildcards in the last
    component only. ``.`` and ``..`` components, UNC paths and characters Windows forbids in names are refused.
    """
    if not isinstance(value, str) or not value.strip():
        raise RestoreError(f"{what}: expected a path inside the guest such as C:\\inetpub\\web.config, got {value!r}")
    text = value.strip().replace("/", "\\")
    if text.startswith("\\\\"):
        raise RestoreError(
            f"{what}: {quote_value(value)} is a UNC or device path; give a path inside the guest volume "
            "(C:\\folder\\file or \\folder\\file)"
        )
    letter = None
    match = _LETTER_RE.match(text)
    if match:
        letter = match.group(1).upper()
        text = match.group(2) or ""
    elif re.match(r"^[A-Za-z]:", text):
        raise RestoreError(f"{what}: {quote_value(value)}: a drive letter must be followed by \\ (C:\\folder)")
    parts = [p for p in text.split("\\") if p]
    for index, part in enumerate(parts):
        bad = sorted({c for c in part if c in _FORBIDDEN})
        if bad:
            raise RestoreError(
                f"{what}: {quote_value(value)} contains {' '.join(quote_value(c) for c in bad)}, "
                "which Windows does not allow in a file name"
            )
        if part in (".", ".."):
            raise RestoreError(f"{what}: {quote_value(value)} contains a '{part}' component; give a plain path")
        if ("*" in part or "?" in part) and index != len(parts) - 1:
            raise RestoreError(
                f"{what}: {quote_value(value)}: wildcards (* ?) are allowed only in the last part of a path"
            )
    glob = bool(parts) and ("*" in parts[-1] or "?" in parts[-1])
    return {"text": value, "letter": letter, "parts": parts, "glob": glob}


def glob_match(pattern: str, name: str) -> bool:
    """``name`` matches ``pattern`` (``*`` any run, ``?`` one character), case-insensitive as Windows names are."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, name, re.IGNORECASE | re.DOTALL) is not None


def parse_volume_selector(value: Any) -> Dict[str, Any]:
    """The ``volume`` option: ``{"letter"}`` (``C:``), ``{"partition"}`` (``2``, ``partition 2``) or ``{"label"}``.

    A label that looks like a number or a letter can be given as ``label:2``.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise RestoreError(
            f"volume: expected a label, a drive letter in the guest (C:) or a partition number, got {value!r}"
        )
    text = str(value).strip()
    if _LABEL_PREFIX_RE.match(text):
        label = text.split(":", 1)[1].strip()
        if not label:
            raise RestoreError(f"volume: {quote_value(value)} names no label")
        return {"label": label, "text": text}
    match = _PARTITION_RE.match(text)
    if match:
        number = int(match.group(1))
        if number < 1:
            raise RestoreError(f"volume: partition numbers start at 1, got {quote_value(value)}")
        return {"partition": number, "text": text}
    match = _SELECTOR_LETTER_RE.match(text)
    if match and (len(text) > 1 or text.isalpha()):
        if len(text) == 1:
            # a one-character label is possible, but a letter is what people mean
            return {"letter": text.upper(), "text": text}
        return {"letter": match.group(1).upper(), "text": text}
    if not text:
        raise RestoreError("volume: expected a label, a drive letter in the guest (C:) or a partition number")
    return {"label": text, "text": text}


# ---------------------------------------------------------------------------------------- disks


def disk_name(path: str) -> str:
    return path.rsplit("\\", 1)[-1]


def select_disks(files: Sequence[Mapping[str, Any]], disk: Optional[str]) -> List[Mapping[str, Any]]:
    """The VM's virtual disk files in the generation (``kind: vhd``), only those named by ``disk`` when given.

    ``disk`` matches a file name (``web01.vhdx``) or the path relative to the VM's folder, case-insensitive;
    a base disk also selects the differencing disks of its chain (the chain's top is what gets mounted).
    """
    disks = [f for f in files if f.get("kind") == "vhd"]
    if not disks:
        raise RestoreError("the backup of this VM holds no virtual disk")
    if disk is None:
        return disks
    wanted = disk.replace("/", "\\").strip("\\").casefold()
    chosen = [f for f in disks if wanted in (f["relative_path"].casefold(), disk_name(f["path"]).casefold())]
    if not chosen:
        names = ", ".join(disk_name(f["path"]) for f in disks)
        raise RestoreError(f"disk: the backup of this VM holds no disk {quote_value(disk)}; its disks: {names}")
    return chosen


def chain_tops(
    infos: Any, disks: Sequence[Mapping[str, Any]], generation_path: str, all_disks: Sequence[Mapping[str, Any]]
) -> List[Dict[str, Any]]:
    """The disk to mount for each selected chain: ``[{"path", "name", "chain"}]``.

    ``infos``: the disks payload's answer (``[{"path", "exists", "parent_path", "vhd_type", "attached"}]``) for
    ``all_disks``. A differencing disk's parents are followed to the base; every one of them must be a file of the
    generation (its parent locator may still name the live VM's disk, which must never be read in its place).
    A selected disk that is the parent of another backed-up disk is represented by the top of its chain.
    """
    index = {str(i.get("path") or "").casefold(): i for i in infos or [] if isinstance(i, Mapping)}
    known = {f["path"].casefold() for f in all_disks}
    for item in all_disks:
        info = index.get(item["path"].casefold())
        if info is None or not info.get("exists"):
            raise RestoreError(f"the disk {item['path']} of the backup could not be read on the host")
    parents = {}
    for item in all_disks:
        info = index[item["path"].casefold()]
        parent_path = str(info.get("parent_path") or "")
        if parent_path:
            if parent_path.casefold() not in known:
                where = "inside" if is_under(parent_path, generation_path) else "outside"
                raise RestoreError(
                    f"the differencing disk {item['path']} has the parent {parent_path}, {where} the generation "
                    f"{generation_path} and not among the VM's backed-up disks: mounting it would read that disk "
                    "in place of the backed-up parent, so it is not mounted. Restore the disks with win_vm_restore "
                    "mode files, point the copy at its copied parent (Set-VHD -ParentPath) and read it there"
                )
            parents[item["path"].casefold()] = parent_path.casefold()
    children: Dict[str, List[str]] = {}
    for child, par in parents.items():
        children.setdefault(par, []).append(child)
    by_key = {f["path"].casefold(): f for f in all_disks}

    def chain_of(key: str) -> List[str]:
        chain = [key]
        while chain[-1] in parents:
            chain.append(parents[chain[-1]])
            if len(chain) > 64:
                raise RestoreError(f"the disk chain of {by_key[key]['path']} loops")
        return chain

    tops: Dict[str, Dict[str, Any]] = {}
    for item in disks:
        key = item["path"].casefold()
        # walk down to the top of the chain this disk belongs to
        while key in children:
            if len(children[key]) > 1:
                names = ", ".join(by_key[c]["path"] for c in children[key])
                raise RestoreError(
                    f"the disk {by_key[key]['path']} is the parent of several differencing disks ({names}): "
                    "give disk to choose one of them"
                )
            key = children[key][0]
        chain = chain_of(key)
        tops.setdefault(
            key,
            {
                "path": by_key[key]["path"],
                "name": disk_name(by_key[key]["path"]),
                "chain": [by_key[k]["path"] for k in chain],
            },
        )
    attached = [t["path"] for t in tops.values() if index[t["path"].casefold()].get("attached")]
    if attached:
        raise RestoreError(
            f"the virtual disk {attached[0]} is already attached on the host (mounted by another program or a "
            "restore that is still running); it is left as it is. Dismount it (Dismount-VHD) and run again"
        )
    return list(tops.values())


# -------------------------------------------------------------------------------------- volumes


def _volume_name(volume: Mapping[str, Any], several_disks: bool) -> str:
    name = f"partition {volume['partition']}"
    if several_disks:
        name = f"{volume['disk']} {name}"
    extra = []
    if volume.get("label"):
        extra.append(f"label {volume['label']!r}")
    if volume.get("letter"):
        extra.append(f"{volume['letter']}: in the guest")
    return name + (f" ({', '.join(extra)})" if extra else "")


def describe_volumes(answer: Mapping[str, Any]) -> List[Dict[str, Any]]:
    """The guest volumes of the volumes payload's answer, each with ``name``, ``readable`` and ``reason``.

    ``answer["disks"]``: ``[{"path", "disk_number", "offline", "offline_reason", "partition_style",
    "partitions": [{"partition_number", "type", "gpt_type", "size", "volume_path", "file_system", "label",
    "windows", "bitlocker"}]}]``. ``bitlocker`` is ``{"protection_status", "lock_status"}`` when the host's
    BitLocker reports the volume, else None. The letter in the guest is known only for the guest's own Windows
    volume (it holds ``Windows\\System32\\config\\SYSTEM``), which Windows Setup names C:; other letters live in
    the guest's registry, which is not read.
    """
    disks = [d for d in answer.get("disks") or [] if isinstance(d, Mapping)]
    several = len(disks) > 1
    volumes = []
    for disk in disks:
        for part in disk.get("partitions") or []:
            if not isinstance(part, Mapping):
                continue
            fs = str(part.get("file_system") or "")
            volume = {
                "disk": disk_name(str(disk.get("path") or "")),
                "disk_path": str(disk.get("path") or ""),
                "partition": int(part.get("partition_number") or 0),
                "size": part.get("size"),
                "type": part.get("type"),
                "label": str(part.get("label") or "") or None,
                "file_system": fs or None,
                "letter": GUEST_SYSTEM_LETTER if part.get("windows") else None,
                "volume_path": part.get("volume_path"),
            }
            reason = None
            bitlocker = part.get("bitlocker") if isinstance(part.get("bitlocker"), Mapping) else None
            if disk.get("offline"):
                reason = f"the disk is offline on the host ({disk.get('offline_reason') or 'reason not reported'})"
            elif str(part.get("gpt_type") or "").casefold() == _MSR_GPT or str(part.get("type")) == "Reserved":
                reason = "a Microsoft reserved partition, which holds no files"
            elif bitlocker and (bitlocker.get("lock_status") == 1 or (bitlocker.get("protection_status") or 0) != 0):
                reason = "BitLocker-encrypted: a file restore reads only volumes without BitLocker"
            elif not part.get("volume_path"):
                reason = "Windows shows no volume on this partition"
            elif not fs or fs.casefold() in ("unknown", "raw"):
                reason = (
                    "no file system Windows can read: BitLocker-encrypted (locked), not formatted, or a file system "
                    "of another operating system"
                )
            elif fs.casefold() not in (f.casefold() for f in READABLE_FILE_SYSTEMS):
                reason = f"file system {fs}: a file restore reads only NTFS and ReFS volumes"
            volume["readable"] = reason is None
            volume["reason"] = reason
            volume["name"] = _volume_name(volume, several)
            volumes.append(volume)
    return volumes


def _listing(volumes: Sequence[Mapping[str, Any]]) -> str:
    shown = [v["name"] + ("" if v["readable"] else f" [not readable: {v['reason']}]") for v in volumes]
    return "; ".join(shown) or "none"


def choose_volume(volumes: Sequence[Mapping[str, Any]], selector: Optional[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The volume ``selector`` names (or the only readable one); :class:`RestoreError` names the volume otherwise."""
    if selector is None:
        readable = [v for v in volumes if v["readable"]]
        if len(readable) == 1:
            return readable[0]
        if not readable:
            raise RestoreError(f"the VM's disks hold no volume a file restore can read: {_listing(volumes)}")
        raise RestoreError(
            "the VM's disks hold several volumes; give volume (a label, C: for the guest's Windows volume, or a "
            f"partition number) or a path with its drive letter: {_listing(volumes)}"
        )
    if "letter" in selector:
        found = [v for v in volumes if v["letter"] == selector["letter"]]
        if not found and selector["letter"] != GUEST_SYSTEM_LETTER:
            raise RestoreError(
                f"volume {selector['text']}: the letter in the guest is known only for its Windows volume (C:); "
                f"name the volume by label or partition number instead: {_listing(volumes)}"
            )
        what = f"{selector['letter']}: (the guest's Windows volume)"
    elif "partition" in selector:
        disks = {v["disk_path"].casefold() for v in volumes}
        if len(disks) > 1:
            raise RestoreError(
                f"volume {selector['text']}: the VM has several disks, set disk to say which one holds partition "
                f"{selector['partition']}: {_listing(volumes)}"
            )
        found = [v for v in volumes if v["partition"] == selector["partition"]]
        what = f"partition {selector['partition']}"
    else:
        found = [v for v in volumes if (v["label"] or "").casefold() == selector["label"].casefold()]
        what = f"label {selector['label']!r}"
    if not found:
        raise RestoreError(f"volume {selector['text']}: no volume with {what} on the VM's disks: {_listing(volumes)}")
    if len(found) > 1:
        raise RestoreError(
            f"volume {selector['text']}: several volumes have {what}: {_listing(found)}; set disk or give the "
            "partition number"
        )
    volume = found[0]
    if not volume["readable"]:
        raise RestoreError(
            f"cannot read the guest volume {volume['name']} of disk {volume['disk']}: {volume['reason']}"
        )
    return volume


# ----------------------------------------------------------------------------------- list / copy


def guest_text(parts: Sequence[str]) -> str:
    """``\\inetpub\\wwwroot`` for the parts of a path inside the guest volume."""
    return "\\" + "\\".join(parts)


def list_requests(mode: str, paths: Sequence[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """What the mount payload's List action reads: ``[{"path", "children"}]`` (paths relative to the volume root).

    ``list``: the one path with its children. ``copy``: each literal path as itself, a glob's folder with its
    children (matched by :func:`resolve_copy`).
    """
    requests: List[Dict[str, Any]] = []
    for path in paths:
        if mode == "list":
            requests.append({"path": "\\".join(path["parts"]), "children": True})
        elif path["glob"]:
            requests.append({"path": "\\".join(path["parts"][:-1]), "children": True})
        else:
            requests.append({"path": "\\".join(path["parts"]), "children": False})
    return requests


def _entry(item: Mapping[str, Any], parts: Sequence[str]) -> Dict[str, Any]:
    kind = "link" if item.get("link") else "folder" if item.get("folder") else "file"
    return {
        "name": str(item.get("name") or (parts[-1] if parts else "\\")),
        "path": guest_text(parts),
        "type": kind,
        "size": None if item.get("folder") else item.get("size"),
        "modified": item.get("modified"),
    }


def _answer_for(answer: Mapping[str, Any], index: int, path: str) -> Mapping[str, Any]:
    items = answer.get("items") or []
    if index >= len(items) or not isinstance(items[index], Mapping):
        raise RestoreError(f"the host did not report {guest_text(path.split(chr(92)) if path else [])}")
    return items[index]


def list_entries(answer: Mapping[str, Any], path: Mapping[str, Any], volume_name: str) -> List[Dict[str, Any]]:
    """Mode list: the entries of the folder (or the one file) ``path``, folders first, then by name.

    A junction or symbolic link to a folder has type ``link``: the payload never follows one (its target would be
    resolved on the host, not in the guest)."""
    item = _answer_for(answer, 0, "\\".join(path["parts"]))
    where = guest_text(path["parts"])
    if item.get("error"):
        raise RestoreError(f"{where} on {volume_name} could not be read: {item['error']}")
    if not item.get("exists"):
        raise RestoreError(f"{where} does not exist on {volume_name}")
    if not item.get("folder"):
        return [_entry(item, path["parts"])]
    entries = [_entry(child, [*path["parts"], str(child.get("name"))]) for child in item.get("children") or []]
    return sorted(entries, key=lambda e: (e["type"] == "file", e["name"].casefold()))


def resolve_copy(
    answer: Mapping[str, Any], paths: Sequence[Mapping[str, Any]], target: str, volume_name: str
) -> Tuple[List[Dict[str, Any]], List[str]]:
    """Mode copy: the files and folders to copy, ``[{"source", "name", "type", "size", "modified", "destination"}]``,
    and the guest paths of the junctions and folder links a glob matched, which are not copied.

    ``source`` is relative to the volume root; each lands directly in ``target`` under its own name. A literal path
    that does not exist, a glob that matches nothing, or two sources of the same name are refused.
    """
    items: List[Dict[str, Any]] = []
    links: List[str] = []
    for index, path in enumerate(paths):
        folder_parts = path["parts"][:-1] if path["glob"] else path["parts"]
        item = _answer_for(answer, index, "\\".join(folder_parts))
        where = guest_text(folder_parts)
        if item.get("error"):
            raise RestoreError(f"{where} on {volume_name} could not be read: {item['error']}")
        if not path["parts"]:
            raise RestoreError(
                f"paths: {quote_value(path['text'])} is the root of the volume; copy its folders or use a glob (\\*)"
            )
        if path["glob"]:
            if not item.get("exists") or not item.get("folder"):
                raise RestoreError(
                    f"paths: {quote_value(path['text'])}: the folder {where} does not exist on {volume_name}"
                )
            matched = [c for c in item.get("children") or [] if glob_match(path["parts"][-1], str(c.get("name")))]
            if not matched:
                raise RestoreError(f"paths: {quote_value(path['text'])} matches nothing in {where} on {volume_name}")
            found = [(c, [*folder_parts, str(c.get("name"))]) for c in matched]
        else:
            if not item.get("exists"):
                raise RestoreError(f"paths: {quote_value(path['text'])}: {where} does not exist on {volume_name}")
            found = [(item, list(path["parts"]))]
        for child, parts in found:
            entry = _entry(child, parts)
            if entry["type"] == "link":
                links.append(entry["path"])
                continue
            entry["source"] = "\\".join(parts)
            entry["destination"] = join(target, entry["name"])
            items.append(entry)
    seen: Dict[str, str] = {}
    for entry in items:
        key = entry["name"].casefold()
        if key in seen and seen[key] != entry["path"].casefold():
            raise RestoreError(
                f"paths: {entry['path']} and another source are both named {entry['name']!r}; each would be copied to "
                f"{entry['destination']}: copy them in separate runs with different targets"
            )
        seen[key] = entry["path"].casefold()
    if not items:
        raise RestoreError(
            f"paths: {', '.join(quote_value(p['text']) for p in paths)} match only junctions or folder links "
            f"({', '.join(links)}), which are not followed: their targets would be read on the host"
        )
    unique: Dict[str, Dict[str, Any]] = {}
    for entry in items:
        unique.setdefault(entry["path"].casefold(), entry)
    return list(unique.values()), links


def existing_targets(items: Sequence[Mapping[str, Any]], listing: Any) -> List[str]:
    """Destinations that already exist, from the verify payload's ``files`` and ``folders``."""
    found = []
    for entry in (listing or {}).get("files") or []:
        if isinstance(entry, Mapping) and entry.get("exists"):
            found.append(str(entry.get("path")))
    for entry in (listing or {}).get("folders") or []:
        if isinstance(entry, Mapping) and entry.get("exists"):
            found.append(str(entry.get("path")))
    wanted = {i["destination"].casefold() for i in items}
    return sorted({f for f in found if f.casefold() in wanted}, key=str.casefold)


def copy_outcome(answer: Mapping[str, Any], items: Sequence[Mapping[str, Any]]) -> Tuple[List[Dict[str, Any]], bool]:
    """The copies the payload made, ``[{"source", "destination", "type", "exit_code"}]``, and whether any file was
    copied (robocopy exit codes: bit 1 files copied, 8 and above failure)."""
    codes = {str(c.get("source") or "").casefold(): c for c in answer.get("copied") or [] if isinstance(c, Mapping)}
    copied = []
    changed = False
    for item in items:
        got = codes.get(item["source"].casefold())
        if got is None:
            continue
        code = got.get("code")
        copied.append(
            {"source": item["path"], "destination": item["destination"], "type": item["type"], "exit_code": code}
        )
        if isinstance(code, int) and code & 1:
            changed = True
    return copied, changed


def dismount_problem(answer: Mapping[str, Any]) -> Optional[str]:
    """A sentence when the payload could not dismount every disk it mounted, else None."""
    left = [d for d in answer.get("mounts") or [] if isinstance(d, Mapping) and not d.get("dismounted")]
    if not left:
        return None
    names = "; ".join(f"{d.get('path')} ({d.get('error') or 'not dismounted'})" for d in left)
    return (
        f"the virtual disk could NOT be dismounted: {names}; it stays attached read-only, and the next run of this "
        "module dismounts it (or run Dismount-VHD -Path on it)"
    )


def sweep_warnings(answer: Mapping[str, Any]) -> List[str]:
    """Warnings for disks a crashed earlier run had left mounted (the payload's sweep)."""
    warnings = []
    for entry in answer.get("swept") or []:
        if not isinstance(entry, Mapping):
            continue
        if entry.get("error"):
            warnings.append(
                f"a disk left mounted by an earlier file restore ({entry.get('path') or entry.get('marker')}) could "
                f"not be dismounted: {entry['error']}"
            )
        elif entry.get("dismounted"):
            warnings.append(f"dismounted {entry.get('path')}, left mounted read-only by an earlier file restore")
    return warnings


def _swept_state(cleanup: Mapping[str, Any]) -> str:
    swept = [e for e in cleanup.get("swept") or [] if isinstance(e, Mapping)]
    failed = [e for e in swept if e.get("error")]
    if failed:
        names = "; ".join(f"{e.get('path') or e.get('marker')} ({e['error']})" for e in failed)
        return (
            f"a disk it had mounted could NOT be dismounted: {names}; it stays attached read-only until the next "
            "run of this module dismounts it (or Dismount-VHD -Path)"
        )
    done = [str(e.get("path")) for e in swept if e.get("dismounted")]
    if done:
        return f"the clean-up dismounted the disk it had left mounted ({', '.join(done)})"
    if not cleanup:
        return "the clean-up did not run: the next run of this module dismounts a disk it left mounted"
    return "no disk was left mounted"


def job_verdict(status: Mapping[str, Any], cleanup: Mapping[str, Any], job_id: str) -> Dict[str, Any]:
    """What a detached copy job's last poll and its clean-up say: ``{"answer", "error", "disk_state", "warnings"}``.

    ``answer`` is the mount payload's result the job recorded (handled like a direct call's), None when the job
    recorded none. A job that failed or whose runner is gone without a final status gets ``error``, with where its
    disk stands after the clean-up's sweep (``disk_state``).
    """
    recorded = status.get("status") if isinstance(status.get("status"), Mapping) else None
    answer = None
    error = None
    state = recorded.get("state") if recorded else None
    if recorded and recorded.get("result") not in (None, ""):
        raw = recorded["result"]
        try:
            answer = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            error = f"the copy job {job_id} recorded a result that is not JSON: {str(raw)[:200]}"
        if answer is not None and not isinstance(answer, Mapping):
            error, answer = f"the copy job {job_id} recorded {str(raw)[:200]!r}, expected an object", None
    disk_state = _swept_state(cleanup)
    if error is None and state == "failed":
        error = f"the copy job {job_id} failed: {recorded.get('error') or 'no reason recorded'}; {disk_state}"
    elif error is None and state != "finished":
        last = status.get("task_last_result")
        error = (
            f"the copy job {job_id} stopped before it finished (its runner is gone"
            + (f", task result {last}" if last not in (None, "") else "")
            + f"); {disk_state}"
        )
    elif error is None and answer is None:
        error = f"the copy job {job_id} finished without recording a result; {disk_state}"
    warnings = [] if error else sweep_warnings(cleanup)
    return {"answer": answer if error is None or state == "failed" else None, "error": error,
            "disk_state": disk_state, "warnings": warnings}  # fmt: skip
