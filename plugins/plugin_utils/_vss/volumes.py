# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""Shape the raw CIM volume data of a Windows host into volume facts, and find the volume holding a path.

Input is what ``ConvertTo-Json`` emits for ``Win32_Volume``/``Win32_MountPoint`` (and, for VM placement,
``Msvm_VirtualSystemSettingData`` with its storage settings): CIM property names, numbers as numbers or
strings, a single object possibly unwrapped from its list, Windows PowerShell 5.1's
``{"value": [...], "Count": n}`` array wrapper.

Conventions of the shaped facts (one dict per volume, see :func:`normalize_volumes`):

* ``guid`` is ``{...}`` in **lower case**, ``path`` is ``\\\\?\\Volume{guid}\\`` with the same lower-case
  GUID, as ``mountvol`` and ``Win32_Volume.DeviceID`` print them. Compare GUIDs case-insensitively anyway.
* ``drive_letter`` is ``"D:"`` or ``None``; ``mount_points`` are ``"D:\\"`` and every folder mount point,
  each ending with a backslash, drive root first.
* ``usable`` is ``False`` for a volume without a file system or a capacity (empty card reader,
  unformatted or offline volume); such volumes are kept, their numbers are ``None``.
"""

from __future__ import annotations

import ntpath
import re
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from ansible_collections.vaware.hyperv.plugins.plugin_utils._winpath import is_drive_path

DRIVE_TYPES = {
    0: "unknown",
    1: "no_root_directory",
    2: "removable",
    3: "fixed",
    4: "network",
    5: "cdrom",
    6: "ramdisk",
}

# VM file kinds, from Msvm_VirtualSystemSettingData properties.
_VM_FOLDERS = (
    ("SnapshotDataRoot", "checkpoints"),
    ("SwapFileDataRoot", "smart_paging"),
    ("SuspendDataRoot", "saved_state"),
)
_DISK_KINDS = {
    "microsoft:hyper-v:virtual hard disk": "virtual_disk",
    "microsoft:hyper-v:virtual cd/dvd disk": "iso",
    "microsoft:hyper-v:virtual floppy disk": "floppy",
}
_REALIZED_VM = "microsoft:hyper-v:system:realized"

_GUID_RE = re.compile(r"\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}", re.IGNORECASE)
_VOLUME_PATH_RE = re.compile(
    r"^\\\\[?.]\\volume(\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\})(\\.*)?$",
    re.IGNORECASE,
)
_WMI_KEY_RE = re.compile(r'^\w+\.\w+="(.*)"$', re.DOTALL)


class VolumeNotFoundError(ValueError):
    """No volume holds the given path (or the path is not a local Windows path)."""


# ---- tolerant readers for ConvertTo-Json values ---------------------------------------------------------


def _as_list(value: Any) -> List[Any]:
    """None -> [], one object -> [object], PS 5.1 ``{"value": [...], "Count": n}`` -> the list."""
    if value is None:
        return []
    if isinstance(value, Mapping):
        if set(value) == {"value", "Count"} and isinstance(value["value"], list):
            return list(value["value"])
        return [value]
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _as_int(value: Any, field: str) -> Optional[int]:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"{field}: expected a number, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{field}: expected a whole number, got {value!r}")


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def _text(value: Any) -> Optional[str]:
    if value is None:
        return None
    text = str(value)
    return text if text.strip() else None


def _reference_key(value: Any, key: str) -> Optional[str]:
    """A CIM reference as serialized: a plain string, ``{"Name": ...}``, or ``Win32_Directory.Name="C:\\\\x"``."""
    if isinstance(value, Mapping):
        value = value.get(key)
    if value is None:
        return None
    text = str(value)
    match = _WMI_KEY_RE.match(text)
    if match:  # WMI object path: the key value is escaped
        text = match.group(1).replace('\\"', '"').replace("\\\\", "\\")
    return text


def _with_trailing_backslash(path: str) -> str:
    return path if path.endswith("\\") else path + "\\"


def _guid_of(device_id: str) -> Optional[str]:
    match = _GUID_RE.search(device_id or "")
    return match.group(0).lower() if match else None


def _drive_type_name(value: Any) -> str:
    if isinstance(value, Mapping):  # win_powershell's own enum form {"Value": 3, "String": "..."}
        value = value.get("Value", value.get("value"))
    if isinstance(value, str) and not value.strip().isdigit():
        return value.strip().lower() or "unknown"
    number = _as_int(value, "DriveType")
    return DRIVE_TYPES.get(number, "unknown") if number is not None else "unknown"


def _serial_text(value: Any) -> Optional[str]:
    """Volume serial as ``vol`` prints it: ``1A2B-3C4D``."""
    number = _as_int(value, "SerialNumber")
    if number is None:
        return None
    number &= 0xFFFFFFFF  # some serializers emit the uint32 as a signed int32
    return f"{number >> 16:04X}-{number & 0xFFFF:04X}"


# ---- normalize ---------------------------------------------------------------------------------------


def _mount_points_by_volume(win32_mountpoints: Any) -> Dict[str, List[str]]:
    found: Dict[str, List[str]] = {}
    for entry in _as_list(win32_mountpoints):
        if not isinstance(entry, Mapping):
            raise ValueError(f"Win32_MountPoint: expected an object with Directory and Volume, got {entry!r}")
        directory = _reference_key(entry.get("Directory"), "Name")
        volume = _reference_key(entry.get("Volume"), "DeviceID")
        guid = _guid_of(volume or "")
        if not directory or not guid:
            continue
        found.setdefault(guid, []).append(_with_trailing_backslash(directory))
    return found


def _dedupe_paths(paths: Iterable[str]) -> List[str]:
    seen = set()
    unique = []
    for path in paths:
        key = path.casefold()
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


def _normalize_volume(raw: Mapping[str, Any], mount_points: Dict[str, List[str]]) -> Dict[str, Any]:
    device_id = _text(raw.get("DeviceID"))
    guid = _guid_of(device_id or "")
    if guid is None:
        raise ValueError(
            f"Win32_Volume: expected DeviceID like \\\\?\\Volume{{GUID}}\\, got {device_id!r} "
            f"(label {raw.get('Label')!r}, name {raw.get('Name')!r})"
        )
    letter = _text(raw.get("DriveLetter"))
    letter = letter.strip().upper() if letter else None
    if letter and not letter.endswith(":"):
        letter += ":"

    points = []
    if letter:
        points.append(letter + "\\")
    name = _text(raw.get("Name"))
    if name and not name.startswith("\\\\"):
        points.append(_with_trailing_backslash(name))
    points.extend(mount_points.get(guid, []))
    points = _dedupe_paths(points)
    drive_roots = sorted(p for p in points if len(p) == 3)
    points = drive_roots + sorted((p for p in points if len(p) != 3), key=str.casefold)

    capacity = _as_int(raw.get("Capacity"), "Capacity")
    free = _as_int(raw.get("FreeSpace"), "FreeSpace")
    file_system = _text(raw.get("FileSystem"))
    usable = bool(file_system) and bool(capacity)
    used_percent = None
    if capacity and free is not None:
        used_percent = round((capacity - free) * 100.0 / capacity, 1)

    return {
        "guid": guid,
        "path": f"\\\\?\\Volume{guid}\\",
        "drive_letter": letter,
        "mount_points": points,
        "label": _text(raw.get("Label")),
        "file_system": file_system,
        "capacity_bytes": capacity,
        "free_bytes": free,
        "used_percent": used_percent,
        "block_size": _as_int(raw.get("BlockSize"), "BlockSize"),
        "drive_type": _drive_type_name(raw.get("DriveType")),
        "serial_number": _serial_text(raw.get("SerialNumber")),
        "system": _as_bool(raw.get("SystemVolume")),
        "boot": _as_bool(raw.get("BootVolume")),
        "page_file": _as_bool(raw.get("PageFilePresent")),
        "usable": usable,
    }


def _sort_key(volume: Mapping[str, Any]) -> Tuple[Any, ...]:
    first = volume["mount_points"][0].casefold() if volume["mount_points"] else "\uffff"
    return (volume["drive_letter"] is None, volume["drive_letter"] or "", first, volume["guid"])


def normalize_volumes(win32_volumes: Any, win32_mountpoints: Any, vms: Any = None) -> List[Dict[str, Any]]:
    """Shape raw ``Win32_Volume``/``Win32_MountPoint`` objects into one fact dict per volume.

    ``vms`` (optional) are raw ``Msvm_VirtualSystemSettingData`` objects (VMs and checkpoints), each with
    a ``Disks`` list of ``{ResourceSubType, HostResource}``; when given (even empty), every volume gets a
    ``vms`` list of ``{"name", "id", "files": [{"kind", "path"}]}`` for the VM files it holds.
    Volumes are ordered by drive letter, then by first mount point. Raises ``ValueError`` naming the bad
    value for input that is not in the expected shape.
    """
    points = _mount_points_by_volume(win32_mountpoints)
    volumes = []
    seen = set()
    for raw in _as_list(win32_volumes):
        if not isinstance(raw, Mapping):
            raise ValueError(f"Win32_Volume: expected an object, got {raw!r}")
        volume = _normalize_volume(raw, points)
        if volume["guid"] in seen:
            continue
        seen.add(volume["guid"])
        volumes.append(volume)
    volumes.sort(key=_sort_key)
    if vms is not None:
        place_vm_files(volumes, vms)
    return volumes


# ---- VM placement ------------------------------------------------------------------------------------


def vm_files(vms: Any) -> List[Dict[str, Any]]:
    """Group raw VM/checkpoint settings by VM: ``[{"name", "id", "files": [{"kind", "path"}]}]``."""
    grouped: Dict[str, Dict[str, Any]] = {}
    for setting in _as_list(vms):
        if not isinstance(setting, Mapping):
            raise ValueError(f"Msvm_VirtualSystemSettingData: expected an object, got {setting!r}")
        vm_id = _text(setting.get("VirtualSystemIdentifier"))
        if not vm_id:
            continue
        vm_id = vm_id.strip("{}").lower()
        vm = grouped.setdefault(vm_id, {"name": None, "id": vm_id, "files": []})
        realized = str(setting.get("VirtualSystemType") or "").lower() == _REALIZED_VM
        if realized or vm["name"] is None:
            vm["name"] = _text(setting.get("ElementName")) or vm["name"]
        files = vm["files"]
        if realized:
            root = _text(setting.get("ConfigurationDataRoot"))
            config = _text(setting.get("ConfigurationFile"))
            if config and root and not ntpath.isabs(config):
                config = ntpath.join(root, config)
            if config or root:
                files.append({"kind": "configuration", "path": config or root})
            for prop, kind in _VM_FOLDERS:
                path = _text(setting.get(prop))
                if path:
                    files.append({"kind": kind, "path": path})
        for disk in _as_list(setting.get("Disks")):
            if not isinstance(disk, Mapping):
                continue
            kind = _DISK_KINDS.get(str(disk.get("ResourceSubType") or "").lower(), "storage")
            for path in _as_list(disk.get("HostResource")):
                path = _text(path)
                if path:
                    files.append({"kind": kind, "path": path})
    result = []
    for vm in grouped.values():
        seen = set()
        unique = []
        for item in vm["files"]:
            key = (item["kind"], item["path"].casefold())
            if key not in seen:
                seen.add(key)
                unique.append(item)
        vm["files"] = unique
        result.append(vm)
    result.sort(key=lambda v: ((v["name"] or "").casefold(), v["id"]))
    return result


def place_vm_files(volumes: List[Dict[str, Any]], vms: Any) -> List[Dict[str, Any]]:
    """Set ``vms`` on every volume; return the files no volume holds (``[{"vm", "id", "kind", "path"}]``)."""
    by_guid: Dict[str, Dict[str, Dict[str, Any]]] = {v["guid"]: {} for v in volumes}
    unplaced = []
    for vm in vm_files(vms):
        for item in vm["files"]:
            try:
                volume = volume_for_path(volumes, item["path"])
            except VolumeNotFoundError:
                unplaced.append({"vm": vm["name"], "id": vm["id"], **item})
                continue
            entry = by_guid[volume["guid"]].setdefault(vm["id"], {"name": vm["name"], "id": vm["id"], "files": []})
            entry["files"].append(dict(item))
    for volume in volumes:
        volume["vms"] = sorted(by_guid[volume["guid"]].values(), key=lambda v: ((v["name"] or "").casefold(), v["id"]))
    return unplaced


# ---- volume_for_path ---------------------------------------------------------------------------------


def _volumes_list(volumes: Any) -> List[Mapping[str, Any]]:
    if isinstance(volumes, Mapping):
        for key in ("win_volumes", "ansible_facts"):
            if key in volumes:
                return _volumes_list(volumes[key])
    if not isinstance(volumes, (list, tuple)) or not all(isinstance(v, Mapping) for v in volumes):
        raise VolumeNotFoundError(
            "expected the win_volumes facts (a list of volumes from win_volume_guid_facts), "
            f"got {type(volumes).__name__}"
        )
    return list(volumes)


def _clean_path(path: str) -> str:
    """Backslashes, no doubled separators, ``.``/``..`` resolved, no trailing backslash except a root."""
    drive, rest = path[:2], re.sub(r"[\\/]+", r"\\", path[2:])
    rest = ntpath.normpath(rest) if rest.strip("\\") else "\\"
    return drive.upper() + rest


def volume_for_path(volumes: Any, path: Any) -> Dict[str, Any]:
    """Return the volume (from :func:`normalize_volumes` facts) that holds ``path``.

    ``path`` may be a drive path (``D:\\VMs\\a.vhdx``), a folder under a folder mount point
    (``C:\\ClusterStorage\\Vol1\\x``), or a volume GUID path (``\\\\?\\Volume{...}\\x``); any case,
    ``/`` or ``\\``. The longest matching mount point wins. Raises :class:`VolumeNotFoundError`
    (a ``ValueError``) with the known mount points when no volume holds it.
    """
    items = _volumes_list(volumes)
    if not isinstance(path, str) or not path.strip():
        raise VolumeNotFoundError(
            f"expected a Windows path such as 'D:\\VMs' or '\\\\?\\Volume{{GUID}}\\', got {path!r}"
        )
    text = path.strip().replace("/", "\\")

    match = _VOLUME_PATH_RE.match(text)
    if match:
        guid = match.group(1).lower()
        for volume in items:
            if str(volume.get("guid", "")).lower() == guid:
                return dict(volume)
        raise VolumeNotFoundError(
            f"no volume with GUID {guid} (from path {path!r}); known volumes: "
            f"{', '.join(str(v.get('guid')) for v in items) or 'none'}"
        )

    if text.startswith(("\\\\?\\", "\\\\.\\")) and is_drive_path(text[4:]):
        text = text[4:]
    if re.match(r"^[a-z]:$", text, re.IGNORECASE):  # a bare drive means its root
        text += "\\"
    if not is_drive_path(text):
        raise VolumeNotFoundError(
            f"{path!r} is not a local Windows path: expected a drive path like 'D:\\VMs' or a volume GUID "
            "path like '\\\\?\\Volume{GUID}\\' (network shares and relative paths have no local volume)"
        )
    target = _with_trailing_backslash(_clean_path(text)).casefold()

    best: Optional[Mapping[str, Any]] = None
    best_length = -1
    for volume in items:
        for point in volume.get("mount_points") or []:
            cleaned = _with_trailing_backslash(_clean_path(str(point).replace("/", "\\"))).casefold()
            if target.startswith(cleaned) and len(cleaned) > best_length:
                best, best_length = volume, len(cleaned)
    if best is None:
        known = sorted({str(p) for v in items for p in (v.get("mount_points") or [])}, key=str.casefold)
        raise VolumeNotFoundError(f"no volume holds {path!r}; mount points on this host: {', '.join(known) or 'none'}")
    return dict(best)
