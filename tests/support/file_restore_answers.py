"""Recorded win_powershell answers of a Hyper-V host for win_vm_file_restore tests (unit and playbook tests).

The shapes are those the payloads build (``plugins/payloads/win_vm_file_restore_*.ps1``); the generation and the
backup-file checks come from the win_vm_restore answers, whose manifests the backup engine itself builds.
"""

from __future__ import annotations

from ansible_collections.vaware.hyperv.tests.support import restore_answers
from ansible_collections.vaware.hyperv.tests.support import restore_samples as samples
from ansible_collections.vaware.hyperv.tests.support.scripted_host import ok

GEN = restore_answers.GEN
GEN_PATH = f"{samples.HOST_PATH}\\{GEN}"
WEB01_VHDX = f"{GEN_PATH}\\web01\\Virtual Hard Disks\\web01.vhdx"
TARGET = "E:\\Restore\\web01-files"
BASIC = "{ebd0a0a2-b9e5-4433-87c0-68b6b72699c7}"
MSR = "{e3c9e316-0b5c-4db8-817d-f92df00215ae}"


def generations(**kwargs):
    return restore_answers.generations(**kwargs)


def verified(*args, **kwargs):
    return restore_answers.verified(*args, **kwargs)


def disks(*entries):
    """The disks payload: ``entries`` are (path, parent) or path."""
    result = []
    for item in entries or (WEB01_VHDX,):
        path, parent = item if isinstance(item, tuple) else (item, "")
        result.append(
            {
                "path": path,
                "exists": True,
                "vhd_type": "Differencing" if parent else "Dynamic",
                "parent_path": parent or None,
                "attached": False,
                "error": None,
            }
        )
    return ok({"disks": result})


def partition(number, fs="NTFS", label="", *, windows=False, gpt_type=BASIC, kind="Basic", bitlocker=None):
    return {
        "partition_number": number,
        "type": kind,
        "gpt_type": gpt_type,
        "size": 40 * 2**30,
        "volume_path": None if fs is None else f"\\\\?\\Volume{{5a5a5a5a-0000-4000-8000-00000000000{number}}}\\",
        "file_system": fs,
        "label": label,
        "windows": windows,
        "bitlocker": bitlocker,
    }


def gen2_windows_disk():
    """A generation 2 Windows guest: EFI system (FAT32), MSR, Windows (C:), recovery."""
    return [
        partition(1, "FAT32", "", kind="System", gpt_type="{c12a7328-f81f-11d2-ba4b-00a0c93ec93b}"),
        partition(2, None, "", kind="Reserved", gpt_type=MSR),
        partition(3, "NTFS", "Windows", windows=True),
        partition(4, "NTFS", "Recovery", kind="Recovery", gpt_type="{de94bba4-06d1-4d40-a16a-bfd50179d6ac}"),
    ]


def mounts(*paths, dismounted=True, error=None):
    return [
        {
            "path": p,
            "record": f"C:\\ProgramData\\vaware.hyperv\\file-restore\\r-{i}.mount.json",
            "mounted": True,
            "dismounted": dismounted,
            "error": error,
        }
        for i, p in enumerate(paths)
    ]


def _mount_answer(action, mounted, *, swept=(), error=None, dismounted=True, dismount_error=None, **extra):
    answer = {
        "action": action,
        "swept": list(swept),
        "mounts": mounts(*mounted, dismounted=dismounted, error=dismount_error),
        "disks": [],
        "items": [],
        "copied": [],
        "error": error,
    }
    answer.update(extra)
    return ok(answer, changed=bool(answer["copied"]))


def volumes(layout=None, **kwargs):
    """The Volumes action: ``layout`` maps disk path to its partitions (default web01's Windows disk)."""
    layout = layout or {WEB01_VHDX: gen2_windows_disk()}
    found = [
        {
            "path": path,
            "disk_number": 3 + i,
            "offline": False,
            "offline_reason": "",
            "partition_style": "GPT",
            "partitions": parts,
        }
        for i, (path, parts) in enumerate(layout.items())
    ]
    return _mount_answer("Volumes", list(layout), disks=found, **kwargs)


def entry(name, *, folder=False, size=2048, modified="2026-11-20T10:11:12Z"):
    return {"name": name, "folder": folder, "size": None if folder else size, "modified": modified}


def item(path, *, exists=True, folder=False, children=(), error=None, size=2048):
    name = path.rsplit("\\", 1)[-1] if path else ""
    facts = (
        entry(name, folder=folder, size=size)
        if exists
        else {"name": None, "folder": False, "size": None, "modified": None}
    )
    return dict(facts, path=path, exists=exists, children=list(children), error=error)


def listed(*items, disk=WEB01_VHDX, **kwargs):
    return _mount_answer("List", [disk], items=list(items), **kwargs)


def copied(*codes, disk=WEB01_VHDX, **kwargs):
    """The Copy action: ``codes`` are (source, destination, robocopy exit code)."""
    return _mount_answer(
        "Copy", [disk], copied=[{"source": s, "destination": d, "code": c} for s, d, c in codes], **kwargs
    )


def targets(files=(), folders=(), existing=()):
    """The verify payload asked whether the copies' destinations exist."""
    return ok(
        {
            "files": [
                {"path": p, "exists": p in existing, "size": 1 if p in existing else None, "sha256": None}
                for p in files
            ],
            "folders": [{"path": p, "exists": p in existing, "entries": 0} for p in folders],
        }
    )


def wwwroot():
    return item(
        "inetpub\\wwwroot",
        folder=True,
        children=[entry("web.config", size=2048), entry("bin", folder=True), entry("index.html", size=512)],
    )


# ---- the detached copy job ------------------------------------------------------------------------------


def started(job_id="0123456789abcdef"):
    folder = "C:\\ProgramData\\vaware.hyperv\\file-restore\\jobs\\" + job_id
    task = "\\vaware.hyperv\\file-restore-" + job_id
    return ok({"job_id": job_id, "job_dir": folder, "task_name": task, "task_state": "Running"}, changed=True)


def job_status(state="running", result=None, *, alive=True, task_state="Running", error=None, last_result=267009):
    """The status payload: ``result`` is the mount payload's answer the job recorded (an ``ok()`` of it)."""
    status = None
    if state is not None:
        status = {
            "state": state,
            "pid": 4242,
            "pid_started_ticks": 639000000000000000,
            "started_at": "2026-12-03T10:00:00.0000000Z",
            "finished_at": None if state == "running" else "2026-12-03T10:05:00.0000000Z",
            "result": result["result"] if result is not None else None,
            "error": error,
        }
    return ok({"job_id": "x", "job_dir_exists": True, "status": status, "runner_alive": alive,
               "task_state": task_state, "task_last_result": last_result})  # fmt: skip


def cleaned(*swept):
    return ok({"task_removed": True, "job_dir_removed": True, "swept": list(swept)}, changed=True)


def copy_job(copy_answer, *, polls=1):
    """Scenario entries of a copy job that runs ``polls`` polls and then records ``copy_answer``."""
    return {
        "win_vm_file_restore_start": [started()],
        "win_vm_file_restore_status": [job_status() for _poll in range(polls)]
        + [job_status("finished", copy_answer, alive=False, task_state="Ready", last_result=0)],
        "win_vm_file_restore_cleanup": [cleaned()],
    }
