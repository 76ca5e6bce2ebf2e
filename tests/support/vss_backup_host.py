"""A Hyper-V host for the win_vss_backup tests: what each payload answers, in the real formats.

The host HV01 has two VMs: web01 on D: (a volume with a drive letter) and db01 on a volume that has
no drive letter (GUID path only, mounted on the folder C:\\Mounts\\Fast). The destination is
E:\\Backups. The builders below return win_powershell results (``scripted_host.ok``) for the payload
calls of one task run; tests put them together into a scenario for :class:`ScriptedHost`.

Text outputs (vssadmin, diskshadow) are fixture files in ``tests/unit/fixtures/win_vss_backup``;
robocopy's /UNILOG blocks are produced by :func:`robocopy_block` in robocopy's layout.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import json
import pathlib
import re
from typing import Any, Dict, List, Mapping, Optional

from ansible_collections.vaware.hyperv.tests.support.fake_clock import FakeClock
from ansible_collections.vaware.hyperv.tests.support.scripted_host import ok

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "unit" / "fixtures" / "win_vss_backup"

NOW = datetime.datetime(2026, 11, 25, 2, 0, 0, tzinfo=datetime.timezone.utc)
JOB_ID = "20261125T020000Z-0123abcd"
GENERATION = "20261125T020000Z"
JOBS_ROOT = "C:\\ProgramData\\vaware.hyperv\\jobs"
JOB_DIR = JOBS_ROOT + "\\" + JOB_ID
DESTINATION = "E:\\Backups"
HOST_PATH = DESTINATION + "\\HV01"
GENERATION_PATH = HOST_PATH + "\\" + GENERATION
SET_ID = "5e5e5e5e-0000-4000-8000-00000000005e"
SHADOW_D = "1a1a1a1a-0000-4000-8000-000000000001"
SHADOW_FAST = "2b2b2b2b-0000-4000-8000-000000000002"

GUID_C = "{0c0c0c0c-1111-2222-3333-444444444444}"
GUID_D = "{6cd5140b-0000-0000-0000-602200000000}"
GUID_FAST = "{aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee}"
GUID_E = "{e1e1e1e1-0000-4000-8000-000000000001}"

GIB = 1024**3
WEB01_ID = "5f3c0c4e-1b2a-4c3d-9e8f-0a1b2c3d4e5f"
DB01_ID = "77aa0000-0000-4000-8000-000000000077"
# (VM, path on the host, size, path below the VM's backup folder)
FILES = [
    (
        "web01",
        f"D:\\Hyper-V\\web01\\Virtual Machines\\{WEB01_ID.upper()}.vmcx",
        65536,
        f"Virtual Machines\\{WEB01_ID.upper()}.vmcx",
    ),
    (
        "web01",
        f"D:\\Hyper-V\\web01\\Virtual Machines\\{WEB01_ID.upper()}.vmgs",
        1048576,
        f"Virtual Machines\\{WEB01_ID.upper()}.vmgs",
    ),
    ("web01", "D:\\Hyper-V\\web01\\Virtual Hard Disks\\web01.vhdx", 40 * GIB, "Virtual Hard Disks\\web01.vhdx"),
    (
        "db01",
        f"C:\\Mounts\\Fast\\db01\\Virtual Machines\\{DB01_ID.upper()}.vmcx",
        53248,
        f"Virtual Machines\\{DB01_ID.upper()}.vmcx",
    ),
    ("db01", "C:\\Mounts\\Fast\\db01\\Virtual Hard Disks\\db01.vhdx", 20 * GIB, "Virtual Hard Disks\\db01.vhdx"),
]
TOTAL_BYTES = sum(f[2] for f in FILES)
# Steps of the plan, in plan order: one per VM folder, each run in a "large" and a "small" pass.
STEPS = [
    ("s001", "web01", "VAWVOL1", "Hyper-V\\web01\\Virtual Machines", "Virtual Machines"),
    ("s002", "web01", "VAWVOL1", "Hyper-V\\web01\\Virtual Hard Disks", "Virtual Hard Disks"),
    ("s003", "db01", "VAWVOL2", "db01\\Virtual Machines", "Virtual Machines"),
    ("s004", "db01", "VAWVOL2", "db01\\Virtual Hard Disks", "Virtual Hard Disks"),
]
LARGE = GIB  # unbuffered_min_size default


def fixture(name: str) -> str:
    # Stored with LF (the sanity line-endings rule); the Windows tools write CRLF, so the host does too.
    return (FIXTURES / name).read_text(encoding="utf-8").replace("\n", "\r\n")


def transcript(name: str, job_dir: str = JOB_DIR) -> str:
    return fixture(name).format(job_dir=job_dir)


# ---------------------------------------------------------------------------------------- preflight


def _volume(guid, letter, name, capacity, free, label):
    return {
        "DeviceID": f"\\\\?\\Volume{guid}\\",
        "Name": name,
        "DriveLetter": letter,
        "Label": label,
        "FileSystem": "NTFS",
        "Capacity": capacity,
        "FreeSpace": free,
        "BlockSize": 4096,
        "DriveType": 3,
        "SerialNumber": 1234567,
        "SystemVolume": False,
        "BootVolume": letter == "C:",
        "PageFilePresent": False,
    }


def vm(name: str, vm_id: str, state: str = "Running") -> Dict[str, Any]:
    config = [{"path": p, "size": s} for n, p, s, _rel in FILES if n == name and "Virtual Machines" in p]
    disks = [{"path": p, "size": s} for n, p, s, _rel in FILES if n == name and p.endswith(".vhdx")]
    return {
        "name": name,
        "id": vm_id,
        "state": state,
        "config_paths": config,
        "checkpoint_paths": [],
        "vhd_paths": disks,
    }


def manifest_of(generation: str, status: str = "complete") -> Dict[str, Any]:
    """A minimal valid manifest of an earlier generation."""
    stamp = datetime.datetime.strptime(generation, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    return {
        "format": 1,
        "host": "HV01",
        "generation": generation,
        "job_id": generation + "-00000000",
        "started_at": stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "finished_at": (stamp + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "backup_type": "copy",
        "verify": "size",
        "destination": HOST_PATH + "\\" + generation,
        "status": status,
        "error": None,
        "shadow_set_id": None,
        "shadows": [],
        "writer": {
            "id": "66841cd4-6ded-4f4b-8f17-fd23f8ddc3de",
            "name": "Microsoft Hyper-V VSS Writer",
            "required": True,
            "included": True,
            "state": 1,
            "state_name": "VSS_WS_STABLE",
            "last_error": None,
            "excluded_components": [],
        },
        "vms": [
            {
                "name": "web01",
                "id": WEB01_ID,
                "state": "Running",
                "status": "complete",
                "bytes": 40 * GIB,
                "file_count": 1,
                "seconds": 100.0,
                "files": [
                    {
                        "relative_path": "Virtual Hard Disks\\web01.vhdx",
                        "original_path": "D:\\Hyper-V\\web01\\Virtual Hard Disks\\web01.vhdx",
                        "kind": "vhd",
                        "size": 40 * GIB,
                    }
                ],
                "exit_codes": {"s001": 1},
                "problems": [],
            }
        ],
        "extra_paths": [],
        "robocopy": {
            "runs": [{"step": "s001", "pass": "all", "code": 1}],
            "wrapper_exit_code": 0,
            "summary": None,
            "error_count": 0,
        },
        "warnings": [],
    }


DEFAULT_GENERATIONS = ["20261123T020000Z", "20261124T020000Z"]


def generation_list(generations: Optional[List[str]] = None) -> List[Dict[str, Any]]:
    """The host's generation folders with their manifests, as ``Get-GenerationList`` returns them."""
    return [
        {"name": g, "path": HOST_PATH + "\\" + g, "created": "", "manifest": manifest_of(g)}
        for g in (generations if generations is not None else DEFAULT_GENERATIONS)
    ]


