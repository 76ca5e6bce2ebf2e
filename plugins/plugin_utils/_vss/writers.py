# Copyright (c) vaware.hyperv contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""Parse VSS writer listings: ``vssadmin list writers`` and diskshadow ``list writers status``.

The one public function is :func:`parse_writers`.

``vssadmin`` prints its labels and state words in the display language of the host
(``Writer name:``/``Verfassername:``/``Nom de l'enregistreur :``, ``[1] Stable``/``[1] Stabil``),
so it is parsed by shape: a record starts at a ``label: 'name'`` line (or ``"name"``, or German
low-high quotes U+201E/U+201C) that is followed by a ``label: {guid}`` line; the first GUID is
the writer id, the second the instance id; ``[N]`` is the state; the next labelled line is the
last error, kept as printed.

diskshadow prints each writer as::

    * WRITER "System Writer"
        - Status: 5 (VSS_WS_WAITING_FOR_BACKUP_COMPLETE)
        - Writer Failure code: 0x00000000 (S_OK)
        - Writer ID: {e8132975-6f93-4464-a53e-1050253ae220}
        - Instance ID: {7e631031-c695-4229-9da1-a7de057e64cb}

(the name quoted or not; other builds print the IDs first, as ``- Writer ID = {guid}``).
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

__all__ = ["WRITER_STATES", "parse_writers", "state_name"]

#: VSS_WRITER_STATE values and their symbols.
WRITER_STATES = {
    0: "VSS_WS_UNKNOWN",
    1: "VSS_WS_STABLE",
    2: "VSS_WS_WAITING_FOR_FREEZE",
    3: "VSS_WS_WAITING_FOR_THAW",
    4: "VSS_WS_WAITING_FOR_POST_SNAPSHOT",
    5: "VSS_WS_WAITING_FOR_BACKUP_COMPLETE",
    6: "VSS_WS_FAILED_AT_IDENTIFY",
    7: "VSS_WS_FAILED_AT_PREPARE_BACKUP",
    8: "VSS_WS_FAILED_AT_PREPARE_SNAPSHOT",
    9: "VSS_WS_FAILED_AT_FREEZE",
    10: "VSS_WS_FAILED_AT_THAW",
    11: "VSS_WS_FAILED_AT_POST_SNAPSHOT",
    12: "VSS_WS_FAILED_AT_BACKUP_COMPLETE",
    13: "VSS_WS_FAILED_AT_PRE_RESTORE",
    14: "VSS_WS_FAILED_AT_POST_RESTORE",
    15: "VSS_WS_FAILED_AT_BACKUPSHUTDOWN",
}

_GUID = re.compile(r"^\{?([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\}?$")
_LABELLED = re.compile(r"^\s*(?:-\s*)?([^:=]+?)\s*[:=]\s*(.*?)\s*$")
_DISKSHADOW_HEAD = re.compile(r"^\s*\*\s*WRITER\b\s*(.*?)\s*:?\s*$", re.IGNORECASE)
_VSSADMIN_STATE = re.compile(r"^\[(\d+)\]")
_DISKSHADOW_STATE = re.compile(r"^(\d+)\s*\((VSS_WS_\w+)\)", re.IGNORECASE)
_FAILURE_CODE = re.compile(r"^(?:0x)?[0-9A-Fa-f]{8}\b")
_QUOTES = (
    ("'", "'"),
    ('"', '"'),
    ("\u201e", "\u201c"),
    ("\u201c", "\u201d"),
    ("\u00ab", "\u00bb"),
    ("\u2018", "\u2019"),
)


def state_name(state: Optional[int]) -> Optional[str]:
    """Return the VSS_WRITER_STATE symbol for ``state`` (None for None or a value VSS does not define)."""
    return WRITER_STATES.get(state) if state is not None else None


def _unquote(value: str) -> str:
    value = value.strip()
    for left, right in _QUOTES:
        if len(value) >= 2 and value.startswith(left) and value.endswith(right):
            return value[len(left) : -len(right)]
    return value


def _new(name: str) -> Dict[str, Any]:
    return {
        "name": name,
        "id": None,
        "instance_id": None,
        "state": None,
        "state_name": None,
        "failed": False,
        "last_error": None,
    }


def parse_writers(text: str) -> List[Dict[str, Any]]:
    """Parse ``vssadmin list writers`` (any display language) or diskshadow ``list writers status``.

    :param text: the command's output (CRLF or LF, tabs or spaces).
    :returns: one dict per writer, in listing order (a stable, public structure):
        ``name`` (str), ``id`` and ``instance_id`` (GUIDs lower-case without braces, or None),
        ``state`` (int VSS_WRITER_STATE, or None when not printed), ``state_name`` (the
        ``VSS_WS_*`` symbol; for vssadmin taken from the number, not the translated word),
        ``failed`` (True for states 6-15, the ``VSS_WS_FAILED_AT_*`` states) and
        ``last_error`` (vssadmin: the last-error text as printed, e.g. ``"No error"``,
        ``"Timed out"``; diskshadow: the failure code as printed, e.g.
        ``"0x00000000 (S_OK)"``; None when absent).
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_writers() expects the listing as str, got {type(text).__name__}")
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    writers: List[Dict[str, Any]] = []
    current: Optional[Dict[str, Any]] = None
    from_diskshadow = False  # the record started with "* WRITER"
    after_state = False  # the previous labelled line of a vssadmin record was its state

    for index, line in enumerate(lines):
        head = _DISKSHADOW_HEAD.match(line)
        if head:
            current = _new(_unquote(head.group(1)))
            writers.append(current)
            from_diskshadow, after_state = True, False
            continue
        labelled = _LABELLED.match(line)
        if not labelled:
            current = None if not line.startswith("-") else current
            continue
        value = labelled.group(2)
        guid = _GUID.match(value)
        if guid is None and _starts_vssadmin_record(value, lines, index):
            current = _new(_unquote(value))
            writers.append(current)
            from_diskshadow, after_state = False, False
            continue
        if current is None:
            continue
        was_after_state, after_state = after_state, False
        if guid is not None:
            if current["id"] is None:
                current["id"] = guid.group(1).lower()
            elif current["instance_id"] is None:
                current["instance_id"] = guid.group(1).lower()
            continue
        state = _VSSADMIN_STATE.match(value)
        if state:
            current["state"] = int(state.group(1))
            current["state_name"] = state_name(current["state"])
            after_state = True
            continue
        state = _DISKSHADOW_STATE.match(value)
        if state:
            current["state"] = int(state.group(1))
            current["state_name"] = state_name(current["state"]) or state.group(2).upper()
            continue
        if current["last_error"] is not None:
            continue
        if from_diskshadow:
            # "- Writer Failure code: 0x800423f2 (VSS_E_WRITERERROR_TIMEOUT)"
            if _FAILURE_CODE.match(value):
                current["last_error"] = value
        elif was_after_state:
            # vssadmin prints the last error on the line after the state, in the host's language.
            current["last_error"] = value

    for writer in writers:
        writer["failed"] = writer["state"] is not None and 6 <= writer["state"] <= 15
    return writers


def _starts_vssadmin_record(value: str, lines: List[str], index: int) -> bool:
    """True when ``lines[index]`` is a vssadmin ``Writer name: 'X'`` line (any language)."""
    if not value or index + 1 >= len(lines):
        return False
    following = _LABELLED.match(lines[index + 1])
    if not following or not _GUID.match(following.group(2)):
        return False
    # The name is quoted; a line holding a label and a GUID-followed value that is not quoted
    # (for instance diskshadow's "- Writer Failure code: 0x... (S_OK)") is not a record start.
    return any(value.startswith(left) and value.endswith(right) for left, right in _QUOTES)
