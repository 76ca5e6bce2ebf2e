# Copyright (c) vaware.hyperv contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""Parse the transcript of a ``diskshadow /s`` run.

The one public function is :func:`parse_output`. It is a pure function of the transcript text
and never raises on odd input: a transcript cut off half-way (diskshadow killed, ``EXEC``
aborting the script) yields whatever was printed up to that point.

GUIDs are returned in one form everywhere: **lower-case, without braces**
(``"a9955f48-0d54-427c-b795-6cbf81e8e7ca"``). Volume GUID paths keep their braces because they
are paths (``"\\\\?\\Volume{6cd5140b-0000-0000-0000-602200000000}\\"``), with the GUID inside
lower-cased.

What is recognised (indentation may be tabs or spaces, line ends CRLF or LF):

* ``Alias G1 for shadow ID {guid} set as environment variable.``
* ``Alias VSS_SHADOW_SET for shadow set ID {guid} set as environment variable.``
* the block printed per shadow after ``CREATE`` (or ``LIST SHADOWS``)::

      * Shadow copy ID = {guid}        %G1%
          - Shadow copy set: {guid}    %VSS_SHADOW_SET%
          - Original volume name: \\\\?\\Volume{guid}\\ [D:\\]
          - Shadow copy device name: \\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy12
          - Attributes:  No_Auto_Release Persistent Differential

  The volume and device lines are recognised by their values, so they do not depend on the
  label wording.
* ``The shadow copy was successfully exposed as C:\\path\\.`` (attached to the shadow named by
  the preceding ``EXPOSE`` command or its ``-> %alias% = {guid}`` echo).
* failures: ``The last operation failed.`` and ``- Returned HRESULT: 80042306`` (or
  ``= 0x80042306``) followed by ``- Error text: VSS_E_PROVIDER_VETO``. Outside a shadow block any
  ``- label: 8xxxxxxx`` line counts as an HRESULT line, so a translated label still counts.
* writer exclusions (``Excluding writer "X", because ...``, ``The writer "X" is now entirely
  excluded ...``, ``Component "C" from writer "X" is excluded from backup, ...``), also when
  diskshadow wraps the message over two lines.
* ``The command script returned failure exit code 1.`` and ``The command script failed.``
* ``COM call "lvssObject4->GetRootAndLogicalPrefixPaths" failed.`` is harmless (KB 3025158) and
  is ignored, as is every other ``COM call ... failed.`` line that carries no HRESULT: only
  HRESULT lines and ``The last operation failed.`` make an error.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

__all__ = ["normalize_guid", "parse_output"]

_GUID = r"\{?[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}?"
_BRACED_GUID = r"\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}"