def preflight(
    *,
    vms: Optional[List[Dict[str, Any]]] = None,
    free_bytes: int = 2000 * GIB,
    generations: Optional[List[str]] = None,
    reachable: bool = True,
    lock: Optional[Dict[str, Any]] = None,
    lock_written_at: Any = "old",
    jobs: Optional[List[Dict[str, Any]]] = None,
    shadows: Optional[List[Dict[str, Any]]] = None,
    writers: str = "vssadmin_writers_ok.txt",
) -> Dict[str, Any]:
    """The preflight payload's answer for HV01 (override what a scenario changes).

    ``reachable=False``: the destination cannot be read from the WinRM session (a share without
    credential delegation): no free space and no generations, as the payload reports it then.
    """
    if vms is None:
        vms = [vm("web01", WEB01_ID), vm("db01", DB01_ID, "Off")]
    gens = generation_list(generations)
    destination: Dict[str, Any] = {
        "path": DESTINATION,
        "reachable": True,
        "error": None,
        "free_bytes": free_bytes,
        "total_bytes": 4000 * GIB,
        "generations": gens,
    }
    if not reachable:
        destination = {
            "path": DESTINATION,
            "reachable": False,
            "error": "neither the folder nor any parent of it exists or can be read",
            "free_bytes": None,
            "generations": [],
        }
    return ok(
        {
            "computer_name": "HV01",
            "program_data": "C:\\ProgramData",
            "is_admin": True,
            "user": "CORP\\ansible",
            "now": "2026-11-25T02:00:00.0000000Z",
            "tools": {
                "diskshadow.exe": "C:\\Windows\\system32\\diskshadow.exe",
                "robocopy.exe": "C:\\Windows\\system32\\Robocopy.exe",
                "vssadmin.exe": "C:\\Windows\\system32\\vssadmin.exe",
            },
            "hyperv": {"module": True, "cim": True, "error": None},
            "vms": vms,
            "volumes": [
                _volume(GUID_C, "C:", "C:\\", 200 * GIB, 80 * GIB, "OS"),
                _volume(GUID_D, "D:", "D:\\", 1000 * GIB, 400 * GIB, "VMs"),
                _volume(GUID_FAST, None, "C:\\Mounts\\Fast\\", 500 * GIB, 300 * GIB, "Fast"),
                _volume(GUID_E, "E:", "E:\\", 4000 * GIB, free_bytes, "Backup"),
            ],
            "mount_points": [
                {"Directory": "C:\\", "Volume": f"\\\\?\\Volume{GUID_C}\\"},
                {"Directory": "D:\\", "Volume": f"\\\\?\\Volume{GUID_D}\\"},
                {"Directory": "C:\\Mounts\\Fast\\", "Volume": f"\\\\?\\Volume{GUID_FAST}\\"},
                {"Directory": "E:\\", "Volume": f"\\\\?\\Volume{GUID_E}\\"},
            ],
            "writers_text": fixture(writers),
            "writers_exit": 0,
            "writers_error": None,
            "destination": destination,
            "lock": lock,
            # the lock file's write time by the host's clock (a dead job's lock: hours before "now")
            "lock_written_at": None
            if lock is None
            else ("2026-11-20T02:00:01.0000000Z" if lock_written_at == "old" else lock_written_at),
            "jobs": jobs or [],
            "shadows": shadows or [],
        }
    )


