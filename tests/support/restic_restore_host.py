"""The host HV01 for win_vm_restore with a restic repository: its restic payloads run the real restic.

:class:`ResticRestoreHost` backs HV01's VMs up with the plan's own ``restic backup`` steps (``restic_job``: the
argument lists, tags and working directories of ``_restic/job.py``, over a Linux folder tree standing in for the
exposed shadows) into a local repository, then answers the restore action's payload calls as the host would:

* ``win_restic_read``: the real restic with the arguments of the payload's ``-CommandLine`` (split back as
  Windows splits a command line) and the password and environment the payload got as sensitive parameters;
* ``win_vm_restore_restic_start``: runs the real ``restic restore`` at once (the target mapped from
  ``E:\\Restore\\...`` to a folder in tmp_path) and records what the job's ``status.json`` would then say, which
  ``win_vm_file_restore_status`` returns; ``win_vm_file_restore_cleanup`` forgets the job;
* ``win_vm_restore_verify`` and ``win_vm_restore_restic_unstage``: sizes and deletion of those local files;
* ``win_vm_restore_import``: checks that every disk the import is told to use is a restored file and answers
  like Hyper-V would with copies of those sizes.
"""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess
from typing import Any, Callable, Dict, List, Mapping, Optional

import restic_job
import restic_tools

from ansible_collections.vaware.hyperv.tests.support.scripted_host import ScriptedCall, ok

RESTORE = "E:\\Restore"
PASSWORD = restic_tools.TEST_PASSWORD
NEW_ID = "9d9d9d9d-0000-4000-8000-00000000009d"