_ALIAS_SHADOW = re.compile(r"^Alias\s+(\S+)\s+for\s+shadow\s+ID\s+(" + _GUID + r")", re.IGNORECASE)
_ALIAS_SET = re.compile(r"^Alias\s+(\S+)\s+for\s+shadow\s+set\s+ID\s+(" + _GUID + r")", re.IGNORECASE)
_QUERY_SET = re.compile(r"shadow\s+copy\s+set\s+ID\s+(" + _GUID + r")\s*$", re.IGNORECASE)
# "* Shadow copy ID = {guid}   %G1%" (the alias is absent for shadows created elsewhere).
_SHADOW_HEAD = re.compile(r"^\*\s*[^=:{]*?\bID\s*[=:]\s*(" + _GUID + r")(?:\s+%([^%\s]+)%)?\s*$", re.IGNORECASE)
# "- label: value" / "- label = value" inside a shadow block.
_DETAIL = re.compile(r"^-\s*([^:=]+?)\s*[:=]\s*(.*?)\s*$")
_VOLUME_PATH = re.compile(r"(\\\\\?\\Volume(" + _BRACED_GUID + r")\\?)(?:\s*\[([^\]]*)\])?", re.IGNORECASE)
_DEVICE_PATH = re.compile(r"^\\\\\?\\GLOBALROOT\\", re.IGNORECASE)
_GUID_VALUE = re.compile(r"^(" + _GUID + r")(?:\s+%([^%\s]+)%)?$")
_EXPOSED = re.compile(r"^The\s+shadow\s+copy\s+was\s+successfully\s+exposed\s+as\s+(.+?)\s*$", re.IGNORECASE)
# Echo of a script command: "-> expose %G1% C:\mnt" (diskshadow /s) or "DISKSHADOW> ..." (interactive).
_COMMAND = re.compile(r"^(?:->|DISKSHADOW>)\s*(.*)$", re.IGNORECASE)
_EXPOSE_CMD = re.compile(r"^expose\s+(%[^%\s]+%|" + _GUID + r")\s", re.IGNORECASE)
_ALIAS_ECHO = re.compile(r"^%([^%\s]+)%\s*=\s*(" + _GUID + r")\s*$")
# "- Returned HRESULT: 80042306", "- Returned HRESULT = 0x80042301" (failure codes have the top bit set).
_HRESULT = re.compile(r"^(-?)\s*([^:=]*?)\s*[:=]\s*(?:0x)?([89A-Fa-f][0-9A-Fa-f]{7})\s*$")
_ERROR_TEXT = re.compile(r"^((?i:[^:=]*(?:text|error)[^:=]*?))\s*[:=]\s*(.*?)\s*$")
_LAST_OP_FAILED = re.compile(r"^The\s+last\s+operation\s+failed\.?\s*$", re.IGNORECASE)
_EXIT_CODE = re.compile(r"^The\s+command\s+script\s+returned\s+failure\s+exit\s+code\s+(-?\d+)", re.IGNORECASE)
_SCRIPT_FAILED = re.compile(r"^The\s+command\s+script\s+failed\.?\s*$", re.IGNORECASE)

_Q = r"[\"'\u201c\u201d\u201e]"
_EXCLUDING_WRITER = re.compile(r"\bExcluding\s+writer\s+" + _Q + r"([^\"\r\n]+?)" + _Q, re.IGNORECASE)
_ENTIRELY_EXCLUDED = re.compile(
    r"\bThe\s+writer\s+" + _Q + r"([^\"\r\n]+?)" + _Q + r"\s+is\s+now\s+entirely\s+excluded", re.IGNORECASE
)
_COMPONENT_EXCLUDED = re.compile(
    r"\bComponent\s+"
    + _Q
    + r"([^\"\r\n]+?)"
    + _Q
    + r"\s+from\s+writer\s+"
    + _Q
    + r"([^\"\r\n]+?)"
    + _Q
    + r"\s+is\s+excluded",
    re.IGNORECASE,
)


def normalize_guid(value: str) -> str:
    """Return ``value`` (a GUID with or without braces, any case) lower-case without braces."""
    return value.strip().strip("{}").lower()


def _new_shadow(shadow_id: str) -> Dict[str, Any]:
    return {
        "id": shadow_id,
        "alias": None,
        "set_id": None,
        "original_volume": None,
        "original_mount": None,
        "device": None,
        "exposed_as": None,
        "attributes": [],
    }


