# Copyright (c) vaware.hyperv contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""Is there room at the backup destination, and what may make room when there is not.

:func:`listed_generations` turns a generation listing (as the job account read it on the host) into
the entries :func:`retention.select_expired` takes; :func:`expiry_for_room` answers the question
``expire_before_copy_when_short`` asks; :func:`shortage_message` explains a shortage with the numbers.

Making room only ever deletes what the retention policy would expire anyway once the new generation
is complete (the new one counted as the newest), and never the newest complete generation that is
there: if the new run then fails, the newest good generation is still there. Room is only made when
the generations named free enough (by the sizes their manifests record); otherwise nothing is deleted.
"""

from __future__ import annotations

import datetime
from typing import Any, Dict, List, Mapping, Optional

from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.manifest import (
    is_generation_complete,
    retention_entry,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.plan import parse_generation_id
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.retention import select_expired

__all__ = ["expiry_for_room", "generation_bytes", "human_bytes", "listed_generations", "shortage_message"]


def human_bytes(num: Optional[int]) -> str:
    """``1.5 GiB`` style; ``unknown size`` for None."""
    if num is None:
        return "unknown size"
    value = float(num)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{int(value)} B"
        value /= 1024
    return f"{num} B"  # pragma: no cover


def listed_generations(listed: Any, current: str) -> List[Dict[str, Any]]:
    """The generations of a host listing (``[{"name", "manifest"}, ...]``) as retention entries.

    Folders whose names are not generation ids of this collection, and the generation this job
    writes (``current``), are left out. Each entry also carries ``manifest`` for the callers.
    """
    out = []
    for gen in listed or []:
        if not isinstance(gen, Mapping):
            continue
        name = str(gen.get("name"))
        if name == current or parse_generation_id(name) is None:
            continue
        entry = retention_entry(name, gen.get("manifest"))
        entry["manifest"] = gen.get("manifest")
        out.append(entry)
    return out


def generation_bytes(manifest: Any) -> Optional[int]:
    """Bytes a complete generation holds by its manifest (VM files and extra paths); None if unknown."""
    if not is_generation_complete(manifest):
        return None
    total = 0
    for item in list(manifest.get("vms") or []) + list(manifest.get("extra_paths") or []):
        size = item.get("bytes")
        if isinstance(size, int) and not isinstance(size, bool):
            total += size
    return total


def expiry_for_room(
    entries: List[Mapping[str, Any]],
    policy: Optional[Mapping[str, Any]],
    *,
    new_generation: str,
    now: datetime.datetime,
    free_bytes: int,
    required_bytes: int,
) -> Dict[str, Any]:
    """What expiring before the copy would do.

    ``entries``: :func:`listed_generations`. Returns ``short_by`` (bytes), ``expire`` (ids, oldest
    first), ``frees`` (bytes their manifests record), ``unknown_size`` (ids among ``expire`` with no
    size), ``protected`` (the newest complete generation there, never expired here) and ``enough``
    (whether deleting ``expire`` leaves room for ``required_bytes``).
    """
    short_by = max(0, required_bytes - free_bytes)
    complete = sorted((e for e in entries if e["complete"]), key=lambda e: (e["finished_at"], e["id"]))
    protected = complete[-1]["id"] if complete else None
    expire: List[str] = []
    active = {k: v for k, v in (policy or {}).items() if v}
    if active and short_by:
        candidates = [{k: e[k] for k in ("id", "finished_at", "complete")} for e in entries]
        candidates.append({"id": new_generation, "finished_at": now, "complete": True})
        expire = [g for g in select_expired(candidates, active, now) if g not in (new_generation, protected)]
    sizes = {e["id"]: generation_bytes(e.get("manifest")) for e in entries}
    frees = sum(sizes[g] or 0 for g in expire)
    return {
        "short_by": short_by,
        "expire": expire,
        "frees": frees,
        "unknown_size": [g for g in expire if sizes[g] is None],
        "protected": protected,
        "enough": bool(expire) and frees >= short_by,
        "policy": active,
    }


def shortage_message(
    path: str,
    *,
    free_bytes: int,
    total_bytes: Optional[int],
    required_bytes: int,
    room: Optional[Mapping[str, Any]],
    option_on: bool,
) -> str:
    """The one-paragraph error for a destination without room, with the arithmetic and the way out."""
    of_total = f" of {human_bytes(total_bytes)}" if total_bytes else ""
    short_by = max(0, required_bytes - free_bytes)
    text = (
        f"destination too small: {path} has {human_bytes(free_bytes)} free{of_total}; this backup needs"
        f" {human_bytes(required_bytes)} ({required_bytes} bytes), {human_bytes(short_by)} ({short_by} bytes) more"
    )
    if room is None:
        return text + ". Free space there, or back up fewer VMs"
    kept = (
        f"retention ({', '.join(f'{k}: {v}' for k, v in sorted(room['policy'].items()))})"
        if room["policy"]
        else "no retention (every generation is kept)"
    )
    if room["expire"]:
        unknown = f"; {', '.join(room['unknown_size'])} of unknown size" if room["unknown_size"] else ""
        what = (
            f"Counting this backup, {kept} expires {', '.join(room['expire'])},"
            f" which frees {human_bytes(room['frees'])}{unknown}"
        )
    else:
        what = f"Counting this backup, {kept} expires no generation"
        if room["protected"]:
            what += f" (the newest complete one, {room['protected']}, is always kept)"
    if option_on:
        return text + f". {what}: not enough, so nothing was deleted. Free space there or keep fewer generations"
    hint = (
        "; expire_before_copy_when_short: true would delete those before the copy"
        if room["enough"]
        else "; that is not enough even with expire_before_copy_when_short"
    )
    return text + f". {what}{hint}. Otherwise free space there or keep fewer generations"
