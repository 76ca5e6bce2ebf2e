# Copyright (c) vaware.hyperv contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""Interpret robocopy exit codes and parse robocopy logs.

Public functions: :func:`outcome` and :func:`parse_summary`.

robocopy's words, dates and number separators follow the host's display language, so the log
parser anchors on structure, not on words:

* the summary block is three consecutive ``<label> : <six values>`` rows (directories, files,
  bytes, in that order, under the ``Total Copied Skipped Mismatch FAILED Extras`` header),
  whatever the labels say (``Dirs :``, ``Verzeich.:``, ``Rép :``);
* sizes may carry a unit suffix (``3.9 k``, ``848.175 g``, ``18,00 m``: binary multiples of 1024)
  or be plain byte counts (``/BYTES``);
* the speed rows after the summary are ``<label> : <number> <unit>/<unit>``: bytes per second
  first, then megabytes per minute (a unit starting with ``M``, such as ``MegaBytes/min.`` or
  ``Mégaoctets/min.``, is megabytes per minute wherever it stands);
* a per-file error is an unindented line carrying ``<code> (0x<8 hex digits>)`` (the word
  ``ERROR`` is translated); its path starts at the first ``X:\\`` or ``\\\\`` after the code, and the reason
  is the next non-blank line.

The log is read one line at a time and nothing but the current job's figures and the error
list is kept, so a log of any size parses in constant memory (plus the errors themselves).
"""

from __future__ import annotations

import io
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Dict, Iterable, List, Optional, Union

__all__ = ["COLUMNS", "outcome", "parse_summary"]

#: Keys of the ``dirs``/``files``/``bytes`` dicts, in robocopy's column order.
COLUMNS = ("total", "copied", "skipped", "mismatch", "failed", "extras")

_FLAG_MEANINGS = (
    (1, "files were copied"),
    (2, "extra files or directories exist at the destination"),
    (4, "mismatched files or directories were found"),
    (8, "some files or directories could not be copied"),
    (16, "fatal error: robocopy did not copy anything (usage error or no access to source or destination)"),
)

_SUFFIX = {"k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}

# "<label> : <values>"; the label holds no digit and no colon (so per-file lines with sizes and
# paths fail fast).
_ROW = re.compile(r"^\s*([^\s\d:][^\d:]*?)\s*:\s*(\d.*?)\s*$")
_NUMBER = re.compile(r"^\d+(?:[.,\u00a0\u202f']\d+)*$")
_SPEED = re.compile(r"^\s*[^\d:]+?\s*:\s*(\d[\d.,\u00a0\u202f' ]*?)\s+([^\s/]+)/(\S+?)\.?\s*$")
_ERROR = re.compile(r"(\d+)\s+\(0x([0-9A-Fa-f]{8})\)\s*(.*)$")
_PATH_START = re.compile(r"[A-Za-z]:\\|\\\\")
_SEPARATOR = re.compile(r"^\s*-{20,}\s*$")


def outcome(rc: int) -> Dict[str, Any]:
    """Interpret a robocopy exit code (a bit mask).

    :param rc: the exit code robocopy returned.
    :returns: a dict with ``rc`` (the code), ``ok`` (True for 0-7, False for 8 and above or a
        code robocopy does not use), ``fatal`` (True when bit 16 is set or the code is not a
        robocopy code at all) and ``flags``: the meaning of each bit set, lowest bit first
        (an empty list for 0: nothing needed copying).
    :raises TypeError: when ``rc`` is not an int.
    """
    if isinstance(rc, bool) or not isinstance(rc, int):
        raise TypeError(f"robocopy exit code must be an int, got {rc!r} ({type(rc).__name__})")
    if rc < 0 or rc > 31:
        return {
            "rc": rc,
            "ok": False,
            "fatal": True,
            "flags": [f"{rc} is not a robocopy exit code (robocopy uses 0-31): the process was ended or crashed"],
        }
    return {
        "rc": rc,
        "ok": rc < 8,
        "fatal": bool(rc & 16),
        "flags": [meaning for bit, meaning in _FLAG_MEANINGS if rc & bit],
    }


def _to_int(number: str, suffix: Optional[str]) -> int:
    """Convert one summary value (``"848.175"`` + ``"g"``, ``"1,5"`` + ``"m"``, ``"1234"``) to bytes."""
    if suffix is None:
        # Plain counts are integers: any separator in them groups thousands.
        return int(re.sub(r"\D", "", number))
    cleaned = re.sub(r"[\u00a0\u202f' ]", "", number)
    # With a unit the last separator is the decimal point, earlier ones group thousands.
    last = max(cleaned.rfind("."), cleaned.rfind(","))
    if last >= 0:
        cleaned = re.sub(r"\D", "", cleaned[:last]) + "." + cleaned[last + 1 :]
    try:
        value = Decimal(cleaned) * _SUFFIX[suffix.lower()]
    except InvalidOperation:  # pragma: no cover - guarded by _NUMBER
        raise ValueError(f"not a robocopy size: {number!r} {suffix!r}") from None
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


def _row_values(text: str) -> Optional[List[int]]:
    """Return the six values of a summary row, or None when ``text`` is not one."""
    tokens = text.split()
    values: List[int] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if not _NUMBER.match(token):
            return None
        suffix = None
        if i + 1 < len(tokens) and len(tokens[i + 1]) == 1 and tokens[i + 1].lower() in _SUFFIX:
            suffix = tokens[i + 1]
            i += 1
        values.append(_to_int(token, suffix))
        i += 1
        if len(values) > 6:
            return None
    return values if len(values) == 6 else None


def _is_megabytes(unit: str, position: int) -> bool:
    """True when a speed row is the megabytes-per-minute one.

    robocopy prints bytes per second first and megabytes per minute second; the unit word
    (``MegaBytes``, ``Mégaoctets``, ``МБ``) confirms it where it starts with an M.
    """
    return unit[:1].lower() in ("m", "\u043c") or position >= 1


def _speed(number: str, megabytes: bool) -> Optional[int]:
    digits = re.sub(r"[\u00a0\u202f' ]", "", number)
    if megabytes:  # megabytes (2**20 bytes) per minute, printed with decimals
        digits = digits.replace(",", ".")
        if digits.count(".") > 1:
            head, _sep, tail = digits.rpartition(".")
            digits = head.replace(".", "") + "." + tail
        try:
            return int((Decimal(digits) * 1048576 / 60).to_integral_value(rounding=ROUND_HALF_UP))
        except InvalidOperation:
            return None
    digits = re.sub(r"\D", "", digits)
    return int(digits) if digits else None


def parse_summary(text_or_lines: Union[str, Iterable[str]]) -> Dict[str, Any]:
    """Parse a robocopy log (one job or several appended with ``/LOG+``/``/UNILOG+``).

    :param text_or_lines: the log as one string, or any iterable of lines (an open text file,
        a generator); an iterable is consumed once, line by line, and never held in memory.
        Open ``/UNILOG`` logs with ``encoding="utf-16"``.
    :returns: a dict (a stable, public structure):

        ``dirs``, ``files``, ``bytes``
            The **last** complete summary block of the log, each a dict with the int keys
            ``total``, ``copied``, ``skipped``, ``mismatch``, ``failed``, ``extras`` (``bytes``
            in bytes: unit suffixes are converted with binary multiples). None when the log
            holds no complete summary (robocopy was stopped before it printed one).
        ``speed_bytes_per_sec`` (int or None)
            The speed robocopy printed after that last summary (the bytes-per-second row, or the
            megabytes-per-minute row converted when only that one is there); None when absent.
        ``errors`` (list of dict)
            Every per-file or per-directory error of **all** jobs in the log, in log order, each
            ``code`` (int, the Windows error code), ``path`` (str or None) and ``reason`` (the
            line robocopy printed after the error, or None). A retry that repeats the error
            just reported (same code and path) is not listed again.
        ``jobs`` (int)
            How many complete summary blocks the log holds.
    :raises TypeError: when given bytes or something that is not text.
    """
    if isinstance(text_or_lines, (bytes, bytearray)):
        raise TypeError("parse_summary() expects text: decode the log first (/UNILOG logs are UTF-16)")
    if isinstance(text_or_lines, str):
        lines: Iterable[str] = io.StringIO(text_or_lines)
    else:
        lines = text_or_lines

    last: Optional[List[List[int]]] = None
    last_speed: Optional[int] = None
    speed_bytes: Optional[int] = None
    speed_mb: Optional[int] = None
    speed_rows = 0  # speed rows seen after the last summary
    jobs = 0
    rows: List[List[int]] = []  # summary rows of the block being read
    after_summary = False  # between a job's summary and the next job's header
    errors: List[Dict[str, Any]] = []
    want_reason: Optional[Dict[str, Any]] = None

    for line in lines:
        if not isinstance(line, str):
            raise TypeError(f"parse_summary() expects lines of text, got {type(line).__name__}")
        # Error lines start at the first column with a time stamp; file lines are indented, so a
        # file named "x 12 (0x00000001).txt" is not an error.
        if "(0x" in line and line[:1] not in (" ", "\t"):
            match = _ERROR.search(line)
            if match:
                rows = []
                rest = match.group(3)
                start = _PATH_START.search(rest)
                path = rest[start.start() :].strip() if start else None
                code = int(match.group(1))
                previous = errors[-1] if errors else None
                if previous is not None and previous["code"] == code and previous["path"] == path:
                    want_reason = None  # robocopy retrying the same file
                else:
                    want_reason = {"code": code, "path": path, "reason": None}
                    errors.append(want_reason)
                continue
        stripped = line.strip()
        if not stripped:
            continue
        if want_reason is not None:
            if not _SEPARATOR.match(stripped):
                want_reason["reason"] = stripped
            want_reason = None
            continue
        if ":" in stripped:
            match = _ROW.match(stripped)
            if match:
                values = _row_values(match.group(2))
                if values is not None:
                    rows.append(values)
                    if len(rows) == 3:
                        last, rows = rows, []
                        jobs += 1
                        after_summary = True
                        last_speed = speed_bytes = speed_mb = None
                        speed_rows = 0
                    continue
            if after_summary:
                speed = _SPEED.match(stripped)
                if speed:
                    megabytes = _is_megabytes(speed.group(2), speed_rows)
                    speed_rows += 1
                    value = _speed(speed.group(1), megabytes)
                    if megabytes:
                        speed_mb = speed_mb if speed_mb is not None else value
                    else:
                        speed_bytes = speed_bytes if speed_bytes is not None else value
                    last_speed = speed_bytes if speed_bytes is not None else speed_mb
        elif after_summary and _SEPARATOR.match(stripped):
            after_summary = False  # the next job's header begins
        rows = []

    def as_dict(values: Optional[List[int]]) -> Optional[Dict[str, int]]:
        return None if values is None else dict(zip(COLUMNS, values))

    return {
        "dirs": as_dict(last[0] if last else None),
        "files": as_dict(last[1] if last else None),
        "bytes": as_dict(last[2] if last else None),
        "speed_bytes_per_sec": last_speed,
        "errors": errors,
        "jobs": jobs,
    }
