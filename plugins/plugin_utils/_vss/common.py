# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""What every part of a VSS backup shares: the Hyper-V writer's identity, the planning error type, and the limits
of win_vss_backup's whole-number options (:data:`OPTION_LIMITS`, :func:`option_problems`), which the action, the
plan and the hyperv_backup role (through the ``backup_option_problems`` filter) all check by.

It imports nothing of the collection, so the plan, the script renderers and the manifest can all use it
without importing each other.
"""

from __future__ import annotations

import re
from typing import Any, List, Mapping

HYPERV_WRITER_ID = "66841cd4-6ded-4f4b-8f17-fd23f8ddc3de"
HYPERV_WRITER_NAME = "Microsoft Hyper-V VSS Writer"


class BackupPlanError(ValueError):
    """The inventory, the volume facts or the options cannot make a safe backup plan."""


#: win_vss_backup's whole-number options: name -> (lowest, highest) value allowed.
OPTION_LIMITS = {
    "copy_threads": (1, 128),
    "unbuffered_min_size": (0, 2**62),
    "timeout": (1, 30 * 86400),
    "poll_interval": (1, 3600),
}
#: The highest count a retention key (keep_last, keep_daily, ...) takes.
RETENTION_MAX = 100000
_DIGITS = re.compile(r"^[0-9]+$")


def _whole(value: Any) -> Any:
    """``value`` as an int when it is one (or a string of digits, as a role variable given with -e is), else as is."""
    if isinstance(value, str) and _DIGITS.match(value):
        return int(value)
    return value


def option_problems(values: Mapping[str, Any], prefix: str = "") -> List[str]:
    """What is wrong with the whole-number options and the retention counts in ``values`` (None: not given).

    Each problem names the option (``prefix`` before it, e.g. the role's ``hyperv_backup_``), the range and the
    value given.
    """
    problems = []
    retention = values.get("retention") or {}
    if isinstance(retention, Mapping):
        for key, value in retention.items():
            whole = _whole(value)
            if value is not None and (
                isinstance(whole, bool) or not isinstance(whole, int) or not 0 <= whole <= RETENTION_MAX
            ):
                problems.append(
                    f"{prefix}retention.{key}: expected a whole number from 0 to {RETENTION_MAX}, got {value}"
                )
    for name, (low, high) in OPTION_LIMITS.items():
        value = values.get(name)
        whole = _whole(value)
        if value is not None and (isinstance(whole, bool) or not isinstance(whole, int) or not low <= whole <= high):
            problems.append(f"{prefix}{name}: expected a whole number from {low} to {high}, got {value}")
    return problems
