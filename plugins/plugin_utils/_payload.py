# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""Run a PowerShell payload from ``plugins/payloads/`` on a Windows host and decode its result.

Every Windows action plugin of this collection talks to the host through :func:`run_payload`.

Contract for a payload (``plugins/payloads/<name>.ps1``):

* It is a plain script with a ``param()`` block. Values reach it **only** as parameters:
  ``parameters`` (plain values) and ``sensitive_parameters`` (secrets; ``ansible.windows.win_powershell``
  turns them into ``SecureString``/``PSCredential`` and marks them ``no_log``). Nothing is ever
  formatted into the script text, which is sent exactly as the collection ships it (the file, with
  its libraries spliced in, see below).
* It sets ``$Ansible.Result`` to a JSON string, ``ConvertTo-Json -Depth N -Compress``; this module
  decodes it (an already-structured value is accepted too). It sets ``$Ansible.Changed``
  truthfully (``win_powershell`` defaults it to ``$true``).
* **Shared functions** live in ``plugins/payloads/lib/<library>.ps1`` (functions only, nothing that runs
  on its own). A payload pulls one in with a line ``#vaware:include <library>`` placed right after its
  ``param()`` block (which must stay the script's first statement, after ``[CmdletBinding(...)]``):
  :func:`load_payload` replaces that line with the library's text, so the script sent to the host is
  the payload file with its libraries spliced in, always the same for the same files. An unknown
  library, one included twice or a library that includes another is a ``ValueError``. Libraries take
  values only as function arguments, like payloads take them only as parameters.
* It reports failure by throwing (or ``$Ansible.Failed = $true``). The runner runs payloads with
  ``error_action: stop``, so any error record ends the script, and treats any error record as failure.
* **Check mode**: ``win_powershell`` does not run a script in check mode unless its ``param()`` block
  is preceded by ``[CmdletBinding(SupportsShouldProcess)]``; it then passes ``-WhatIf``. Read-only
  payloads must declare it so they run in check mode (and ignore ``$WhatIfPreference``); payloads
  that change things declare it only if they honour ``$PSCmdlet.ShouldProcess()``. When the module
  skipped the script, :func:`run_payload` raises :class:`PayloadError` with ``skipped=True`` rather
  than returning an empty result.

Every failure (host unreachable, module failure, error records, ``$Ansible.Failed``, check-mode skip,
missing or non-JSON result) is raised as one exception type, :class:`PayloadError`, whose message
names the step and the payload. Action plugins turn it into a failed task result with
:func:`payload_error_result`.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, Dict, List, Mapping, Optional

from ansible.errors import AnsibleConnectionFailure, AnsibleError

PAYLOAD_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "payloads")
LIBRARY_FOLDER = "lib"  # plugins/payloads/lib/<library>.ps1: functions payloads include
_INCLUDE_RE = re.compile(r"^#vaware:include[ \t]+(\S*)[ \t]*$", re.MULTILINE)
_INCLUDE_MARK = "#vaware:include"
WIN_POWERSHELL = "ansible.windows.win_powershell"
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_]*$")
_MASK = "********"
_MAX_TEXT = 2000  # longest piece of host output quoted in an error message

_cache: Dict[str, str] = {}


class PayloadError(Exception):
    """A payload could not be run or reported failure.

    ``step`` names what was being done (defaults to the payload name), ``message`` says what went
    wrong, ``details`` holds the evidence (error records, host output, module message) with secrets
    masked. ``unreachable`` is set when the host could not be reached, ``skipped`` when
    ``win_powershell`` skipped the script in check mode.
    """

    def __init__(
        self,
        step: str,
        message: str,
        details: Optional[Dict[str, Any]] = None,
        *,
        unreachable: bool = False,
        skipped: bool = False,
    ) -> None:
        self.step = step
        self.message = message
        self.details = details or {}
        self.unreachable = unreachable
        self.skipped = skipped
        super().__init__(f"{step}: {message}")


def available_payloads() -> List[str]:
    """Names of the payloads shipped in ``plugins/payloads``."""
    try:
        entries = os.listdir(PAYLOAD_DIR)
    except FileNotFoundError:
        return []
    return sorted(e[:-4] for e in entries if e.endswith(".ps1"))


def available_libraries() -> List[str]:
    """Names of the payload libraries shipped in ``plugins/payloads/lib``."""
    try:
        entries = os.listdir(os.path.join(PAYLOAD_DIR, LIBRARY_FOLDER))
    except FileNotFoundError:
        return []
    return sorted(e[:-4] for e in entries if e.endswith(".ps1"))


def _read_library(payload: str, library: str) -> str:
    known = ", ".join(available_libraries()) or "(none installed)"
    path = os.path.join(PAYLOAD_DIR, LIBRARY_FOLDER, library + ".ps1")
    if not _NAME_RE.match(library) or not os.path.isfile(path):
        raise ValueError(f"payload {payload!r} includes unknown library {library!r}; available libraries: {known}")
    with open(path, encoding="utf-8-sig") as handle:
        text = handle.read()
    if any(line.lstrip().startswith(_INCLUDE_MARK) for line in text.splitlines()):
        raise ValueError(f"payload library {library!r} contains {_INCLUDE_MARK!r}: libraries do not include others")
    return text