def job_entry(
    job_id: str, *, alive: bool, phase: str = "diskshadow", transcript_text: Optional[str] = None, **status: Any
) -> Dict[str, Any]:
    """One job folder as preflight lists it."""
    job_dir = JOBS_ROOT + "\\" + job_id
    return {
        "job_id": job_id,
        "path": job_dir,
        "status": {"job_id": job_id, "phase": phase, "pid": 4242, "outcome": "running", **status},
        "task_state": "Running" if alive else "Ready",
        "runner_alive": alive,
        "transcript": transcript_text,
        "mount_folders": [
            {"path": job_dir + "\\mnt\\VAWVOL1", "reparse_point": not alive},
            {"path": job_dir + "\\mnt\\VAWVOL2", "reparse_point": False},
        ],
    }


# ------------------------------------------------------------------------------------------- status


def status(phase: str, *, job_id: str = JOB_ID, alive: bool = True, **fields: Any) -> Dict[str, Any]:
    """The poll payload's answer while the runner is in ``phase``."""
    body = {
        "job_id": job_id,
        "phase": phase,
        "outcome": "running" if phase != "done" else fields.pop("outcome", "finished"),
        "pid": 4242,
        "started_at": "2026-11-25T02:00:01.1234567Z",
        "vm_bytes": fields.pop("vm_bytes", {}),
        "bytes_copied": fields.pop("bytes_copied", 0),
        **fields,
    }
    return ok(
        {
            "job_id": job_id,
            "job_dir_exists": True,
            "status": body,
            "runner_alive": alive,
            "task_state": "Running" if alive else "Ready",
            "lock_job_id": job_id if alive else None,
            "cancel_requested": False,
            "now": "2026-11-25T02:10:00Z",
        }
    )