def split_command_line(text: str) -> List[str]:
    """A command line split into arguments by the rules of CommandLineToArgvW (and Go's runtime on Windows)."""
    args: List[str] = []
    index, size = 0, len(text)
    while index < size:
        while index < size and text[index] in " \t":
            index += 1
        if index >= size:
            break
        arg: List[str] = []
        quoted = False
        while index < size:
            char = text[index]
            if char == "\\":
                end = index
                while end < size and text[end] == "\\":
                    end += 1
                count = end - index
                if end < size and text[end] == '"':
                    arg.append("\\" * (count // 2))
                    if count % 2:
                        arg.append('"')
                        end += 1
                else:
                    arg.append("\\" * count)
                index = end
                continue
            if char == '"':
                quoted = not quoted
                index += 1
                continue
            if char in " \t" and not quoted:
                break
            arg.append(char)
            index += 1
        args.append("".join(arg))
    return args


class ResticRestoreHost:
    """HV01 with snapshots of web01 and db01 in a real restic repository (see the module doc)."""

    def __init__(self, tmp_path: pathlib.Path, nights: int = 1):
        self.tmp = pathlib.Path(tmp_path)
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.plan_repository = restic_job.repository(PASSWORD)
        self.plan = restic_job.plan(self.plan_repository)
        local = dict(self.plan_repository, location=str(self.tmp / "repo"))
        self.restic = restic_tools.Restic(local, self.tmp / "backup.pass", self.tmp / "cache")
        done = self.restic.run(["init"])
        assert done.returncode == 0, done.stderr
        self.stand_in = restic_job.StandIn(self.tmp / "job", self.plan)
        self.stand_in.make_vm_files()
        self.backed_up: List[Dict[str, bytes]] = []
        self.snapshots: List[Dict[str, str]] = []  # per night: VM name -> short snapshot id
        for night in range(nights):
            if night:
                self.stand_in.change(0.2, seed=night)
            self.night()
        self.restore_root = self.tmp / "restore"
        self.restore_root.mkdir()
        self.jobs: Dict[str, Dict[str, Any]] = {}
        self.before_restore: Optional[Callable[[], None]] = None
        self.running_polls = 0  # how many status reads of a job still say it runs (its runner alive)
        self.free_bytes: Optional[int] = None  # the free space win_vm_restore_verify reports (None: cannot tell)
        self.registered: List[Dict[str, Any]] = []

    # ------------------------------------------------------------------------------ the backup side

    def night(self, drop_last_file_of: Optional[str] = None) -> Dict[str, str]:
        """One night of the plan's backup steps; ``drop_last_file_of`` backs that VM up without its last file."""
        data = {}
        for vm in self.plan["vms"]:
            for planned in vm["files"]:
                data[planned["shadow_path"]] = self.stand_in.path(planned["shadow_path"]).read_bytes()
        ids = {}
        for step in self.plan["steps"]:
            if step["vm"] == drop_last_file_of:
                step = dict(step, args=step["args"][:-1])
            done = self.stand_in.run(self.restic, step)
            assert done.returncode == 0, done.stderr
            summary = [json.loads(line) for line in done.stdout.splitlines() if '"summary"' in line][-1]
            ids[step["vm"]] = summary["snapshot_id"][:8]  # restic 0.14 prints the short id, newer ones the full id
        self.backed_up.append(data)
        self.snapshots.append(ids)
        return ids

    def task_repository(self, **over: Any) -> Dict[str, Any]:
        """The ``repository`` option of the restore task (the one the backup was made with)."""
        return {"type": "restic", "location": restic_job.LOCATION, "password": PASSWORD, **over}

    def original_data(self, vm: str, night: int = -1) -> Dict[str, bytes]:
        """original path on the host -> the bytes backed up that night."""
        data = self.backed_up[night]
        return {
            planned["original_path"]: data[planned["shadow_path"]]
            for entry in self.plan["vms"]
            if entry["name"] == vm
            for planned in entry["files"]
        }

    # ------------------------------------------------------------------------------ path mapping

    def local(self, windows_path: str) -> pathlib.Path:
        """The stand-in of a path below E:\\Restore."""
        prefix = RESTORE + "\\"
        assert windows_path.startswith(prefix), windows_path
        return self.restore_root.joinpath(*windows_path[len(prefix) :].split("\\"))

    # ------------------------------------------------------------------------------ payloads

    def _restic(self, call: ScriptedCall, args: List[str]):
        secrets = {e["name"]: e["value"] for e in call.sensitive_parameters}
        environment = json.loads(secrets["ResticEnvironment"])
        assert environment["RESTIC_REPOSITORY"] == restic_job.LOCATION, environment
        password_file = self.tmp / "payload.pass"
        password_file.write_text(secrets["ResticPassword"] + "\n", encoding="utf-8")
        env = dict(self.restic.env, RESTIC_PASSWORD_FILE=str(password_file))
        for name, value in environment.items():
            if name not in ("RESTIC_REPOSITORY", "RESTIC_PASSWORD_FILE"):
                env[name] = value
        done = subprocess.run(
            [restic_tools.RESTIC, *args], env=env, capture_output=True, text=True, timeout=300, check=False
        )
        password_file.unlink()
        return done

    def read(self, call: ScriptedCall) -> Dict[str, Any]:
        answer: Dict[str, Any] = {
            "computer_name": "HV01",
            "exit_code": None,
            "stdout": "",
            "stderr": "",
            "hyperv": True,
            "hyperv_error": None,
            "vms": list(self.registered),
            "restic_found": True,
        }
        if call.parameters.get("CommandLine"):
            done = self._restic(call, split_command_line(call.parameters["CommandLine"]))
            answer.update(exit_code=done.returncode, stdout=done.stdout, stderr=done.stderr)
        return ok(answer)

    def start(self, call: ScriptedCall) -> Dict[str, Any]:
        job_id = call.parameters["JobId"]
        assert job_id not in self.jobs, f"restore job {job_id} started twice"
        args = split_command_line(call.parameters["CommandLine"])
        target = args.index("--target") + 1
        assert args[target] == call.parameters["Target"]
        local = self.local(args[target])
        args[target] = str(local)
        if self.before_restore:
            self.before_restore()
        local.mkdir(parents=True, exist_ok=True)
        done = self._restic(call, args)
        result = {"exit_code": done.returncode, "stdout": done.stdout[-65536:], "stderr": done.stderr[-65536:]}
        self.jobs[job_id] = {"state": "finished", "result": result, "error": None, "args": args}
        return ok({"job_id": job_id, "task_state": "Running"}, changed=True)

    def status(self, call: ScriptedCall) -> Dict[str, Any]:
        job = self.jobs.get(call.parameters["JobId"])
        recorded = None if job is None else {k: v for k, v in job.items() if k != "args"}
        running = job is not None and self.running_polls > 0
        if running:
            self.running_polls -= 1
            recorded = dict(recorded, state="running", result=None)
        return ok(
            {
                "job_id": call.parameters["JobId"],
                "job_dir_exists": job is not None,
                "status": recorded,
                "runner_alive": running,
                "task_state": ("Running" if running else "Ready") if job is not None else None,
                "task_last_result": 0 if job is not None else None,
            }
        )

    def cleanup(self, call: ScriptedCall) -> Dict[str, Any]:
        self.jobs.pop(call.parameters["JobId"], None)
        return ok({"task_removed": True, "job_dir_removed": True, "swept": []}, changed=True)

    def verify(self, call: ScriptedCall) -> Dict[str, Any]:
        files = []
        for path in call.parameters["Paths"]:
            local = self.local(path)
            files.append(
                {"path": path, "exists": local.is_file(), "size": local.stat().st_size if local.is_file() else None}
            )
        folders = []
        for path in call.parameters["Folders"]:
            local = self.local(path)
            entries = len(list(local.iterdir())) if local.is_dir() else 0
            folders.append({"path": path, "exists": local.is_dir(), "entries": entries, "free_bytes": self.free_bytes})
        return ok({"files": files, "folders": folders})

    def unstage(self, call: ScriptedCall) -> Dict[str, Any]:
        local = self.local(call.parameters["Folder"])
        existed = local.exists()
        shutil.rmtree(local, ignore_errors=True)
        return ok({"removed": existed, "exists": local.exists()}, changed=existed)

    def import_vm(self, call: ScriptedCall) -> Dict[str, Any]:
        params = call.parameters
        assert self.local(params["ConfigPath"]).is_file(), params["ConfigPath"]
        disks = []
        for disk in params["Disks"]:
            staged = self.local(disk["backup"])
            assert staged.is_file(), disk
            name = disk["backup"].rsplit("\\", 1)[1]
            disks.append({"path": f"{params['VmFolder']}\\Virtual Hard Disks\\{name}", "size": staged.stat().st_size})
        self.registered.append({"name": params["Name"], "id": NEW_ID, "state": "Off", "path": params["VmFolder"],
                                "notes": params["Marker"]})  # fmt: skip
        answer = {"id": NEW_ID, "name": params["Name"], "state": "Off", "path": params["VmFolder"], "disks": disks,
                  "adapters": []}  # fmt: skip
        return ok(answer, changed=True)

    def remove(self, call: ScriptedCall) -> Dict[str, Any]:
        """win_vm_restore_remove: the copy is unregistered and its folder deleted."""
        self.registered = [vm for vm in self.registered if vm["id"] != call.parameters["VmId"]]
        shutil.rmtree(self.local(call.parameters["VmFolder"]), ignore_errors=True)
        return ok({"vm_found": True, "vm_removed": True, "folder_removed": True}, changed=True)

    def record(self, runs: List[tuple], **more: List[Any]) -> Dict[str, List[Any]]:
        """Run the actions in-process against this host and return every payload's answers in the order given.

        ``runs``: ``(action class, task args)`` pairs, run one after the other; ``more``: answers of other payloads
        (``win_vm_restore_boot``, ...), taken in order. The result replays the same runs through the scripted
        Windows host of the playbook tests, with what the real restic printed and restored.
        """
        from ansible_collections.vaware.hyperv.tests.support.scripted_host import ScriptedHost, make_action

        recorded: Dict[str, List[Any]] = {}
        pending = {name: list(answers) for name, answers in more.items()}

        def answer(name: str, handler: Optional[Callable[[ScriptedCall], Any]]) -> Callable[[ScriptedCall], Any]:
            def respond(call: ScriptedCall) -> Any:
                given = handler(call) if handler else pending[name].pop(0)
                recorded.setdefault(name, []).append(given)
                return given

            return respond

        handlers = {name: answer(name, handler) for name, handler in self.scenario().items()}
        handlers.update({name: answer(name, None) for name in pending})
        for action_cls, args in runs:
            host = ScriptedHost(handlers)
            result = host.install(make_action(action_cls, dict(args))).run(task_vars={"inventory_hostname": "hv01"})
            assert not result.get("failed"), result.get("msg")
        return recorded

    def scenario(self, **more: Any) -> Dict[str, Any]:
        """The ScriptedHost scenario: these stand-ins, plus ``more`` (recorded answers of other payloads)."""
        return {
            "win_restic_read": self.read,
            "win_vm_restore_restic_start": self.start,
            "win_vm_file_restore_status": self.status,
            "win_vm_file_restore_cleanup": self.cleanup,
            "win_vm_restore_verify": self.verify,
            "win_vm_restore_restic_unstage": self.unstage,
            "win_vm_restore_import": self.import_vm,
            "win_vm_restore_remove": self.remove,
            **more,
        }


def secrets_of(calls: List[ScriptedCall]) -> Mapping[str, int]:
    """How many calls sent each sensitive parameter (by name)."""
    counts: Dict[str, int] = {}
    for call in calls:
        for entry in call.sensitive_parameters:
            counts[entry["name"]] = counts.get(entry["name"], 0) + 1
    return counts
