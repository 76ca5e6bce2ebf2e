# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""What to do about a VSS writer that is failed, stuck, timed out or missing.

* :data:`WRITER_SERVICES` is the table writer -> Windows service that hosts it. It is keyed by the writer id
  (a GUID, the same in every display language) with the writer's English name as the fallback; writer names
  are not translated either (``CVssWriter::Initialize``: "This string is not localized"), so a name-only entry
  is found on a German host too.
* :func:`explain_error` says what a last error or an HRESULT usually means and what to do about it: the texts
  ``vssadmin`` prints (``Timed out``, ``Retryable error``, ...), the ``VSS_E_*`` symbols and their numbers
  (``0x800423F2``, ``80042306``) as diskshadow prints them.
* :func:`writer_problems` turns a parsed writer listing (:func:`.writers.parse_writers`) into one problem per
  writer that is not stable, each with the hosting service and a one-line remedy; :func:`missing_writer` is the
  problem of a writer that is not listed at all; :func:`job_problem` is the problem of the Hyper-V writer that
  a backup job found (excluded from the snapshot, or the snapshot failed).

Sources: writer ids from Microsoft's "In-Box VSS Writers" page (win32 docs, VSS), the Hyper-V writer id from
"Backing up and restoring virtual machines" (Hyper-V WMI docs), the DFSR writer id from the DFSR VSS writer
page; the SqlServerWriter, Exchange and cluster writer ids as ``vssadmin list writers`` prints them in public
transcripts. The hosting services are the ones backup vendors publish for restarting a writer; the System
Writer's is also stated by Microsoft ("runs as part of the Cryptographic Services (CryptSvc) service").
HRESULT meanings follow the VSS API reference (``SetWriterFailureEx``, ``DoSnapshotSet``).
"""

from __future__ import annotations

import re
from typing import Any, Dict, Iterable, List, Mapping, Optional

from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.common import HYPERV_WRITER_ID, HYPERV_WRITER_NAME
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.writers import state_name

__all__ = [
    "HRESULTS",
    "WRITER_SERVICES",
    "error_hint",
    "explain_error",
    "explain_state",
    "hosting_service",
    "job_problem",
    "job_problems",
    "listing_problems",
    "missing_writer",
    "problem_line",
    "writer_problem",
    "writer_problems",
]


def _entry(writer_id: Optional[str], names: Iterable[str], service: str, display_name: str) -> Dict[str, Any]:
    return {
        "id": writer_id,
        "names": tuple(names),
        "service": service,
        "display_name": display_name,
    }


#: Writer -> the Windows service that hosts it: id (lower case, no braces; None when no source gives it),
#: the English names ``vssadmin`` prints, the service name and its display name.
WRITER_SERVICES = (
    _entry(HYPERV_WRITER_ID, [HYPERV_WRITER_NAME], "vmms", "Hyper-V Virtual Machine Management"),
    _entry("a65faa63-5ea8-4ebc-9dbd-a0c4db26912a", ["SqlServerWriter"], "SQLWriter", "SQL Server VSS Writer"),
    _entry("e8132975-6f93-4464-a53e-1050253ae220", ["System Writer"], "CryptSvc", "Cryptographic Services"),
    _entry("afbab4a2-367d-4d15-a586-71dbb18f8485", ["Registry Writer"], "VSS", "Volume Shadow Copy"),
    _entry("be000cbe-11fe-4426-9c58-531aa6355fc4", ["ASR Writer"], "VSS", "Volume Shadow Copy"),
    _entry("542da469-d3e1-473c-9f4f-7847f01fc64f", ["COM+ REGDB Writer"], "VSS", "Volume Shadow Copy"),
    _entry("4dc3bdd4-ab48-4d07-adb0-3bee2926fd7f", ["Shadow Copy Optimization Writer"], "VSS", "Volume Shadow Copy"),
    _entry(
        "75dfb225-e2e4-4d39-9ac9-ffaff65ddf06",
        ["VSS Metadata Store Writer", "VSS Express Writer Metadata Store Writer"],
        "VSS",
        "Volume Shadow Copy",
    ),
    _entry("a6ad56c2-b509-4e6c-bb19-49d8f43532f0", ["WMI Writer"], "Winmgmt", "Windows Management Instrumentation"),
    _entry("d61d61c8-d73a-4eee-8cdd-f6f9786b7124", ["Task Scheduler Writer"], "Schedule", "Task Scheduler"),
    _entry("4969d978-be47-48b0-b100-f328f07ac1e0", ["BITS Writer"], "BITS", "Background Intelligent Transfer Service"),
    _entry("cd3f2362-8bef-46c7-9181-d62844cdc062", ["MSSearch Service Writer"], "WSearch", "Windows Search"),
    _entry(
        "2a40fd15-dfca-4aa8-a654-1f8c654603f6", ["IIS Config Writer"], "AppHostSvc", "Application Host Helper Service"
    ),
    _entry("59b1f0cf-90ef-465f-9609-6ca8b2938366", ["IIS Metabase Writer"], "IISADMIN", "IIS Admin Service"),
    _entry("b2014c9e-8711-4c5c-a5a9-3cf384484757", ["NTDS"], "NTDS", "Active Directory Domain Services"),
    _entry("2707761b-2324-473d-88eb-eb007a359533", ["DFS Replication service writer"], "DFSR", "DFS Replication"),
    _entry("d76f5a28-3092-4589-ba48-2958fb88ce29", ["FRS Writer"], "NtFrs", "File Replication"),
    _entry("41e12264-35d8-479b-8e5c-9b23d1dad37e", ["Cluster Database"], "ClusSvc", "Cluster Service"),
    _entry(
        "76fe1ac4-15f7-4bcd-987e-8e1acb462fb7",
        ["Microsoft Exchange Writer"],
        "MSExchangeIS",
        "Microsoft Exchange Information Store",
    ),
    # no public source gives this writer's id: found by its name
    _entry(None, ["Microsoft Exchange Replica Writer"], "MSExchangeRepl", "Microsoft Exchange Replication Service"),
    _entry("be9ac81e-3619-421f-920f-4c6fea9e93ad", ["Dhcp Jet Writer"], "DHCPServer", "DHCP Server"),
    _entry("12ce4370-5bb7-4c58-a76a-e5d5097e3674", ["FSRM Writer"], "srmsvc", "File Server Resource Manager"),
    _entry(
        "6f5b15b5-da24-4d88-b737-63063e3a1f86",
        ["Certificate Authority"],
        "CertSvc",
        "Active Directory Certificate Services",
    ),
    _entry("35e81631-13e1-48db-97fc-d5bc721bb18a", ["NPS VSS Writer"], "EventSystem", "COM+ Event System"),
    _entry(
        "5382579c-98df-47a7-ac6c-98a6d7106e09", ["TermServLicensing"], "TermServLicensing", "Remote Desktop Licensing"
    ),
    _entry(
        "82cb5521-68db-4626-83a4-7fc6f88853e9", ["WDS VSS Writer"], "WDSServer", "Windows Deployment Services Server"
    ),
    _entry("8d5194e1-e455-434a-b2e5-51296cce67df", ["WIDWriter"], "WIDWriter", "Windows Internal Database VSS Writer"),
    _entry("f08c1483-8407-4a26-8c26-6c267a629741", ["WINS Jet Writer"], "WINS", "Windows Internet Name Service (WINS)"),
    _entry("7e47b561-971a-46e6-96b9-696eeaa53b2a", ["MSMQ Writer (MSMQ)"], "MSMQ", "Message Queuing"),
)

_TRANSIENT = "this is often transient: wait ten minutes and run the backup again (Microsoft advises up to three tries)"

#: HRESULT -> (symbol, what it usually means, what to do).
HRESULTS: Dict[int, tuple] = {
    0x800423F0: (
        "VSS_E_WRITERERROR_INCONSISTENTSNAPSHOT",
        "the shadow copy holds only some of the volumes the writer needs to back up its data consistently",
        "snapshot every volume that holds the writer's files (for a VM: configuration, disks and checkpoints)",
    ),
    0x800423F1: (
        "VSS_E_WRITERERROR_OUTOFRESOURCES",
        "the writer ran out of memory or other system resources",
        _TRANSIENT,
    ),
    0x800423F2: (
        "VSS_E_WRITERERROR_TIMEOUT",
        "the writer timed out between the Freeze and Thaw events: it could not finish its work while writes were"
        " held, which heavy disk I/O during the snapshot causes",
        _TRANSIENT + ", at a quieter time",
    ),
    0x800423F3: (
        "VSS_E_WRITERERROR_RETRYABLE",
        "the writer hit a transient error that a new backup would likely not meet again",
        _TRANSIENT,
    ),
    0x800423F4: (
        "VSS_E_WRITERERROR_NONRETRYABLE",
        "the writer hit an error that will likely happen again on the next shadow copy",
        "read the writer's events in the Application log (source VSS and the writer's application) and fix that"
        " cause; restarting the hosting service clears the state, not the cause",
    ),
    0x80042313: (
        "VSS_E_FLUSH_WRITES_TIMEOUT",
        "Windows could not flush the volumes' pending writes in time for the snapshot",
        _TRANSIENT + ", when the volumes are less busy",
    ),
    0x80042314: (
        "VSS_E_HOLD_WRITES_TIMEOUT",
        "Windows could not hold the volumes' writes for the snapshot within the 10 seconds VSS allows",
        _TRANSIENT + ", when the volumes are less busy (fewer volumes in one shadow set also helps)",
    ),
    0x80042306: (
        "VSS_E_PROVIDER_VETO",
        "the shadow copy provider refused the snapshot; the System and Application event logs name the reason"
        " (often another backup product's snapshot still running, or a third-party provider's error)",
        "check `vssadmin list providers` and the event logs, make sure no other backup runs at the same time, "
        + _TRANSIENT,
    ),
    0x8004230F: (
        "VSS_E_UNEXPECTED_PROVIDER_ERROR",
        "the shadow copy provider failed with an unexpected error",
        "check `vssadmin list providers` and the System and Application event logs; " + _TRANSIENT,
    ),
    0x8004231F: (
        "VSS_E_INSUFFICIENT_STORAGE",
        "a volume has too little free space for the shadow copy's difference area",
        "free space on the snapshotted volumes or give them more shadow storage (`vssadmin list shadowstorage`,"
        " `vssadmin resize shadowstorage`), then run the backup again",
    ),
}

_BY_SYMBOL = {symbol: code for code, (symbol, _m, _a) in HRESULTS.items()}

#: Last-error texts of ``vssadmin list writers`` (English hosts) -> HRESULT.
_LAST_ERRORS = {
    "inconsistent shadow copy": 0x800423F0,
    "out of resources": 0x800423F1,
    "timed out": 0x800423F2,
    "retryable error": 0x800423F3,
    "non-retryable error": 0x800423F4,
}
#: Texts that mean "no error" (vssadmin in English, German, French; diskshadow's S_OK).
_NO_ERROR = ("no error", "kein fehler", "aucune erreur", "0x00000000", "s_ok")

_CODE = re.compile(r"(?<![0-9A-Fa-f])(?:0x)?(8004[0-9A-Fa-f]{4})(?![0-9A-Fa-f])")
_SYMBOL = re.compile(r"\bVSS_E_[A-Z_]+\b")
_GUID = re.compile(r"^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$")


def _guid(value: Any) -> Optional[str]:
    match = _GUID.match(str(value or "").strip())
    return match.group(1).lower() if match else None


def hosting_service(writer_id: Any = None, name: Any = None) -> Optional[Dict[str, str]]:
    """The service hosting a writer, as ``{"service", "display_name"}``, or None when the table does not know it.

    Found by id; a name-only entry whose name matches wins over the id (writers that share an id whose source
    only names them); else by name.
    """
    wanted_id = _guid(writer_id)
    wanted_name = str(name or "").strip().casefold()
    by_id = [e for e in WRITER_SERVICES if wanted_id and e["id"] == wanted_id]
    by_name = [e for e in WRITER_SERVICES if wanted_name and wanted_name in (n.casefold() for n in e["names"])]
    both = [e for e in by_id if e in by_name]
    chosen = (both or [e for e in by_name if e["id"] is None] or by_id or by_name or [None])[0]
    if chosen is None:
        return None
    return {"service": chosen["service"], "display_name": chosen["display_name"]}


def explain_error(text: Any) -> Optional[Dict[str, str]]:
    """What a writer's last error or a diskshadow error usually means and what to do about it.

    Takes vssadmin's English last-error text (``Timed out``), diskshadow's failure code (``0x800423f2
    (VSS_E_WRITERERROR_TIMEOUT)``), an HRESULT as diskshadow prints it (``80042306``) or a ``VSS_E_*`` symbol.
    The number wins over the symbol. Returns ``{"code", "symbol", "meaning", "action"}`` (code as ``0x8004xxxx``),
    or None for no error and for what the table does not know.
    """
    if text is None:
        return None
    value = str(text).strip()
    if not value or any(value.casefold().startswith(word) for word in _NO_ERROR):
        return None
    code = None
    for match in _CODE.finditer(value):
        if int(match.group(1), 16) in HRESULTS:
            code = int(match.group(1), 16)
            break
    if code is None:
        symbol = _SYMBOL.search(value.upper())
        code = _BY_SYMBOL.get(symbol.group(0)) if symbol else None
    if code is None:
        code = _LAST_ERRORS.get(value.casefold().rstrip("."))
    if code is None:
        return None
    symbol, meaning, action = HRESULTS[code]
    return {"code": f"0x{code:08X}", "symbol": symbol, "meaning": meaning, "action": action}


_PHASES = {
    2: "freeze",
    3: "thaw",
    4: "post-snapshot",
    5: "backup complete",
    6: "identify",
    7: "prepare backup",
    8: "prepare snapshot",
    9: "freeze",
    10: "thaw",
    11: "post-snapshot",
    12: "backup complete",
    13: "pre-restore",
    14: "post-restore",
    15: "backup shutdown",
}


def _kind(state: Optional[int]) -> str:
    if state is not None and 6 <= state <= 15:
        return "failed"
    if state is not None and 2 <= state <= 5:
        return "waiting"
    if state == 1:
        return "stable"
    return "unstable"


def explain_state(state: Optional[int]) -> str:
    """What a VSS_WRITER_STATE number means for the next backup, in one sentence."""
    kind = _kind(state)
    if kind == "stable":
        return "stable: ready for a backup"
    if kind == "failed":
        return (
            f"failed at {_PHASES[state]} during the last backup or snapshot: it stays failed until it is reset,"
            " which restarting the service that hosts it usually does"
        )
    if kind == "waiting":
        return (
            f"waiting for {_PHASES[state]}: a backup is in progress (another backup product, or a job that never"
            " finished); if none is running, the writer is stuck"
        )
    return "unstable: the writer reports no usable state (it did not answer, or its state is unknown)"


def _remedy(name: str, writer_id: Optional[str], service: Optional[Mapping[str, str]], kind: str) -> str:
    check = f"then `vssadmin list writers` must show '{name}' as [1] Stable"
    if kind == "missing":
        if service:
            return (
                f"start the {service['display_name']} service ({service['service']}) or restart it"
                f" (`Restart-Service -Name {service['service']}`), {check}; if the writer is still not listed,"
                " check that its role or application is installed"
            )
        return f"start the service or application that provides '{name}', {check}"
    prefix = "if no backup is running on the host, " if kind == "waiting" else ""
    if service:
        return (
            f"{prefix}restart the {service['display_name']} service ({service['service']}) on the host"
            f" (`Restart-Service -Name {service['service']}`), {check}; if it does not come back Stable,"
            " restart the host"
        )
    return (
        f"{prefix}restart the service or application that hosts '{name}'"
        + (f" (writer id {{{writer_id}}})" if writer_id else "")
        + f", {check}; if it does not come back Stable, restart the host"
    )


def writer_problem(writer: Mapping[str, Any], found_by: str = "preflight") -> Dict[str, Any]:
    """One writer of :func:`.writers.parse_writers` as a problem record with its service and remedy.

    Keys: ``name``, ``id``, ``state``, ``state_name``, ``last_error``, ``problem`` (``failed``, ``waiting``,
    ``unstable`` or ``missing``), ``service`` and ``service_display_name`` (None when unknown), ``explanation``,
    ``remedy`` and ``found_by`` (``preflight`` or ``job``).
    """
    name = str(writer.get("name") or "unnamed writer")
    writer_id = _guid(writer.get("id"))
    state = writer.get("state")
    kind = str(writer.get("problem") or _kind(state))
    service = hosting_service(writer_id, name)
    if kind == "missing":
        explanation = "not listed by `vssadmin list writers`: the writer is not registered, or its service is stopped"
    else:
        explanation = explain_state(state)
    error = explain_error(writer.get("last_error"))
    if error:
        explanation += f"; last error {error['symbol']} ({error['code']}): {error['meaning']}"
    remedy = _remedy(name, writer_id, service, kind)
    if error:
        remedy += f"; about the last error: {error['action']}"
    return {
        "name": name,
        "id": writer_id,
        "state": state,
        "state_name": writer.get("state_name") or state_name(state),
        "last_error": writer.get("last_error"),
        "problem": kind,
        "service": service["service"] if service else None,
        "service_display_name": service["display_name"] if service else None,
        "explanation": explanation,
        "remedy": remedy,
        "found_by": found_by,
    }


def writer_problems(writers: Iterable[Mapping[str, Any]], found_by: str = "preflight") -> List[Dict[str, Any]]:
    """A problem record (:func:`writer_problem`) for each listed writer that is not stable.

    A stable writer is ready even when vssadmin still shows the last error of an earlier backup; a writer whose
    state was not printed is left out (nothing is known of it).
    """
    return [writer_problem(w, found_by) for w in writers if w.get("state") is not None and w.get("state") != 1]


def missing_writer(writer_id: str, name: str, found_by: str = "preflight") -> Dict[str, Any]:
    """The problem record of a writer that ``vssadmin list writers`` does not list."""
    return writer_problem(
        {"name": name, "id": writer_id, "state": None, "last_error": None, "problem": "missing"}, found_by
    )


def job_problem(writer_before: Optional[Mapping[str, Any]], error_text: Any) -> Dict[str, Any]:
    """The Hyper-V writer's problem when a backup job left it out of the snapshot.

    ``writer_before`` is its preflight record (state before the job; None when it was not listed);
    ``error_text`` is what diskshadow printed (``VSS_E_... (HRESULT 8004xxxx)``), or None.
    """
    before = dict(writer_before or {})
    record = writer_problem(
        {
            "name": HYPERV_WRITER_NAME,
            "id": HYPERV_WRITER_ID,
            "state": before.get("state"),
            "state_name": before.get("state_name"),
            "last_error": error_text if error_text else before.get("last_error"),
            "problem": "failed",
        },
        "job",
    )
    record["explanation"] = "the backup job's snapshot went without the writer (diskshadow excluded it" + (
        f" or failed: {error_text})" if error_text else ")"
    )
    error = explain_error(error_text)
    if error:
        record["explanation"] += f"; {error['symbol']} ({error['code']}): {error['meaning']}"
    return record


def problem_line(problem: Mapping[str, Any]) -> str:
    """A problem record as one line for a message or a warning: writer, state, last error, remedy."""
    if problem.get("problem") == "missing":
        what = f"VSS writer '{problem.get('name')}' is not listed by `vssadmin list writers`"
    else:
        what = f"VSS writer '{problem.get('name')}' is in state {problem.get('state')} ({problem.get('state_name')})"
        if problem.get("last_error"):
            what += f", last error: {problem['last_error']}"
    return f"{what}: {problem.get('remedy')}"


def listing_problems(writers: Iterable[Mapping[str, Any]], need_hyperv: bool) -> List[Dict[str, Any]]:
    """The problems of a preflight's writer listing: every writer that is not stable, and, when VMs are to be
    backed up, the Hyper-V writer if it is not listed (first)."""
    writers = list(writers)
    problems = writer_problems(writers)
    if need_hyperv and not any(_guid(w.get("id")) == HYPERV_WRITER_ID for w in writers):
        problems.insert(0, missing_writer(HYPERV_WRITER_ID, HYPERV_WRITER_NAME))
    return problems


def job_problems(writer: Mapping[str, Any], required: bool, diskshadow_errors: Iterable[Mapping[str, Any]]) -> list:
    """The writer problems a finished job shows: the Hyper-V writer left out of a snapshot that needed it.

    ``writer`` is the analysis' writer record (the preflight state plus ``included``); ``diskshadow_errors``
    the errors of the transcript (``text``, ``hresult``), the first of which is the reason given.
    """
    if writer.get("included") is not False or not required:
        return []
    first = next(iter(diskshadow_errors or []), None)
    error = f"{first.get('text')} (HRESULT {first.get('hresult')})" if first else None
    return [job_problem(writer if writer.get("state") is not None else None, error)]


def error_hint(text: Any) -> str:
    """``"; VSS_E_X (0x...): meaning; action"`` for a diskshadow error the table knows, else ``""``."""
    explained = explain_error(text)
    if not explained:
        return ""
    return f"; {explained['symbol']} ({explained['code']}): {explained['meaning']}; {explained['action']}"