def final_status(**fields: Any) -> Dict[str, Any]:
    """The runner's status.json after it finished (as the poll payload returns it)."""
    base = {
        "manifest_written": True,
        "shadows_deleted": [],
        "shadow_set_ids": ["{" + SET_ID + "}"],
        "expired_deleted": [],
        "finished_at": "2026-11-25T03:00:00.0000000Z",
    }
    base.update(fields)
    return status("done", alive=False, **base)


# ------------------------------------------------------------------------------------------ collect


def robocopy_block(
    source: str,
    dest: str,
    files: List[tuple],
    *,
    failed: Optional[tuple] = None,
    fatal: Optional[str] = None,
    excluded: List[tuple] = (),
) -> str:
    """One robocopy run as /UNILOG+ records it (/BYTES /NP), ``files`` = [(name, size)].

    ``excluded``: files of the step this pass's /MIN or /MAX left out, which robocopy may still count in
    the Total column (as Skipped).
    """
    lines = [
        "",
        "-------------------------------------------------------------------------------",
        "   ROBOCOPY     ::     Robust File Copy for Windows                              ",
        "-------------------------------------------------------------------------------",
        "",
        "  Started : Wednesday, November 25, 2026 2:00:15 AM",
        f"   Source : {source}\\",
        f"     Dest : {dest}\\",
        "",
        "    Files : " + (" ".join(n for n, _size in files) or "*.*"),
        "",
        "  Options : /DCOPY:T /COPY:DAT /B /NP /BYTES /XJ /MT:8 /R:2 /W:30 ",
        "",
        "------------------------------------------------------------------------------",
        "",
    ]
    if fatal:
        lines += [
            f"2026/11/25 02:00:15 ERROR 5 (0x00000005) Accessing Source Directory {source}\\",
            fatal,
            "",
        ]
        return "\r\n".join(lines) + "\r\n"
    lines.append(f"\t  New Dir          {len(files)}\t{source}\\")
    copied = 0
    for name, size in files:
        if failed and failed[0] == name:
            lines.append(f"\t    New File  \t\t{size}\t{name}")
            lines.append(f"2026/11/25 02:10:44 ERROR 32 (0x00000020) Copying File {source}\\{name}")
            lines.append(failed[1])
            lines.append("")
            continue
        lines.append(f"\t    New File  \t\t{size}\t{name}")
        copied += size
    total = sum(s for _name, s in files)
    nfail = 1 if failed else 0
    fail_bytes = total - copied
    skipped = sum(s for _name, s in excluded)
    total += skipped
    lines += [
        "",
        "------------------------------------------------------------------------------",
        "",
        "               Total    Copied   Skipped  Mismatch    FAILED    Extras",
        "    Dirs :         1         1         0         0         0         0",
        f"   Files :         {len(files) + len(excluded)}         {len(files) - nfail}         {len(excluded)}"
        f"         0         {nfail}         0",
        f"   Bytes : {total} {copied}         {skipped}         0         {fail_bytes}         0",
        "   Times :   0:01:00   0:01:00                       0:00:00   0:00:00",
        "",
        "",
        f"   Speed :           {400000000 if copied else 0} Bytes/sec.",
        f"   Speed :           {22888.184 if copied else 0} MegaBytes/min.",
        "   Ended : Wednesday, November 25, 2026 2:01:15 AM",
        "",
    ]
    return "\r\n".join(lines) + "\r\n"


