# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""Windows paths and UTC timestamps as the controller handles them, in one place.

The controller runs on Linux, so ``os.path`` is the wrong module for the host's paths; these helpers
work on Windows paths as strings, case-insensitively where Windows is:

* :func:`is_drive_path`, :func:`is_unc_path`, :func:`is_absolute`: the path forms the collection accepts
  (``D:\\...`` and ``\\\\server\\share\\...``; device paths such as ``\\\\?\\`` are not UNC paths);
* :func:`join`, :func:`parent`, :func:`is_under`: composing and comparing normalized paths;
* :func:`quote_value`, :func:`damaged_path_hint`: a value in an error message as it arrived, and a hint
  when its backslashes were decoded on the way in;
* :func:`utc_text`, :func:`parse_time`: UTC timestamps as ``2026-11-25T02:00:00Z`` and back (also the
  7-digit fractions of .NET's round-trip format).
"""

from __future__ import annotations

import datetime
import re
from typing import Any, List, Optional

_DRIVE_RE = re.compile(r"^[A-Za-z]:\\")
_UNC_RE = re.compile(r"^\\\\[^\\?.][^\\]*\\[^\\]+")
_BARE_DRIVE_RE = re.compile(r"^[A-Za-z]:\Z")


def is_drive_path(path: str) -> bool:
    """``D:\\`` or a path below it."""
    return bool(_DRIVE_RE.match(path))


def is_unc_path(path: str) -> bool:
    """``\\\\server\\share`` or a path below it; ``\\\\?\\`` and ``\\\\.\\`` device paths are not."""
    return bool(_UNC_RE.match(path))


def is_absolute(path: str) -> bool:
    """A drive path or a UNC path."""
    return is_drive_path(path) or is_unc_path(path)


def join(*parts: str) -> str:
    """Join with ``\\``, dropping empty parts and doubled separators; a bare drive keeps its root (``D:\\``)."""
    joined = "\\".join(p.strip("\\") if i else p.rstrip("\\") for i, p in enumerate(parts) if p.strip("\\"))
    return joined + "\\" if _BARE_DRIVE_RE.match(joined) else joined


def parent(path: str) -> str:
    """The folder that holds ``path`` (a normalized path without a trailing separator)."""
    return path.rsplit("\\", 1)[0]


def is_under(path: str, folder: str) -> bool:
    """True when ``path`` is ``folder`` or inside it (case-insensitive, as Windows compares paths)."""
    p, f = path.casefold().rstrip("\\"), folder.casefold().rstrip("\\")
    return p == f or p.startswith(f + "\\")


def quote_value(value: Any) -> str:
    """A value for an error message: strings in single quotes with backslashes as they are (Windows
    paths stay readable) and unprintable characters escaped; anything else as ``repr``."""
    if not isinstance(value, str):
        return repr(value)
    return "'" + "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in value) + "'"


def damaged_path_hint(value: Any) -> str:
    """A sentence to add to a path error when ``value`` looks like a Windows path whose backslashes were
    decoded on the way in (``-e key=value`` turns ``\\\\nas01`` into ``\\nas01`` and ``E:\\new`` into a
    newline); empty otherwise."""
    if not isinstance(value, str):
        return ""
    text = value.strip()
    lost_unc = text.startswith("\\") and not text.startswith("\\\\")
    if not (lost_unc or any(ord(c) < 32 for c in value)):
        return ""
    return (
        ". Backslashes look decoded: ansible-playbook -e key=value turns \\\\ into \\ and \\n into a newline."
        ' Give Windows paths as JSON (-e \'{"name": "\\\\\\\\nas01\\\\share"}\'),'
        " in a vars file (-e @vars.yml) or in the inventory"
    )


def utc_text(moment: datetime.datetime) -> str:
    """``2026-11-25T02:00:00Z``: an aware datetime in UTC, to the second."""
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def parse_time(text: Any) -> Optional[datetime.datetime]:
    """The aware datetime of an ISO 8601 timestamp as hosts and reports write them, or None.

    ``Z`` and offsets are read; a timestamp without a zone is UTC; .NET's 7 fractional digits are cut to 6.
    """
    if not text:
        return None
    value = str(text).strip()
    if value[-1:] in ("Z", "z"):
        value = value[:-1] + "+00:00"
    value = re.sub(r"(\.\d{6})\d+", r"\1", value)
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed


def run_as_problems(run_as: Any, run_as_password: Any) -> List[str]:
    """What is wrong with a job's ``run_as`` / ``run_as_password`` pair (both or neither; a real account name)."""
    problems = []
    if bool(run_as) != bool(run_as_password):
        problems.append(
            "run_as and run_as_password: give both (the account the job runs as and its password) or neither"
        )
    if run_as and (not isinstance(run_as, str) or any(ord(c) < 32 for c in run_as) or not run_as.strip()):
        problems.append(f"run_as: expected an account name such as CORP\\svc-backup, got {quote_value(run_as)}")
    return problems
