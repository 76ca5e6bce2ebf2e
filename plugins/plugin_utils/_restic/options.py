# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""The ``repository`` option for ``type: restic``: validation, snapshot tags and restic's environment.

:func:`validate_repository` checks the user's mapping and returns it normalized (every key present);
every error names the bad key and value (secrets are never quoted) and what was expected, before
anything runs. Keys::

    type: restic
    location: D:\\restic | \\\\nas\\backup\\restic | sftp:user@host:/srv/restic | s3:... | rest:... | ...
    password: repository password (required; no_log)
    environment: {AWS_ACCESS_KEY_ID: ..., ...}   backend credentials, as restic's environment (no_log)
    options: {sftp.command: ..., s3.storage-class: ...}   restic ``-o key=value`` backend options
    compression: auto | off | max            (default auto)
    tags: [extra snapshot tags]
    restic_path: restic.exe to run on the host (default C:\\Program Files\\restic\\restic.exe)
    init: create the repository when it does not exist yet (default false)
    check_read_data_subset: null | "5%" | "1/7" | "500M"   also read this part of the pack data in check
    prune_weekdays: [sunday]                 days (of the job's start, UTC) a prune follows forget; [] never

:func:`restic_environment` builds the environment a restic process gets: ``RESTIC_REPOSITORY`` (so
even a location with credentials in its URL is not on a command line), ``RESTIC_PASSWORD_FILE`` and the
backend credentials. :func:`vm_tags` and :func:`vm_filter_tag` name a VM's snapshots.

A VM's snapshot also carries what a restore needs to put it back, which a files repository keeps in its
manifest (:func:`dir_tags`): ``files:<count>`` (how many files the backup planned, so a snapshot that
misses one is seen as incomplete) and one ``dir:<folder in the snapshot>=<folder on the host>`` per folder
holding a VM file (so the restore knows which original path each restored disk stands for; the VM's
configuration names its disks by those paths). Both parts are percent-encoded like the VM name.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Optional
from urllib.parse import quote, unquote

from ansible_collections.vaware.hyperv.plugins.plugin_utils._winpath import is_absolute

__all__ = [
    "COMPRESSION_MODES",
    "DEFAULT_RESTIC_PATH",
    "EXTRA_TAG",
    "REPOSITORY_ARGUMENT_SPEC",
    "REPOSITORY_KEYS",
    "TAG",
    "WEEKDAYS",
    "ResticOptionError",
    "check_tag",
    "dir_tags",
    "extra_path_from_tags",
    "extra_path_tag",
    "extra_tags",
    "file_count_from_tags",
    "original_dirs_from_tags",
    "restic_environment",
    "validate_repository",
    "vm_filter_tag",
    "vm_name_from_tags",
    "vm_tags",
]

DEFAULT_RESTIC_PATH = "C:\\Program Files\\restic\\restic.exe"
COMPRESSION_MODES = ("auto", "off", "max")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: Every snapshot this collection makes carries this tag.
TAG = "vaware.hyperv"
REPOSITORY_KEYS = (
    "type",
    "location",
    "password",
    "environment",
    "options",
    "compression",
    "tags",
    "restic_path",
    "init",
    "check_read_data_subset",
    "prune_weekdays",
)

#: The ``repository`` option in the argument specs of win_vss_backup and the restore actions (validated further by
#: :func:`validate_repository`); the restore actions take the same mapping and use the keys that say where the
#: repository is and how to open it.
REPOSITORY_ARGUMENT_SPEC = {
    "type": "dict",
    "options": {
        "type": {"type": "str", "choices": ["files", "restic"], "default": "files"},
        "location": {"type": "str"},
        "password": {"type": "str", "no_log": True},
        "environment": {"type": "dict", "no_log": True},
        "options": {"type": "dict"},
        "compression": {"type": "str", "choices": list(COMPRESSION_MODES)},
        "tags": {"type": "list", "elements": "str"},
        "restic_path": {"type": "str"},
        "init": {"type": "bool"},
        "check_read_data_subset": {"type": "str"},
        "prune_weekdays": {"type": "list", "elements": "str"},
    },
}

_BACKENDS = ("sftp", "s3", "rest", "b2", "azure", "gs", "swift", "rclone")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
# Backend credentials restic reads from its environment (restic's manual, "Preparing a new repository").
_ENV_PREFIXES = ("AWS_", "B2_", "AZURE_", "GOOGLE_", "OS_", "ST_", "RCLONE_", "RESTIC_REST_")
_ENV_NAMES = ("RESTIC_CACERT", "RESTIC_TLS_CLIENT_CERT", "RESTIC_PACK_SIZE")
_ENV_FORBIDDEN = (
    "RESTIC_PASSWORD",
    "RESTIC_PASSWORD_FILE",
    "RESTIC_PASSWORD_COMMAND",
    "RESTIC_REPOSITORY",
    "RESTIC_REPOSITORY_FILE",
)
_ENV_NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")
_OPTION_KEY_RE = re.compile(r"^[a-z0-9]+\.[a-z0-9][a-z0-9._-]*$")
_SUBSET_RE = re.compile(r"^(?:(\d+)/(\d+)|(\d+(?:\.\d+)?)%|(\d+)([KMGT]))$")
_GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class ResticOptionError(ValueError):
    """A bad ``repository`` option; the message names the key and what was expected."""


def _text(value: Any, what: str, allow_empty: bool = False) -> str:
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        raise ResticOptionError(f"{what} must be a non-empty string; got {value!r}")
    if _CONTROL_RE.search(value):
        raise ResticOptionError(f"{what} must not contain control characters (line breaks, tabs); got {value!r}")
    return value


def _location(value: Any) -> str:
    location = _text(value, "repository.location")
    if location != location.strip():
        raise ResticOptionError(f"repository.location must not start or end with spaces; got {location!r}")
    scheme = location.split(":", 1)[0]
    if ":" in location and scheme in _BACKENDS:
        if not location[len(scheme) + 1 :]:
            raise ResticOptionError(f"repository.location {location!r} names the {scheme} backend but no place in it")
        return location
    if is_absolute(location) or re.match(r"^[A-Za-z]:/", location):
        if "/" in location:
            raise ResticOptionError(f"repository.location {location!r}: use backslashes in a Windows path")
        return location.rstrip("\\") if len(location) > 3 else location
    raise ResticOptionError(
        f"repository.location {location!r} is not a restic repository location: expected an absolute Windows "
        f"path (D:\\restic), a UNC path (\\\\server\\share\\restic) or <backend>:<place> with backend one of "
        f"{', '.join(_BACKENDS)}"
    )


def _environment(value: Any) -> Dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ResticOptionError("repository.environment must be a mapping of variable names to values")
    result = {}
    for name, text in value.items():
        if not isinstance(name, str) or not _ENV_NAME_RE.match(name):
            raise ResticOptionError(
                f"repository.environment: {name!r} is not an environment variable name (A-Z, 0-9, _)"
            )
        if name in _ENV_FORBIDDEN:
            raise ResticOptionError(
                f"repository.environment: {name} is set by the collection itself "
                "(use repository.password and repository.location)"
            )
        if not (name.startswith(_ENV_PREFIXES) or name in _ENV_NAMES):
            raise ResticOptionError(
                f"repository.environment: {name} is not a restic backend variable; expected names starting with "
                f"{', '.join(_ENV_PREFIXES)} or one of {', '.join(_ENV_NAMES)}"
            )
        if not isinstance(text, str) or _CONTROL_RE.search(text):
            raise ResticOptionError(f"repository.environment.{name} must be a string without control characters")
        result[name] = text
    return result


def _options(value: Any) -> Dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ResticOptionError("repository.options must be a mapping of restic -o option names to values")
    result = {}
    for key, text in value.items():
        if not isinstance(key, str) or not _OPTION_KEY_RE.match(key):
            raise ResticOptionError(
                f"repository.options: {key!r} is not a restic option name (<backend>.<name>, e.g. sftp.command)"
            )
        if isinstance(text, bool) or not isinstance(text, (str, int)):
            raise ResticOptionError(f"repository.options.{key} must be a string or a number; got {text!r}")
        result[key] = _text(str(text), f"repository.options.{key}", allow_empty=True)
    return result


def check_tag(value: Any, what: str) -> str:
    """A restic tag: non-empty, no comma (restic splits ``--tag a,b`` at commas), no control characters."""
    tag = _text(value, what)
    if "," in tag or tag != tag.strip():
        raise ResticOptionError(f"{what} {tag!r} must not contain commas or start or end with spaces")
    return tag


def _subset(value: Any) -> Optional[str]:
    if value is None or value == "":
        return None
    text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    match = _SUBSET_RE.match(text or "")
    problem = match is None
    if match and match.group(1):
        part, whole = int(match.group(1)), int(match.group(2))
        problem = not (1 <= part <= whole)
    elif match and match.group(3):
        problem = not (0 < float(match.group(3)) <= 100)
    elif match and match.group(4):
        problem = int(match.group(4)) <= 0
    if problem:
        raise ResticOptionError(
            f"repository.check_read_data_subset must be n/t (1 <= n <= t), a percentage (0 < p <= 100) followed "
            f"by % or a size such as 500M; got {value!r}"
        )
    return text


def _weekdays(value: Any) -> List[str]:
    if value is None:
        return ["sunday"]
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ResticOptionError(f"repository.prune_weekdays must be a list of weekday names; got {value!r}")
    days = []
    for day in value:
        name = str(day).lower() if isinstance(day, str) else None
        if name not in WEEKDAYS:
            raise ResticOptionError(f"repository.prune_weekdays: {day!r} is not one of {', '.join(WEEKDAYS)}")
        if name not in days:
            days.append(name)
    return days


def validate_repository(value: Any) -> Dict[str, Any]:
    """Check the ``repository`` option of ``type: restic`` and return it with every key present."""
    if not isinstance(value, Mapping):
        raise ResticOptionError(
            f"repository must be a mapping with type, location and password; got {type(value).__name__}"
        )
    unknown = sorted(str(key) for key in value if key not in REPOSITORY_KEYS)
    if unknown:
        raise ResticOptionError(
            f"repository: unknown key(s) {', '.join(unknown)}; expected only {', '.join(REPOSITORY_KEYS)}"
        )
    if value.get("type") != "restic":
        raise ResticOptionError(f"repository.type must be restic here; got {value.get('type')!r}")
    password = value.get("password")
    if not isinstance(password, str) or not password:
        raise ResticOptionError("repository.password is required for a restic repository (a non-empty string)")
    if "\n" in password or "\r" in password:
        # restic reads the first line of the password file only.
        raise ResticOptionError("repository.password must be a single line")
    compression = value.get("compression") or "auto"
    if compression not in COMPRESSION_MODES:
        raise ResticOptionError(
            f"repository.compression must be one of {', '.join(COMPRESSION_MODES)}; got {compression!r}"
        )
    tags = value.get("tags") or []
    if isinstance(tags, str) or not isinstance(tags, (list, tuple)):
        raise ResticOptionError(f"repository.tags must be a list of tags; got {tags!r}")
    restic_path = value.get("restic_path") or DEFAULT_RESTIC_PATH
    _text(restic_path, "repository.restic_path")
    if not is_absolute(restic_path) or not restic_path.lower().endswith(".exe"):
        raise ResticOptionError(
            f"repository.restic_path must be the absolute path of restic's .exe; got {restic_path!r}"
        )
    init = value.get("init", False)
    if not isinstance(init, bool):
        raise ResticOptionError(f"repository.init must be true or false; got {init!r}")
    return {
        "type": "restic",
        "location": _location(value.get("location")),
        "password": password,
        "environment": _environment(value.get("environment")),
        "options": _options(value.get("options")),
        "compression": compression,
        "tags": [check_tag(tag, f"repository.tags[{index}]") for index, tag in enumerate(tags)],
        "restic_path": restic_path,
        "init": init,
        "check_read_data_subset": _subset(value.get("check_read_data_subset")),
        "prune_weekdays": _weekdays(value.get("prune_weekdays")),
    }


def restic_environment(
    repository: Mapping[str, Any], password_file: str, cache_dir: Optional[str] = None
) -> Dict[str, str]:
    """The environment variables a restic process of this repository gets (besides the inherited ones).

    The password itself is not among them: only the name of the file holding it.
    """
    env = dict(repository.get("environment") or {})
    env["RESTIC_REPOSITORY"] = repository["location"]
    env["RESTIC_PASSWORD_FILE"] = _text(password_file, "password file")
    if cache_dir:
        env["RESTIC_CACHE_DIR"] = cache_dir
    return env


def vm_filter_tag(vm_id: Any) -> str:
    """The tag that selects one VM's snapshots: ``vm-id:<guid, lower case>``."""
    if not isinstance(vm_id, str) or not _GUID_RE.match(vm_id.strip("{}")):
        raise ResticOptionError(f"VM id must be a GUID; got {vm_id!r}")
    return "vm-id:" + vm_id.strip("{}").lower()


def vm_tags(vm_name: Any, vm_id: Any, extra: Optional[List[str]] = None) -> List[str]:
    """The tags of one VM's snapshot: the collection's tag, the VM id, the VM name, then ``extra``.

    The name is percent-encoded where restic would misread it (``%`` and ``,``), so any VM name fits.
    """
    name = _text(vm_name, "VM name")
    tags = [TAG, vm_filter_tag(vm_id), "vm:" + quote(name, safe="!#$&'()*+/:;=?@[]^`{|}~<>\"\\")]
    for tag in extra or []:
        if tag not in tags:
            tags.append(check_tag(tag, "tag"))
    return tags


_DIR_TAG = "dir:"
_FILES_TAG = "files:"
_TAG_SAFE = " !#$&'()*+/:;?@[]^`{|}~<>\"\\"  # everything but %, comma and = stays readable


def dir_tags(folders: Mapping[str, str], file_count: int) -> List[str]:
    """``files:<count>`` and one ``dir:<folder in the snapshot>=<original folder>`` per entry of ``folders``.

    ``folders`` maps a folder of the snapshot (backslashes, relative: ``Hyper-V\\web01\\Virtual Hard Disks``)
    to the folder the VM's files were in on the host (``D:\\Hyper-V\\web01\\Virtual Hard Disks``).
    """
    if isinstance(file_count, bool) or not isinstance(file_count, int) or file_count < 1:
        raise ResticOptionError(f"file count for the snapshot tags must be a positive whole number; got {file_count!r}")
    tags = [f"{_FILES_TAG}{file_count}"]
    for inside, original in sorted(folders.items(), key=lambda item: item[0].casefold()):
        _text(original, "original folder")
        tags.append(f"{_DIR_TAG}{quote(inside, safe=_TAG_SAFE)}={quote(original, safe=_TAG_SAFE)}")
    return tags


def original_dirs_from_tags(tags: Any) -> Dict[str, str]:
    """The ``dir:`` tags of :func:`dir_tags` as ``{folder in the snapshot, case-folded: original folder}``."""
    found: Dict[str, str] = {}
    for tag in tags or []:
        if isinstance(tag, str) and tag.startswith(_DIR_TAG) and "=" in tag:
            inside, _sep, original = tag[len(_DIR_TAG) :].partition("=")
            found[unquote(inside).casefold()] = unquote(original)
    return found


def file_count_from_tags(tags: Any) -> Optional[int]:
    """The ``files:<count>`` of :func:`dir_tags`, or None (a snapshot made without it)."""
    for tag in tags or []:
        if isinstance(tag, str) and tag.startswith(_FILES_TAG) and tag[len(_FILES_TAG) :].isdigit():
            return int(tag[len(_FILES_TAG) :])
    return None


def vm_name_from_tags(tags: Any) -> Optional[str]:
    """The VM name :func:`vm_tags` put into a snapshot's tags, or None."""
    for tag in tags or []:
        if isinstance(tag, str) and tag.startswith("vm:"):
            return unquote(tag[3:])
    return None


#: The tag of every snapshot of an extra path (next to :data:`TAG` and the path's own :func:`extra_path_tag`).
EXTRA_TAG = "extra"
_EXTRA_PREFIX = "extra-path:"


def extra_path_tag(path: Any) -> str:
    """The tag that selects one extra path's snapshots: ``extra-path:<path, lower case, no trailing \\>``.

    Windows paths do not tell case apart, so ``D:\\Scripts`` and ``d:\\scripts\\`` are one history; ``%`` and
    ``,`` are percent-encoded as in VM names.
    """
    text = _text(path, "extra path").rstrip("\\").lower()
    return _EXTRA_PREFIX + quote(text, safe="!#$&'()*+/:;=?@[]^`{|}~<>\"\\")


def extra_tags(path: Any, extra: Optional[List[str]] = None) -> List[str]:
    """The tags of an extra path's snapshot: the collection's tag, ``extra``, the path's tag, then ``extra``."""
    tags = [TAG, EXTRA_TAG, extra_path_tag(path)]
    for tag in extra or []:
        if tag not in tags:
            tags.append(check_tag(tag, "tag"))
    return tags


def extra_path_from_tags(tags: Any) -> Optional[str]:
    """The (lower-case) extra path :func:`extra_tags` put into a snapshot's tags, or None."""
    for tag in tags or []:
        if isinstance(tag, str) and tag.startswith(_EXTRA_PREFIX):
            return unquote(tag[len(_EXTRA_PREFIX) :])
    return None