def copy_outputs(
    *, fail_step: Optional[str] = None, fail_code: int = 8, job_dir: str = JOB_DIR, counts_excluded: bool = False
) -> Dict[str, str]:
    """robocopy.log and the exit code file of the copy wrapper; ``fail_step`` fails with ``fail_code``;
    ``counts_excluded``: each pass counts the files the other pass copies in its Total (as Skipped)."""
    mounts = {"VAWVOL1": job_dir + "\\mnt\\VAWVOL1", "VAWVOL2": job_dir + "\\mnt\\VAWVOL2"}
    log = []
    codes = [f"begin {JOB_ID}"]
    for step, vm_name, alias, rel_dir, dest_rel in STEPS:
        source = mounts[alias] + "\\" + rel_dir
        dest = GENERATION_PATH + "\\" + vm_name + "\\" + dest_rel
        step_files = [
            (p.rsplit("\\", 1)[1], s) for n, p, s, r in FILES if n == vm_name and r.startswith(dest_rel + "\\")
        ]
        for pass_name, chosen in (
            ("large", [f for f in step_files if f[1] >= LARGE]),
            ("small", [f for f in step_files if f[1] < LARGE]),
        ):
            if step == fail_step and chosen and fail_code >= 16:
                log.append(robocopy_block(source, dest, chosen, fatal="Access is denied."))
                codes.append(f"{step} {pass_name} {fail_code}")
                continue
            if step == fail_step and chosen:
                log.append(
                    robocopy_block(
                        source,
                        dest,
                        chosen,
                        failed=(
                            chosen[-1][0],
                            "The process cannot access the file because it is being used by another process.",
                        ),
                    )
                )
                codes.append(f"{step} {pass_name} {fail_code}")
                continue
            others = [f for f in step_files if f not in chosen] if counts_excluded else []
            log.append(robocopy_block(source, dest, chosen, excluded=others))
            codes.append(f"{step} {pass_name} {1 if chosen else 0}")
    codes.append(f"end {1 if fail_step else 0}")
    return {"robocopy.log": "".join(log), "robocopy-exit-codes.txt": "\r\n".join(codes) + "\r\n"}


def digest(full: str) -> str:
    """The SHA-256 the scripted host reports for ``<vm>\\<relative path>`` (same at source and copy)."""
    return hashlib.sha256(full.encode("utf-8")).hexdigest()


def listing(
    *, missing: tuple = (), sizes: Optional[Dict[str, int]] = None, hashes: bool = False
) -> List[Dict[str, Any]]:
    """listing.json: the generation's files as the runner found them."""
    out = []
    for vm_name, _path, size, rel in FILES:
        full = vm_name + "\\" + rel
        if rel.rsplit("\\", 1)[1] in missing:
            continue
        entry = {"path": full, "size": (sizes or {}).get(full, size), "modified": "2026-11-25T02:30:00Z"}
        if hashes:
            entry["sha256"] = digest(full)
        out.append(entry)
    return out


def shadow_path(vm_name: str, rel: str, job_dir: str = JOB_DIR) -> str:
    """Where a VM file is in the exposed shadow copy (the copy wrapper hashes it there)."""
    for _step, name, alias, rel_dir, dest_rel in STEPS:
        if name == vm_name and rel.startswith(dest_rel + "\\"):
            return job_dir + "\\mnt\\" + alias + "\\" + rel_dir + "\\" + rel[len(dest_rel) + 1 :]
    raise KeyError(rel)


def source_hashes(
    *, changed: tuple = (), missing: tuple = (), denied: tuple = (), old_format: bool = False, job_dir: str = JOB_DIR
) -> str:
    """source-hashes.txt as the copy wrapper writes it with certutil's real output (``verify: hash``).

    File names in ``changed`` get a different digest than their copy, those in ``missing`` have no record,
    those in ``denied`` a certutil failure; ``old_format`` prints digests in byte pairs like older Windows.
    """
    lines = [f"begin {JOB_ID}"]
    for vm_name, _path, _size, rel in FILES:
        name = rel.rsplit("\\", 1)[1]
        if name in missing:
            continue
        path = shadow_path(vm_name, rel, job_dir)
        lines.append(f"vaware-file {path}")
        if name in denied:
            lines += [
                "CertUtil: -hashfile command FAILED: 0x80070005 (WIN32: 5 ERROR_ACCESS_DENIED)",
                "CertUtil: Access is denied.",
                "vaware-exit -2147024891",
            ]
            continue
        value = digest(vm_name + "\\" + rel + ("~changed" if name in changed else ""))
        if old_format:
            value = " ".join(value[i : i + 2] for i in range(0, 64, 2))
        lines += [
            f"SHA256 hash of {path}:" if not old_format else f"SHA256 hash of file {path}:",
            value,
            "CertUtil: -hashfile command completed successfully.",
            "vaware-exit 0",
        ]
    return "\r\n".join(lines) + "\r\n"