def compose_payload(name: str, text: str) -> str:
    """``text`` of payload ``name`` with each ``#vaware:include <library>`` line replaced by the library."""
    seen: List[str] = []

    def splice(match: re.Match[str]) -> str:
        library = match.group(1)
        if library in seen:
            raise ValueError(f"payload {name!r} includes library {library!r} twice")
        seen.append(library)
        body = _read_library(name, library)
        if not body.endswith("\n"):
            body += "\n"
        source = f"plugins/payloads/{LIBRARY_FOLDER}/{library}.ps1"
        return f"# ---- begin {source} ----\n{body}# ---- end {source} ----"

    composed = _INCLUDE_RE.sub(splice, text)
    stray = [line for line in composed.splitlines() if line.lstrip().startswith(_INCLUDE_MARK)]
    if stray:
        raise ValueError(
            f"payload {name!r}: malformed include line {stray[0].strip()!r}; expected '{_INCLUDE_MARK} <library>' "
            "alone on its line, at the start of the line"
        )
    return composed


def load_payload(name: str) -> str:
    """Return the script of payload ``name``: ``plugins/payloads/<name>.ps1`` with its libraries spliced in.

    Raises ``ValueError`` for an unknown name or an unknown or malformed include.
    """
    if name in _cache:
        return _cache[name]
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(
            f"invalid payload name {name!r}: expected lower-case letters, digits and underscores, "
            f"one of {', '.join(available_payloads()) or '(none installed)'}"
        )
    path = os.path.join(PAYLOAD_DIR, name + ".ps1")
    if not os.path.isfile(path):
        raise ValueError(
            f"unknown payload {name!r}: no file {path}; available payloads: "
            f"{', '.join(available_payloads()) or '(none installed)'}"
        )
    with open(path, encoding="utf-8-sig") as handle:
        text = compose_payload(name, handle.read())
    _cache[name] = text
    return text