def parse_output(text: str) -> Dict[str, Any]:
    """Parse a diskshadow transcript (its ``/l`` log or captured stdout).

    :param text: the whole transcript as one string (CRLF or LF line ends).
    :returns: a dict with these keys (a stable, public structure):

        ``shadow_set_id`` (str or None)
            The shadow copy set created, GUID lower-case without braces.
        ``shadows`` (list of dict), in the order diskshadow first mentioned them, each with
            ``id`` (GUID), ``alias`` (str or None, e.g. ``"G1"``), ``set_id`` (GUID or None),
            ``original_volume`` (``\\\\?\\Volume{guid}\\`` path or None), ``original_mount``
            (the bracketed mount point such as ``"D:\\\\"`` or ``"C:\\\\mnt\\\\data\\\\"``, or
            None), ``device`` (``\\\\?\\GLOBALROOT\\Device\\...`` or None), ``exposed_as``
            (the path the transcript says the shadow was exposed at, without the sentence's
            final full stop, or None; an ``UNEXPOSE`` later does not clear it) and
            ``attributes`` (list of str, e.g. ``["No_Auto_Release", "Persistent",
            "Differential"]``).
        ``errors`` (list of dict)
            One per failure report, each ``hresult`` (upper-case hex, 8 digits, no ``0x``, or
            None when only ``The last operation failed.`` was printed) and ``text`` (the error
            text, e.g. ``"VSS_E_PROVIDER_VETO"``, or the failure line itself when there is none).
        ``excluded_writers`` (list of str)
            Names of writers diskshadow excluded entirely, without duplicates, in order.
        ``excluded_components`` (list of dict)
            ``component`` and ``writer`` of each excluded component, without duplicates.
        ``script_failed`` (bool)
            True when diskshadow printed ``The command script failed.``.
        ``exec_exit_code`` (int or None)
            The failing exit code from ``The command script returned failure exit code N.``;
            0 when an ``EXEC`` was echoed and diskshadow went on to a later command (so the
            command script succeeded); None when no ``EXEC`` ran or its outcome is not in
            the transcript (cut off).
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_output() expects the transcript as str, got {type(text).__name__}")

    shadows: Dict[str, Dict[str, Any]] = {}
    alias_to_id: Dict[str, str] = {}
    shadow_set_id: Optional[str] = None
    errors: List[Dict[str, Optional[str]]] = []
    excluded_writers: List[str] = []
    excluded_components: List[Dict[str, str]] = []
    script_failed = False
    exec_exit_code: Optional[int] = None
    exec_pending = False  # an EXEC was echoed and its outcome is not known yet

    current: Optional[Dict[str, Any]] = None  # shadow block being read
    expose_target: Optional[str] = None  # shadow id named by the last EXPOSE
    open_error: Optional[Dict[str, Optional[str]]] = None  # error waiting for its text line
    previous = ""  # previous non-blank line, to rejoin wrapped exclusion messages
    bare_failures = set()  # ids of errors opened by "The last operation failed."

    def shadow(shadow_id: str) -> Dict[str, Any]:
        if shadow_id not in shadows:
            shadows[shadow_id] = _new_shadow(shadow_id)
        return shadows[shadow_id]

    def exclusions(message: str) -> None:
        for match in _EXCLUDING_WRITER.finditer(message):
            if match.group(1) not in excluded_writers:
                excluded_writers.append(match.group(1))
        for match in _ENTIRELY_EXCLUDED.finditer(message):
            if match.group(1) not in excluded_writers:
                excluded_writers.append(match.group(1))
        for match in _COMPONENT_EXCLUDED.finditer(message):
            item = {"component": match.group(1), "writer": match.group(2)}
            if item not in excluded_components:
                excluded_components.append(item)

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue

        # Wrapped exclusion messages: look at this line alone and joined to the previous one.
        exclusions(line)
        if previous:
            exclusions(previous + " " + line)
        previous = line

        command = _COMMAND.match(line)
        if command:
            current = None
            open_error = None
            body = command.group(1).strip()
            echo = _ALIAS_ECHO.match(body)
            if echo:  # "-> %G1% = {guid}": diskshadow expanding an alias of the command above
                alias_to_id[echo.group(1).lower()] = normalize_guid(echo.group(2))
                continue
            if exec_pending:
                # diskshadow only goes on to the next command when the command script exited 0.
                exec_exit_code = 0
                exec_pending = False
            expose = _EXPOSE_CMD.match(body + " ")
            if expose:
                target = expose.group(1)
                expose_target = target if target.startswith("%") else normalize_guid(target)
            elif re.match(r"^exec\s", body + " ", re.IGNORECASE):
                exec_pending = True
            continue

        match = _ALIAS_SET.match(line)
        if match:
            shadow_set_id = normalize_guid(match.group(2))
            alias_to_id[match.group(1).lower()] = shadow_set_id
            continue
        match = _ALIAS_SHADOW.match(line)
        if match:
            shadow_id = normalize_guid(match.group(2))
            shadow(shadow_id)["alias"] = match.group(1)
            alias_to_id[match.group(1).lower()] = shadow_id
            continue
        match = _QUERY_SET.search(line)
        if match and line.lower().startswith("querying"):
            if shadow_set_id is None:
                shadow_set_id = normalize_guid(match.group(1))
            continue

        match = _SHADOW_HEAD.match(line)
        if match:
            open_error = None
            current = shadow(normalize_guid(match.group(1)))
            alias = match.group(2)
            if alias and current["alias"] is None and alias.upper() != "VSS_SHADOW_SET":
                current["alias"] = alias
                alias_to_id.setdefault(alias.lower(), current["id"])
            continue

        match = _EXPOSED.match(line)
        if match:
            path = match.group(1)
            if path.endswith("."):
                path = path[:-1]
            target = expose_target
            if target is not None and target.startswith("%"):
                target = alias_to_id.get(target[1:-1].lower())
            if target is None and len(shadows) == 1:
                target = next(iter(shadows))
            if target is not None:
                shadow(target)["exposed_as"] = path
            expose_target = None
            continue

        match = _EXIT_CODE.match(line)
        if match:
            exec_exit_code = int(match.group(1))
            exec_pending = False
            continue
        if _SCRIPT_FAILED.match(line):
            script_failed = True
            exec_pending = False
            continue

        if _LAST_OP_FAILED.match(line):
            current = None
            open_error = {"hresult": None, "text": None}
            errors.append(open_error)
            bare_failures.add(id(open_error))
            continue

        match = _HRESULT.match(line)
        # The label normally says HRESULT (also when translated); a "- label: 8xxxxxxx" line
        # outside a shadow block counts too, but inside one it could be a host name.
        if match and ("hresult" in match.group(2).lower() or (match.group(1) and current is None)):
            current = None
            hresult = match.group(3).upper()
            if open_error is None or open_error["hresult"] is not None:
                open_error = {"hresult": None, "text": None}
                errors.append(open_error)
            open_error["hresult"] = hresult
            continue

        detail = _DETAIL.match(line)
        if open_error is not None:
            text_line = detail or _ERROR_TEXT.match(line)
            if text_line and open_error["text"] is None:
                # "- Error text: VSS_E_PROVIDER_VETO" (the label may be translated)
                open_error["text"] = text_line.group(2)
                continue
            open_error = None

        if detail is None:
            if not line.startswith("-"):  # "- Not exposed" stays inside the block
                current = None
            continue
        if current is not None:
            _apply_detail(current, detail.group(1), detail.group(2))
            if current["set_id"] is not None and shadow_set_id is None:
                shadow_set_id = current["set_id"]

    for error in errors:
        if error["text"] is None:
            error["text"] = "The last operation failed." if id(error) in bare_failures else ""

    return {
        "shadow_set_id": shadow_set_id,
        "shadows": list(shadows.values()),
        "errors": errors,
        "excluded_writers": excluded_writers,
        "excluded_components": excluded_components,
        "script_failed": script_failed,
        "exec_exit_code": exec_exit_code,
    }


def _apply_detail(current: Dict[str, Any], label: str, value: str) -> None:
    """Fill one ``- label: value`` line of a shadow block into ``current``."""
    key = label.lower()
    volume = _VOLUME_PATH.match(value)
    if volume and "device" not in key:
        current["original_volume"] = "\\\\?\\Volume{" + normalize_guid(volume.group(2)) + "}\\"
        mount = volume.group(3)
        current["original_mount"] = mount.strip() if mount and mount.strip() else None
        return
    if _DEVICE_PATH.match(value):
        current["device"] = value
        return
    if "attribute" in key:
        current["attributes"] = [item for item in re.split(r"[\s,]+", value) if item]
        return
    if "expose" in key and value:
        current["exposed_as"] = value
        return
    guid = _GUID_VALUE.match(value)
    if guid and "provider" not in key:
        # The set is the first GUID line of the block (its label may be translated); a provider
        # ID line comes later and is told apart by its label.
        is_set = "set" in key or (guid.group(2) or "").upper() == "VSS_SHADOW_SET"
        if is_set or current["set_id"] is None:
            current["set_id"] = normalize_guid(guid.group(1))