def source_sizes(
    *, sizes: Optional[Dict[str, int]] = None, unreadable: tuple = (), job_dir: str = JOB_DIR, cut_after: int = -1
) -> str:
    """source-sizes.txt as the copy wrapper writes it: each VM file's size in the shadow copy.

    ``sizes`` overrides sizes by ``<vm>\\<relative path>``; file names in ``unreadable`` get an empty size
    (cmd.exe printed none); ``cut_after`` >= 0 stops the file after that many records (wrapper stopped).
    """
    lines = [f"begin {JOB_ID}"]
    for index, (vm_name, _path, size, rel) in enumerate(FILES):
        if index == cut_after:
            break
        lines.append(f"vaware-file {shadow_path(vm_name, rel, job_dir)}")
        if rel.rsplit("\\", 1)[1] in unreadable:
            lines.append("vaware-size")
        else:
            lines.append(f"vaware-size {(sizes or {}).get(vm_name + chr(92) + rel, size)}")
    return "\r\n".join(lines) + "\r\n"


_DEFAULT = object()


def collect(
    *,
    status_fields: Optional[Dict[str, Any]] = None,
    transcript_name: str = "diskshadow_success.txt",
    copy: Optional[Dict[str, str]] = None,
    files: Optional[List[Dict[str, Any]]] = None,
    shadows: Optional[List[Dict[str, Any]]] = None,
    plan: Optional[Dict[str, Any]] = None,
    job_id: str = JOB_ID,
    verify: str = "size",
    stderr: str = "",
    hashes: Optional[str] = None,
    sizes: Any = _DEFAULT,
    generations: Any = _DEFAULT,
    generations_error: Optional[str] = None,
) -> Dict[str, Any]:
    """The collect payload's answer for a job whose copy is over (runner awaits the verdict).

    ``generations``: generations.json, the host's generations as the job account listed them
    (default: :func:`generation_list`; None: no such file); ``generations_error``: the listing failed.
    """
    copy = copy_outputs() if copy is None else copy
    st = {
        "job_id": job_id,
        "phase": "awaiting_verdict",
        "outcome": "running",
        "pid": 4242,
        "account": "NT AUTHORITY\\SYSTEM",
        "started_at": "2026-11-25T02:00:01.1234567Z",
        "error": None,
        "error_phase": None,
        "cancelled": False,
        "diskshadow_exit_code": 0,
        "shadow_set_ids": ["{" + SET_ID + "}"],
        "shadows_deleted": [],  # diskshadow's DELETE SHADOWS SET removed them; the runner found none left
        "shadow_delete_errors": [],
        "mount_folders_left": [],
        "listing_written": True,
    }
    st.update(status_fields or {})

    def entry(text):
        return None if text is None else {"size": len(text), "truncated": False, "text": text}

    if generations is _DEFAULT:
        generations = generations_json(error=generations_error)
    found = {
        "status.json": entry(json.dumps(st)),
        "generations.json": entry(None if generations is None else json.dumps(generations)),
        "listing.json": entry(json.dumps(listing() if files is None else files)),
        "diskshadow.err": entry(stderr),
        "diskshadow.log": entry(transcript(transcript_name, JOBS_ROOT + "\\" + job_id) if transcript_name else None),
        "robocopy.log": entry(copy.get("robocopy.log")),
        "robocopy-exit-codes.txt": entry(copy.get("robocopy-exit-codes.txt")),
        "source-hashes.txt": entry(hashes),
        # the wrapper records every planned VM file's size in the shadow copy; None: no such file
        "source-sizes.txt": entry(source_sizes(job_dir=JOBS_ROOT + "\\" + job_id) if sizes is _DEFAULT else sizes),
    }
    if plan is not None:
        found["plan.json"] = entry(json.dumps(plan))
        found["params.json"] = entry(json.dumps({"job_id": job_id, "verify": verify, "hash": verify == "hash"}))
    return ok({"job_id": job_id, "job_dir_exists": True, "files": found, "shadows": copy_list(shadows)})


