# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""Which restic a host has, and whether it is new enough.

``restic version`` prints ``restic 0.14.0 compiled with go1.19.8 on linux/amd64`` (development builds:
``restic 0.16.4-dev (compiled manually) compiled with ...``); ``restic version --json`` (restic >= 0.17)
prints ``{"message_type":"version","version":"0.17.3","go_version":...,"go_os":...,"go_arch":...}``
while older versions ignore ``--json`` there. :func:`parse_version` reads either.

The minimum is 0.14.0: the first release with repository format 2 (compression, ``--compression``).
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, Tuple

__all__ = ["MIN_VERSION", "ResticVersionError", "check_version", "parse_version", "version_text"]

MIN_VERSION: Tuple[int, int, int] = (0, 14, 0)

_TEXT_RE = re.compile(r"^restic (\d+)\.(\d+)\.(\d+)(\S*)(?: .*? on (\S+)/(\S+))?", re.MULTILINE)
_NUMBER_RE = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(\S*)$")


class ResticVersionError(ValueError):
    """restic is missing, unreadable or older than :data:`MIN_VERSION`."""


def version_text(version: Tuple[int, int, int]) -> str:
    return ".".join(str(part) for part in version)


def parse_version(output: Any) -> Dict[str, Any]:
    """Read ``restic version`` output (text or ``--json``).

    :returns: ``{"version": (major, minor, patch), "text": "0.14.0", "suffix": "" | "-dev", "os": ..., "arch": ...}``
    :raises ResticVersionError: naming the text when it is not restic's version line.
    """
    text = output if isinstance(output, str) else ""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped.splitlines()[0])
        except ValueError:
            data = None
        if isinstance(data, dict) and data.get("message_type") == "version":
            match = _NUMBER_RE.match(str(data.get("version", "")))
            if match:
                version = (int(match.group(1)), int(match.group(2)), int(match.group(3)))
                return {
                    "version": version,
                    "text": version_text(version) + match.group(4),
                    "suffix": match.group(4),
                    "os": data.get("go_os"),
                    "arch": data.get("go_arch"),
                }
    match = _TEXT_RE.search(text)
    if not match:
        shown = stripped[:200] or "(nothing)"
        raise ResticVersionError(f"not the output of 'restic version': {shown!r}")
    version = (int(match.group(1)), int(match.group(2)), int(match.group(3)))
    return {
        "version": version,
        "text": version_text(version) + match.group(4),
        "suffix": match.group(4),
        "os": match.group(5),
        "arch": match.group(6),
    }


def check_version(output: Any, minimum: Tuple[int, int, int] = MIN_VERSION) -> Dict[str, Any]:
    """:func:`parse_version`, then refuse a version older than ``minimum``.

    A development build counts as the release it names: restic's version file says ``0.16.4-dev``
    right after 0.16.4 is released, so such a build is 0.16.4 plus later changes.
    """
    found = parse_version(output)
    if found["version"] < minimum:
        raise ResticVersionError(
            f"restic {found['text']} is too old: vaware.hyperv needs restic {version_text(minimum)} or newer"
        )
    return found