def _sensitive_list(sensitive_parameters: Optional[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """Turn ``{name: secret}`` / ``{name: {"username": u, "password": p}}`` into win_powershell's list form."""
    entries = []
    for key, value in (sensitive_parameters or {}).items():
        if isinstance(value, Mapping):
            unknown = set(value) - {"username", "password"}
            if unknown or "username" not in value:
                raise ValueError(
                    f"sensitive parameter {key!r}: expected a string (SecureString) or a mapping with "
                    f"'username' and 'password' (PSCredential), got keys {sorted(value)}"
                )
            entries.append({"name": key, "username": value["username"], "password": value.get("password")})
        elif isinstance(value, str):
            entries.append({"name": key, "value": value})
        else:
            raise ValueError(
                f"sensitive parameter {key!r}: expected a string or a username/password mapping, "
                f"got {type(value).__name__}"
            )
    return entries


def _secrets(sensitive_parameters: Optional[Mapping[str, Any]]) -> List[str]:
    found = []
    for value in (sensitive_parameters or {}).values():
        if isinstance(value, Mapping):
            value = value.get("password")
        if isinstance(value, str) and value:
            found.append(value)
    return sorted(found, key=len, reverse=True)


def _mask(value: Any, secrets: List[str]) -> Any:
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, _MASK)
        return value
    if isinstance(value, Mapping):
        return {k: _mask(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_mask(v, secrets) for v in value]
    return value


def _clip(text: Any) -> str:
    text = str(text or "").strip()
    return text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT] + " ..."


_LINE_RE = re.compile(r"line (\d+)", re.IGNORECASE)


def _error_record_message(record: Any) -> str:
    """One line for a win_powershell error record: exception message plus script position."""
    if not isinstance(record, Mapping):
        return str(record)
    exception = record.get("exception") or {}
    details = record.get("error_details") or {}
    message = (
        (details.get("message") if isinstance(details, Mapping) else None)
        or (exception.get("message") if isinstance(exception, Mapping) else None)
        or record.get("output")
        or "unknown error"
    )
    message = str(message).strip()
    position = None
    info = record.get("invocation_info")
    if isinstance(info, Mapping) and info.get("script_line_number"):
        position = f"line {info['script_line_number']}"
        if info.get("line"):
            position += f": {str(info['line']).strip()}"
    if position is None and record.get("script_stack_trace"):
        first = str(record["script_stack_trace"]).splitlines()[0]
        match = _LINE_RE.search(first)
        if match:
            position = f"line {match.group(1)}"
    return f"{message} (at {position})" if position else message


def describe_error_records(records: Any) -> str:
    """Join the error records of a win_powershell result into one readable message."""
    if not isinstance(records, list):
        records = [records]
    return "; ".join(_error_record_message(r) for r in records if r) or "no error record"


def decode_result(step: str, name: str, value: Any) -> Any:
    """Decode the ``result`` value of win_powershell; raise :class:`PayloadError` if it is missing or not JSON."""
    if isinstance(value, str):
        if not value.strip():
            raise PayloadError(step, f"payload {name} set an empty $Ansible.Result")
        try:
            return json.loads(value)
        except ValueError as exc:
            raise PayloadError(
                step,
                f"payload {name} returned a result that is not JSON ({exc}): {_clip(value)[:200]}",
                {"result": _clip(value)},
            ) from None
    if value is None or value == {}:
        # win_powershell's default result is an empty dict: the script never set $Ansible.Result.
        raise PayloadError(step, f"payload {name} did not set $Ansible.Result")
    return value


def _reported_result(value: Any) -> Any:
    """The result a failed payload set, decoded when possible; None when it set none."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def run_payload(
    action: Any,
    name: str,
    parameters: Optional[Mapping[str, Any]],
    task_vars: Optional[Dict[str, Any]],
    *,
    sensitive_parameters: Optional[Mapping[str, Any]] = None,
    step: Optional[str] = None,
) -> Any:
    """Run payload ``name`` on the host of ``action`` and return its decoded ``$Ansible.Result``.

    ``action`` is the running ActionBase; only its ``_execute_module`` is used. ``parameters`` are
    passed as script parameters, ``sensitive_parameters`` as ``{name: secret}`` (SecureString) or
    ``{name: {"username": ..., "password": ...}}`` (PSCredential), which win_powershell marks no_log.
    Raises :class:`PayloadError` for every failure; its ``step`` is ``step`` or the payload name.
    """
    step = step or name
    script = load_payload(name)
    secrets = _secrets(sensitive_parameters)
    module_args: Dict[str, Any] = {
        "script": script,
        "parameters": dict(parameters or {}),
        "error_action": "stop",
    }
    sensitive = _sensitive_list(sensitive_parameters)
    if sensitive:
        module_args["sensitive_parameters"] = sensitive

    try:
        raw = action._execute_module(module_name=WIN_POWERSHELL, module_args=module_args, task_vars=task_vars)
    except AnsibleConnectionFailure as exc:
        raise PayloadError(
            step,
            f"host unreachable while running payload {name}: {_mask(str(exc), secrets)}",
            unreachable=True,
        ) from None
    except AnsibleError as exc:  # e.g. ansible.windows not installed on the controller
        raise PayloadError(
            step, f"could not run payload {name} through {WIN_POWERSHELL}: {_mask(str(exc), secrets)}"
        ) from None

    if not isinstance(raw, Mapping):
        raise PayloadError(step, f"payload {name}: unexpected module answer {type(raw).__name__}")
    raw = _mask(raw, secrets)

    if raw.get("unreachable"):
        raise PayloadError(
            step, f"host unreachable while running payload {name}: {raw.get('msg', '')}".rstrip(), unreachable=True
        )

    records = raw.get("error") or []
    if records:
        raise PayloadError(
            step,
            f"payload {name} failed: {describe_error_records(records)}",
            {"error": records, "host_out": _clip(raw.get("host_out")), "host_err": _clip(raw.get("host_err"))},
        )

    if raw.get("failed"):
        reported = _reported_result(raw.get("result"))
        parts = [str(raw.get("msg") or "the payload reported failure ($Ansible.Failed)").strip()]
        if isinstance(reported, Mapping):
            reason = next((reported[k] for k in ("error", "message", "msg", "reason") if reported.get(k)), None)
            if reason:
                parts.append(str(reason))
        if raw.get("rc") not in (None, 0):
            parts.append(f"exit code {raw['rc']}")
        stderr = raw.get("module_stderr") or raw.get("host_err")
        if stderr:
            parts.append(f"stderr: {_clip(stderr)}")
        details = {
            k: _clip(raw[k]) for k in ("msg", "module_stdout", "module_stderr", "host_out", "host_err") if raw.get(k)
        }
        if "rc" in raw:
            details["rc"] = raw["rc"]
        if reported not in (None, {}):
            details["result"] = reported
        raise PayloadError(step, f"payload {name} failed: {'; '.join(parts)}", details)

    if raw.get("skipped") or str(raw.get("msg", "")).startswith("skipped"):
        raise PayloadError(
            step,
            f"payload {name} was not run: {raw.get('msg') or 'skipped'} (a payload that must run in check mode "
            "declares [CmdletBinding(SupportsShouldProcess)])",
            {"msg": raw.get("msg")},
            skipped=True,
        )

    if "result" not in raw:
        raise PayloadError(step, f"payload {name}: win_powershell returned no result")
    return decode_result(step, name, raw["result"])


def payload_error_result(error: PayloadError, **extra: Any) -> Dict[str, Any]:
    """A failed task result for ``error``: ``failed``, ``msg``, ``step`` and the masked details."""
    result: Dict[str, Any] = {"failed": True, "changed": False, "msg": str(error), "step": error.step}
    if error.details:
        result["details"] = error.details
    if error.unreachable:
        result["host_unreachable"] = True
    if error.skipped:
        result["payload_skipped"] = True
    result.update(extra)
    return result