def generations_json(
    listed: Optional[List[Dict[str, Any]]] = None, *, error: Optional[str] = None, account: str = "NT AUTHORITY\\SYSTEM"
) -> Dict[str, Any]:
    """generations.json as the runner writes it before the snapshot."""
    return {
        "host_path": HOST_PATH,
        "account": account,
        "error": error,
        "generations": [] if error else (generation_list() if listed is None else listed),
    }


def space_collect(
    *, generations: Optional[Dict[str, Any]] = None, free_bytes: int, job_id: str = JOB_ID
) -> Dict[str, Any]:
    """The collect payload's answer while the runner waits for space.json (status and generations only)."""
    st = {
        "job_id": job_id,
        "phase": "awaiting_space_verdict",
        "outcome": "running",
        "pid": 4242,
        "account": "NT AUTHORITY\\SYSTEM",
        "destination_free_bytes": free_bytes,
        "destination_total_bytes": 4000 * GIB,
        "required_bytes": TOTAL_BYTES,
    }
    found = {
        "status.json": {"size": 1, "truncated": False, "text": json.dumps(st)},
        "generations.json": {
            "size": 1,
            "truncated": False,
            "text": json.dumps(generations_json() if generations is None else generations),
        },
    }
    return ok({"job_id": job_id, "job_dir_exists": True, "files": found, "shadows": []})


def copy_list(value):
    return copy.deepcopy(value or [])


def shadow(shadow_id: str, set_id: str, exposed: Optional[str] = None, volume: str = GUID_D) -> Dict[str, Any]:
    """A Win32_ShadowCopy instance as the payloads list it.

    ``exposed``: the mount folder the shadow is exposed on. A locally exposed shadow names it in
    ``ExposedName``, the only property of Win32_ShadowCopy that names the place.
    """
    return {
        "id": "{" + shadow_id.upper() + "}",
        "set_id": "{" + set_id.upper() + "}",
        "volume_name": f"\\\\?\\Volume{volume}\\",
        "device_object": "\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy7",
        "exposed_name": exposed,
        "persistent": True,
        "install_date": "2026-11-20T02:00:09Z",
    }


def signal_ok(name: str = "verdict.json") -> Dict[str, Any]:
    return ok({"job_id": JOB_ID, "written": name}, changed=True)


def start_ok() -> Dict[str, Any]:
    return ok(
        {
            "job_id": JOB_ID,
            "job_dir": JOB_DIR,
            "task_name": "\\vaware.hyperv\\backup-" + JOB_ID,
            "task_state": "Running",
        },
        changed=True,
    )


def cleanup_ok(**fields: Any) -> Dict[str, Any]:
    body = {
        "shadows_deleted": [],
        "shadows_missing": [],
        "shadow_errors": [],
        "mount_folders_removed": [],
        "mount_folder_errors": [],
        "jobs_removed": [JOB_ID],
        "job_errors": [],
        "lock_released": False,
    }
    body.update(fields)
    return ok(body, changed=True)


# ---- shared by the files and restic tests of win_vss_backup --------------------------------------------------


def install_clock(monkeypatch, plugin) -> Any:
    """A fake clock for the action plugin module ``plugin``: polling is instant, NOW is the job's start, and every
    job gets JOB_ID."""
    fake = FakeClock(utc_start=NOW)
    monkeypatch.setattr(plugin, "monotonic", fake.monotonic)
    monkeypatch.setattr(plugin, "sleep", fake.sleep)
    monkeypatch.setattr(plugin, "utcnow", fake.utcnow)
    monkeypatch.setattr(plugin.BackupRun, "new_job_id", lambda self: JOB_ID)
    return fake


def assert_failure_safe(host: Any, result: Mapping[str, Any], cause: str) -> None:
    """The common promises of every failure: message names the cause, old generations untouched."""
    assert result["failed"] is True
    assert re.search(cause, result["msg"]), result["msg"]
    for call in host.calls_to("win_vss_backup_signal"):
        if call.parameters["Name"] == "verdict.json":
            assert json.loads(call.parameters["Text"])["delete_generations"] == []
    for call in host.calls_to("win_vss_backup_cleanup"):
        assert "delete_generations" not in json.dumps(call.parameters)
    assert result["expired"] == []
    # every shadow copy this job created is gone (deleted by the runner's finally or by the cleanup call)
    assert set(result["shadows_created"]) <= set(result["shadows_deleted"])
