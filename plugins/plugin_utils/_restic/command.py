# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""restic argument lists, built from a repository validated by :func:`.options.validate_repository`.

Each function returns the arguments after the program name (``[restic.exe] + args``). None of them
contains the password or the repository location: both reach restic through its environment
(:func:`.options.restic_environment`). Backend options (``repository.options``) come first as
``-o key=value``; values are separate list items, so no quoting is ever involved.

Snapshots are grouped per VM: each carries ``vm-id:<guid>`` (:func:`.options.vm_tags`), and ``forget``
selects one VM's snapshots with ``--host <host> --tag vm-id:<guid>`` and keeps them in one group
(``--group-by host``), so a path that changed between runs (another mount folder) or a tag added later
does not split a VM's history into groups that each keep their own "last" snapshots.

Retention: our policy keys map 1:1 to restic's flags (:func:`forget_flags`): ``keep_last`` ->
``--keep-last``, ``keep_daily`` -> ``--keep-daily``, ``keep_weekly`` -> ``--keep-weekly``,
``keep_monthly`` -> ``--keep-monthly``; a key that is 0 or missing is left out. A policy where every
count is 0 expires nothing, so :func:`forget_args` returns None for it (restic would refuse to forget
without a policy anyway).
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Optional, Sequence

from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic.options import (
    TAG,
    ResticOptionError,
    check_tag,
    vm_filter_tag,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.retention import validate_policy

__all__ = [
    "FORGET_FLAGS",
    "backup_args",
    "check_args",
    "check_snapshot_id",
    "config_args",
    "forget_args",
    "forget_flags",
    "forget_tag_args",
    "init_args",
    "latest_snapshots_args",
    "ls_args",
    "prune_args",
    "restore_args",
    "snapshots_args",
    "stats_args",
    "version_args",
]

#: Our retention policy keys and the restic ``forget`` flag each one becomes.
FORGET_FLAGS: Dict[str, str] = {
    "keep_last": "--keep-last",
    "keep_daily": "--keep-daily",
    "keep_weekly": "--keep-weekly",
    "keep_monthly": "--keep-monthly",
}

_SNAPSHOT_RE = re.compile(r"^[0-9a-f]{8,64}$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def _global(repository: Mapping[str, Any]) -> List[str]:
    args: List[str] = []
    for key in sorted(repository.get("options") or {}):
        args += ["-o", f"{key}={repository['options'][key]}"]
    return args


def _host(host: Any) -> str:
    if not isinstance(host, str) or not host.strip() or _CONTROL_RE.search(host) or host.startswith("-"):
        raise ResticOptionError(f"host name for restic must be a non-empty string not starting with '-'; got {host!r}")
    return host


def _path(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value or _CONTROL_RE.search(value):
        raise ResticOptionError(f"{what} must be a non-empty path without control characters; got {value!r}")
    return value


def check_snapshot_id(value: Any) -> str:
    """A snapshot id as restic prints it (8 to 64 lower-case hex digits), or ``latest``."""
    if value == "latest" or (isinstance(value, str) and _SNAPSHOT_RE.match(value)):
        return value
    raise ResticOptionError(f"snapshot id must be 8 to 64 hex digits or 'latest'; got {value!r}")


def version_args() -> List[str]:
    return ["version"]


def init_args(repository: Mapping[str, Any]) -> List[str]:
    return [*_global(repository), "init", "--json"]


def config_args(repository: Mapping[str, Any]) -> List[str]:
    """``cat config`` without a lock (read-only): the repository's format version, as JSON."""
    return [*_global(repository), "--no-lock", "cat", "config"]


def latest_snapshots_args(repository: Mapping[str, Any], host: str) -> List[str]:
    """``snapshots --json`` without a lock: this host's newest snapshot of the collection per set of tags.

    ``--group-by host,tags --latest 1`` keeps the listing one entry per VM (and per change of its tags) however
    long the history is; the paths are left out of the grouping because each job's mount folder is another path.
    """
    return [
        *_global(repository),
        "--no-lock",
        "snapshots",
        "--json",
        "--host",
        _host(host),
        "--tag",
        TAG,
        "--group-by",
        "host,tags",
        "--latest",
        "1",
    ]


def backup_args(
    repository: Mapping[str, Any],
    paths: Sequence[str],
    tags: Sequence[str],
    host: str,
    parent: Optional[str] = None,
) -> List[str]:
    """``backup --json`` of ``paths`` (relative to the working directory restic runs in, or absolute).

    Run restic with the exposed shadow folder of the VM's volume as working directory and paths relative
    to it: a snapshot then holds ``<path inside the volume>\\...`` instead of the job's mount folder.
    """
    if not paths:
        raise ResticOptionError("backup needs at least one path")
    if not tags:
        raise ResticOptionError("backup needs the VM's tags (see vm_tags)")
    args = [*_global(repository), "backup", "--json", "--host", _host(host)]
    args += ["--compression", repository.get("compression") or "auto"]
    for tag in tags:
        args += ["--tag", check_tag(tag, "tag")]
    if parent:
        args += ["--parent", check_snapshot_id(parent)]
    args.append("--")
    args += [_path(path, "backup path") for path in paths]
    return args


def forget_flags(policy: Optional[Mapping[str, Any]]) -> List[str]:
    """Our retention policy as restic ``forget`` flags; [] when every count is 0 (expire nothing)."""
    counts = validate_policy(policy)
    flags: List[str] = []
    for key, flag in FORGET_FLAGS.items():
        if counts[key]:
            flags += [flag, str(counts[key])]
    return flags


def forget_args(
    repository: Mapping[str, Any],
    policy: Optional[Mapping[str, Any]],
    host: str,
    vm_id: str,
    dry_run: bool = False,
) -> Optional[List[str]]:
    """``forget --json`` of one VM's snapshots on one host, by our policy; None when it expires nothing.

    Never with ``--prune``: pruning is its own step (:func:`prune_args`), on its own schedule.
    """
    flags = forget_flags(policy)
    if not flags:
        return None
    args = [*_global(repository), "forget", "--json", "--host", _host(host), "--tag", vm_filter_tag(vm_id)]
    args += ["--group-by", "host", *flags]
    if dry_run:
        args.append("--dry-run")
    return args


def forget_tag_args(
    repository: Mapping[str, Any],
    policy: Optional[Mapping[str, Any]],
    host: str,
    tag: str,
) -> Optional[List[str]]:
    """``forget --json`` of the snapshots on one host that carry ``tag`` (an extra path's, see
    :func:`.options.extra_path_tag`), as one group, by our policy; None when the policy expires nothing."""
    flags = forget_flags(policy)
    if not flags:
        return None
    args = [*_global(repository), "forget", "--json", "--host", _host(host), "--tag", check_tag(tag, "tag")]
    return [*args, "--group-by", "host", *flags]


def prune_args(repository: Mapping[str, Any]) -> List[str]:
    return [*_global(repository), "prune"]


def check_args(repository: Mapping[str, Any], read_data_subset: Optional[str] = None) -> List[str]:
    """``check``; with ``read_data_subset`` (validated by validate_repository) also reads that part of the data."""
    args = [*_global(repository), "check"]
    if read_data_subset:
        args += ["--read-data-subset", read_data_subset]
    return args


def snapshots_args(
    repository: Mapping[str, Any], host: Optional[str] = None, tags: Optional[Sequence[str]] = None
) -> List[str]:
    """``snapshots --json``, only this host's (when given) and only those carrying every tag in ``tags``."""
    args = [*_global(repository), "snapshots", "--json"]
    if host is not None:
        args += ["--host", _host(host)]
    if tags:
        args += ["--tag", ",".join(check_tag(tag, "tag") for tag in tags)]
    return args


def ls_args(repository: Mapping[str, Any], snapshot_id: str) -> List[str]:
    """``ls --json <snapshot>``: the snapshot, then one node per file and folder (for verification)."""
    return [*_global(repository), "ls", "--json", check_snapshot_id(snapshot_id)]


def restore_args(
    repository: Mapping[str, Any], snapshot_id: str, target: str, include: Optional[Sequence[str]] = None
) -> List[str]:
    """``restore <snapshot> --target <folder>`` (``--json`` too: restic >= 0.17 then reports progress)."""
    args = [
        *_global(repository),
        "restore",
        "--json",
        check_snapshot_id(snapshot_id),
        "--target",
        _path(target, "target"),
    ]
    for pattern in include or []:
        args += ["--include", _path(pattern, "include pattern")]
    return args


def stats_args(repository: Mapping[str, Any], mode: str = "raw-data") -> List[str]:
    """``stats --json``; ``raw-data`` counts the stored blobs, i.e. what the repository holds after dedup."""
    if mode not in ("raw-data", "restore-size", "files-by-contents", "blobs-per-file"):
        raise ResticOptionError(
            f"stats mode must be raw-data, restore-size, files-by-contents or blobs-per-file; got {mode!r}"
        )
    return [*_global(repository), "stats", "--json", "--mode", mode]
