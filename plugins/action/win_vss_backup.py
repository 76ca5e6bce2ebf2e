# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of ``vaware.hyperv.win_vss_backup``: a VSS backup of a Hyper-V host run as a detached job.

The controller decides everything; the host only executes. One run of the task is, per host:

1. **preflight** (payload ``win_vss_backup_preflight``, read-only, one call): tools, rights, VMs,
   volumes, writer states, destination, our lock, our job folders, every shadow copy.
2. **plan** (``plan.build_plan``) and checks: writer state, free space, stale leftovers.
   Check mode stops here and returns the plan.
3. **sweep** (``win_vss_backup_cleanup``, only when there is something to clear): the lock of a dead
   job, and with ``cleanup_stale`` the shadows (by id) and mount folders of crashed earlier jobs.
4. **start** (``win_vss_backup_start``): job folder with the rendered diskshadow script, copy
   wrapper, parameters and the runner; a one-shot scheduled task runs the runner.
5. **poll** (``win_vss_backup_status``) every ``poll_interval`` seconds until the copy is over;
   a lost connection is retried with backoff until ``timeout``, the job keeps running meanwhile.
6. **collect** (``win_vss_backup_collect``): status, transcript, robocopy log tail, exit codes and the
   generation's file listing; parsed and verified here; the manifest is built and retention chosen.
7. **finalize** (``win_vss_backup_signal``): the verdict (manifest text, expired generations) goes to
   the runner, which writes it as the job account; then poll until the runner is done.
8. **cleanup** (``win_vss_backup_cleanup``): scheduled task and job folder (kept on failure with
   ``keep_failed_job``), and any shadow of this job that the runner could not delete.

The number of remote calls does not depend on the number of VMs. A run that finds our job running
attaches to it (steps 5-8); ``job_id`` attaches to a given job; ``state: absent`` cancels.
"""

from __future__ import annotations

import datetime
import json
import secrets
import time
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.vaware.hyperv.plugins.plugin_utils._payload import (
    PayloadError,
    load_payload,
    run_payload,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic import job as restic_job
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic.options import (
    REPOSITORY_ARGUMENT_SPEC,
    ResticOptionError,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic.version import ResticVersionError, check_version
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restore.select import generation_entries, restorable_vms
from ansible_collections.vaware.hyperv.plugins.plugin_utils._steps import PollTimeout, StepFailed, poll_until
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss import jobs, outcome
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.common import (
    HYPERV_WRITER_ID,
    HYPERV_WRITER_NAME,
    BackupPlanError,
    option_problems,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.diskshadow import normalize_guid, parse_output
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.generations import (
    expiry_for_room,
    listed_generations,
    shortage_message,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.generations import human_bytes as _human
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.jobs import COPY_OVER_PHASES, SPACE_PHASE
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.manifest import (
    manifest_path,
    retention_entry,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.plan import (
    JOB_FILE_NAMES,
    build_plan,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.scripts import (
    render_copy_wrapper,
    render_script,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.volumes import normalize_volumes
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.writer_remedies import (
    job_problems,
    listing_problems,
    problem_line,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.writers import parse_writers
from ansible_collections.vaware.hyperv.plugins.plugin_utils._winpath import (
    damaged_path_hint,
    is_absolute,
    quote_value,
    run_as_problems,
)

display = Display()

# Replaced by tests (a fake clock): every wait of the plugin goes through these two.
monotonic = time.monotonic
sleep = time.sleep


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


RUNNER_PAYLOAD = "win_vss_backup_runner"
START_GRACE_SECONDS = 120  # a task that was just started may not have written its status yet
MAX_BACKOFF_SECONDS = 300
MAX_SCRIPT_ERRORS = 3  # the status script failing this often in a row is not a connection problem
ROBOCOPY_LOG_TAIL = 4 * 1024 * 1024
TRANSCRIPT_LIMIT = 2 * 1024 * 1024

ARGUMENT_SPEC = {
    "vms": {"type": "list", "elements": "str"},
    "exclude_vms": {"type": "list", "elements": "str", "default": []},
    "extra_paths": {"type": "list", "elements": "str", "default": []},
    "destination": {"type": "str"},
    "run_as": {"type": "str"},
    "run_as_password": {"type": "str", "no_log": True},
    "backup_type": {"type": "str", "choices": ["copy", "full"], "default": "copy"},
    "require_hyperv_writer": {"type": "bool", "default": True},
    "expire_before_copy_when_short": {"type": "bool", "default": False},
    "retention": {
        "type": "dict",
        "options": {
            "keep_last": {"type": "int"},
            "keep_daily": {"type": "int"},
            "keep_weekly": {"type": "int"},
            "keep_monthly": {"type": "int"},
        },
    },
    "verify": {"type": "str", "choices": ["size", "hash", "none"], "default": "size"},
    "copy_threads": {"type": "int", "default": 8},
    "unbuffered_min_size": {"type": "int", "default": 1024 * 1024 * 1024},
    "timeout": {"type": "int", "default": 86400},
    "poll_interval": {"type": "int", "default": 30},
    "cleanup_stale": {"type": "bool", "default": True},
    "keep_failed_job": {"type": "bool", "default": False},
    "job_id": {"type": "str"},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    # where the VMs go: files (generation folders below destination, the default) or a restic repository
    "repository": REPOSITORY_ARGUMENT_SPEC,
}


def _validate(args: Mapping[str, Any]) -> None:
    """Checks the argument spec cannot express; each error names the value and what was expected."""
    problems = option_problems(args)
    if args["poll_interval"] > args["timeout"]:
        problems.append(f"poll_interval: {args['poll_interval']} is longer than timeout {args['timeout']}")
    job_id = args.get("job_id")
    if job_id is not None and not jobs.JOB_ID_RE.match(job_id):
        problems.append(
            f"job_id: expected a job id such as 20261125T020000Z-1a2b3c4d (as returned by this module), got {job_id!r}"
        )
    problems += run_as_problems(args.get("run_as"), args.get("run_as_password"))
    destination = args.get("destination")
    restic = (args.get("repository") or {}).get("type") == "restic"
    if restic and destination:
        problems.append("destination: not used with a restic repository (repository.location says where VMs go)")
    if args["state"] == "present" and not job_id and not destination and not restic:
        problems.append(
            "destination: required to start a backup (a local path such as E:\\Backups"
            " or a UNC path such as \\\\nas\\backups)"
        )
    if destination is not None and not is_absolute(destination.replace("/", "\\")):
        problems.append(
            "destination: expected a local path such as E:\\Backups or a UNC path such as \\\\nas\\backups,"
            f" got {quote_value(destination)}{damaged_path_hint(destination)}"
        )
    for name in ("vms", "exclude_vms", "extra_paths"):
        for value in args.get(name) or []:
            if not value or not value.strip():
                problems.append(f"{name}: expected non-empty names or paths, got {value!r}")
    if problems:
        raise AnsibleActionFail("; ".join(problems))


def _size_or_none(value: Any) -> Optional[int]:
    """A byte count the runner recorded (a number, or None when it did not measure)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class BackupRun:
    """One task run against one host: holds the options, the clock and the payload calls."""

    def __init__(self, action: ActionBase, task_vars: Dict[str, Any], args: Dict[str, Any]) -> None:
        self.action = action
        self.task_vars = task_vars
        self.args = args
        self.check_mode = bool(action._task.check_mode)
        self.start_clock = monotonic()
        self.deadline = self.start_clock + args["timeout"]
        self.warnings: List[str] = []
        self.calls = 0
        self.host = task_vars.get("inventory_hostname", "host") if task_vars else "host"
        self.pre: Dict[str, Any] = {}
        self.last_poll: Dict[str, Any] = {}
        self.room: Optional[Dict[str, Any]] = None  # what expire_before_copy_when_short found, when asked
        self.retention_skipped = False
        # the validated restic repository (password included: never put into a result), None for files
        self.repository: Optional[Dict[str, Any]] = args.get("_restic")
        self.writer_problems: List[Dict[str, Any]] = []  # what the preflight's writer listing showed

    # ------------------------------------------------------------------------------ remote calls

    def call(self, payload: str, parameters: Mapping[str, Any], step: str, **kwargs: Any) -> Any:
        self.calls += 1
        return run_payload(self.action, payload, parameters, self.task_vars, step=step, **kwargs)

    def _reset_connection(self) -> None:
        """Drop the broken WinRM/PSRP session so the next call opens a new one (best effort)."""
        try:
            self.action._connection.reset()
        except Exception as exc:  # any failure here only means the next call reconnects itself
            display.vvv(f"{self.host}: connection reset failed: {exc}")

    # ---------------------------------------------------------------------------------- entry

    def run(self) -> Dict[str, Any]:
        if self.args["state"] == "absent":
            return self.cancel()
        pre = self.preflight()
        running = jobs.running_job(pre)
        wanted = self.args.get("job_id")
        if wanted:
            job = jobs.find_job(pre, wanted)
            if job is None:
                raise StepFailed("attach", f"job {wanted} does not exist on this host (no job folder)")
            return self.attach(pre, job)
        if running is not None:
            self.warnings.append(
                f"a backup job of this collection is already running on this host (job {running['job_id']}): "
                "attached to it instead of starting a second one"
            )
            return self.attach(pre, running)
        return self.backup(pre)

    # ------------------------------------------------------------------------------ preflight

    def preflight(self) -> Dict[str, Any]:
        parameters = {"Destination": self.args.get("destination") or "", "WantVms": self.args.get("vms") != []}
        if self.repository:
            parameters["ResticPath"] = self.repository["restic_path"]
        pre = self.call("win_vss_backup_preflight", parameters, "preflight")
        if not isinstance(pre, Mapping):
            raise StepFailed("preflight", f"unexpected answer from the host: {pre!r}")
        self.pre = dict(pre)
        return self.pre

    def jobs_root(self, pre: Mapping[str, Any]) -> str:
        return str(pre.get("program_data") or "C:\\ProgramData").rstrip("\\") + "\\vaware.hyperv\\jobs"

    def refuse_young_lock(self, pre: Mapping[str, Any], step: str, what: str) -> None:
        young = jobs.young_lock(pre, utcnow())
        if young is not None:
            raise StepFailed(
                step,
                f"job {young[0]} took the backup lock {max(int(young[1]), 0)} s ago and is still starting (its job"
                f" folder or scheduled task is not there yet); run the task again in a few minutes to {what}",
            )

    # ---------------------------------------------------------------------------------- backup

    def check_host(self, pre: Mapping[str, Any], want_vms: bool) -> None:
        if not pre.get("is_admin"):
            raise StepFailed(
                "preflight",
                f"the account {pre.get('user')} is not an administrator on the host (elevation is required)",
            )
        tools = pre.get("tools") or {}
        for tool in ("diskshadow.exe", "robocopy.exe"):
            if not tools.get(tool):
                raise StepFailed("preflight", f"{tool} was not found on the host")
        if self.repository:
            self.check_restic(pre)
        hyperv = pre.get("hyperv") or {}
        if want_vms and not hyperv.get("module"):
            raise StepFailed(
                "preflight",
                "the Hyper-V PowerShell module is not installed on the host"
                + (f" ({hyperv.get('error')})" if hyperv.get("error") else "")
                + "; install it or back up extra_paths only with vms: []",
            )

    def check_restic(self, pre: Mapping[str, Any]) -> None:
        """restic.exe is where repository.restic_path says and new enough (preflight ran ``restic version``)."""
        found = pre.get("restic") or {}
        path = self.repository["restic_path"]
        if not found.get("exists"):
            raise StepFailed(
                "preflight",
                f"restic was not found on the host at {path} (repository.restic_path); deploy it with the"
                " hyperv_backup role's hyperv_backup_restic_binary or install it there",
            )
        try:
            check_version(str(found.get("version") or "") or found.get("error") or "")
        except ResticVersionError as exc:
            raise StepFailed("preflight", f"{path}: {exc}") from None

    def writer_state(self, pre: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
        text = pre.get("writers_text")
        if not text:
            return None
        for writer in parse_writers(str(text)):
            if str(writer.get("id") or "").strip("{}").lower() == HYPERV_WRITER_ID:
                return writer
        return None

    def new_job_id(self) -> str:
        return utcnow().strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(4)

    def make_plan(self, pre: Mapping[str, Any], job_id: str) -> Dict[str, Any]:
        try:
            volumes = normalize_volumes(pre.get("volumes"), pre.get("mount_points"))
        except ValueError as exc:
            raise StepFailed("plan", f"the host's volume list cannot be read: {exc}") from None
        dest = pre.get("destination") or {}
        existing = [str(g.get("name")) for g in dest.get("generations") or []]
        try:
            plan = build_plan(
                str(pre.get("computer_name") or self.host),
                list(pre.get("vms") or []),
                volumes,
                destination=None if self.repository else self.args["destination"],
                job_id=job_id,
                job_dir=self.jobs_root(pre) + "\\" + job_id,
                now=utcnow(),
                include_vms=self.args.get("vms"),
                exclude_vms=self.args.get("exclude_vms") or None,
                extra_paths=self.args.get("extra_paths") or [],
                backup_type=self.args["backup_type"],
                require_hyperv_writer=self.args["require_hyperv_writer"],
                copy_threads=self.args["copy_threads"],
                unbuffered_min_size=self.args["unbuffered_min_size"],
                existing_generations=existing,
            )
            return restic_job.add_restic_steps(plan, self.repository) if self.repository else plan
        except (BackupPlanError, ResticOptionError) as exc:
            raise StepFailed("plan", str(exc)) from None

    def backup(self, pre: Mapping[str, Any]) -> Dict[str, Any]:
        want_vms = self.args.get("vms") != []
        self.check_host(pre, want_vms)
        job_id = self.new_job_id()
        plan = self.make_plan(pre, job_id)
        self.warnings.extend(plan.get("warnings") or [])

        writer = self.writer_state(pre)
        listed = parse_writers(str(pre.get("writers_text") or ""))
        self.writer_problems = listing_problems(listed, bool(plan.get("vms")))
        hyperv = next((p for p in self.writer_problems if p["id"] == HYPERV_WRITER_ID), None)
        if plan.get("vms") and self.args["require_hyperv_writer"]:
            if writer is None:
                raise StepFailed(
                    "preflight",
                    f"the {HYPERV_WRITER_NAME} ({{{HYPERV_WRITER_ID}}}) is not listed by 'vssadmin list writers'"
                    " on the host; VM copies could not be application-consistent"
                    f" (set require_hyperv_writer: false to accept that); {hyperv['remedy']}",
                    writer_problems=self.writer_problems,
                )
            if writer.get("failed"):
                raise StepFailed(
                    "preflight",
                    f"the {HYPERV_WRITER_NAME} is in state {writer.get('state')} ({writer.get('state_name')}),"
                    f" last error: {writer.get('last_error')}; before backing up, {hyperv['remedy']}",
                    writer_problems=self.writer_problems,
                )
        # writers in trouble that do not stop the backup: each one line, with its service and the fix
        self.warnings.extend(problem_line(p) for p in self.writer_problems)

        dest = pre.get("destination") or {}
        required = plan.get("total_bytes")
        if self.repository:  # restic checks its repository itself; space there is the backend's concern
            dest, required = {"reachable": True}, None
        if dest.get("reachable") and dest.get("exists") is False:
            self.warnings.append(
                f"destination {plan['destination']} does not exist yet: the job creates it"
                f" (below {dest.get('existing_parent')})"
            )
        if not dest.get("reachable"):
            if str(plan["destination"]).startswith("\\\\"):
                self.warnings.append(
                    f"destination {plan['destination']} is not reachable from the remote session ({dest.get('error')});"
                    f" the job checks it again as {self.args.get('run_as') or 'SYSTEM'} before it snapshots anything"
                )
            else:
                raise StepFailed(
                    "preflight", f"destination {plan['destination']} is not reachable on the host: {dest.get('error')}"
                )
        elif required is not None and dest.get("free_bytes") is not None and int(dest["free_bytes"]) < required:
            # As this session sees it; the job checks again as its own account and, with
            # expire_before_copy_when_short, makes room from its own list of generations.
            room = self.room_for(plan, dest.get("generations"), int(dest["free_bytes"]), required)
            if not (self.args["expire_before_copy_when_short"] and room["enough"]):
                raise StepFailed(
                    "preflight",
                    shortage_message(
                        plan["destination"],
                        free_bytes=int(dest["free_bytes"]),
                        total_bytes=dest.get("total_bytes"),
                        required_bytes=required,
                        room=room,
                        option_on=self.args["expire_before_copy_when_short"],
                    ),
                )
            result_room = room
        else:
            result_room = None

        self.refuse_young_lock(pre, "preflight", "attach to it")
        dead = jobs.dead_lock(pre, utcnow())
        stale = jobs.stale(pre, self.jobs_root(pre))
        if dead == "unknown":
            raise StepFailed(
                "preflight",
                f"the backup lock {pre.get('program_data')}\\vaware.hyperv\\backup.lock names no job"
                f" ({pre.get('lock')!r}); if no backup is running on the host, delete the file and run again",
            )
        if dead:
            self.warnings.append(f"the backup lock was held by job {dead}, which is no longer running: cleared")
        if stale["shadows"] and not self.args["cleanup_stale"]:
            self.warnings.append(
                "shadow copies left by an earlier crashed job of this collection: "
                + ", ".join(s["id"] for s in stale["shadows"])
                + " (not deleted: cleanup_stale is false)"
            )

        result: Dict[str, Any] = {
            "changed": True,
            "job_id": job_id,
            "generation": plan["generation"],
            "destination_path": plan["generation_path"],
            "manifest_path": manifest_path(plan),
            "plan": plan,
            "stale_shadows": stale["shadows"],
            "writer_problems": self.writer_problems,
            "dead_lock_job": dead,
        }
        if self.repository:
            result.update(destination_path=None, manifest_path=None, repository=dict(plan["repository"]))
        if self.check_mode:
            result["msg"] = (
                f"check mode: would back up {len(plan['vms'])} VM(s) and {len(plan['extra_paths'])} extra path(s)"
                f" to {plan['generation_path'] or 'restic repository ' + plan['repository']['location']}"
            )
            if result_room:
                result["expired_before_copy"] = list(result_room["expire"])
                result["msg"] += (
                    f", first expiring {', '.join(result_room['expire'])} to make room"
                    f" ({_human(result_room['frees'])} for {_human(result_room['short_by'])} missing)"
                )
            return self.finish(result)

        swept: Dict[str, Any] = {}
        leftovers = stale["shadows"] or stale["mount_folders"] or stale["jobs"]
        if dead or (self.args["cleanup_stale"] and leftovers):
            sweep_params: Dict[str, Any] = {}
            remove_jobs = []
            if self.args["cleanup_stale"]:
                sweep_params["ShadowIds"] = [s["id"] for s in stale["shadows"]]
                sweep_params["MountFolders"] = stale["mount_folders"]
                remove_jobs = list(stale["jobs"])
            if dead:
                sweep_params["ReleaseLockOf"] = dead
                if jobs.JOB_ID_RE.match(dead) and dead not in remove_jobs:
                    remove_jobs.append(dead)
            if remove_jobs:
                sweep_params["RemoveJobs"] = remove_jobs
                if self.args["keep_failed_job"] or not self.args["cleanup_stale"]:
                    # without the sweep the job folder is what still identifies the dead job's shadows
                    sweep_params["KeepJobFolders"] = remove_jobs
            try:
                swept = self.call("win_vss_backup_cleanup", sweep_params, "sweep stale")
            except PayloadError as exc:
                raise StepFailed("sweep stale", exc.message) from None
            for error in swept.get("shadow_errors") or []:
                self.warnings.append(f"stale shadow {error.get('id')} could not be deleted: {error.get('error')}")
            if dead and not swept.get("lock_released") and pre.get("lock"):
                raise StepFailed("sweep stale", f"the lock of dead job {dead} could not be released")
        result["stale_shadows_deleted"] = list(swept.get("shadows_deleted") or [])

        started_at = utcnow()
        self.start(plan, started_at)
        result["started"] = True
        return self.follow(job_id, plan, result)

    def job_files(self, plan: Mapping[str, Any]) -> Dict[str, Dict[str, str]]:
        runner_params = {
            "job_id": plan["job_id"],
            "script": plan["job_files"]["script"],
            "transcript": plan["job_files"]["transcript"],
            "mount_folders": [v["mount_folder"] for v in plan["volumes"]],
            "volume_paths": [v["volume_path"] for v in plan["volumes"]],
            "generation_path": plan["generation_path"],
            "host_path": plan["host_path"],
            "required_bytes": plan.get("total_bytes"),
            "expire_when_short": bool(self.args["expire_before_copy_when_short"]) and self.retention_policy() != {},
            "vm_destinations": [{"name": vm["name"], "destination": vm["destination"]} for vm in plan["vms"]],
            "extra_destinations": [e["destination"] for e in plan["extra_paths"]],
            "hash": self.args["verify"] == "hash",
            "verify": self.args["verify"],
            "verdict_timeout_seconds": max(3600, 4 * self.args["poll_interval"]),
            "progress_seconds": max(5, min(self.args["poll_interval"], 60)),
        }
        names = {key: path.rsplit("\\", 1)[1] for key, path in plan["job_files"].items()}
        if restic_job.is_restic(plan):
            runner_params.update(restic_job.runner_parameters(plan))
            return {
                "runner.ps1": {"text": load_payload(RUNNER_PAYLOAD), "encoding": "utf8bom"},
                names["script"]: {"text": render_script(plan), "encoding": "ascii"},
                "params.json": {"text": json.dumps(runner_params, indent=1), "encoding": "utf8"},
                "plan.json": {"text": json.dumps(plan, indent=1), "encoding": "utf8"},
            }
        return {
            "runner.ps1": {"text": load_payload(RUNNER_PAYLOAD), "encoding": "utf8bom"},
            names["script"]: {"text": render_script(plan), "encoding": "ascii"},
            names["wrapper"]: {
                "text": render_copy_wrapper(plan, hash_sources=self.args["verify"] == "hash"),
                "encoding": "ascii",
            },
            "params.json": {"text": json.dumps(runner_params, indent=1), "encoding": "utf8"},
            "plan.json": {"text": json.dumps(plan, indent=1), "encoding": "utf8"},
        }

    def start(self, plan: Mapping[str, Any], started_at: datetime.datetime) -> Dict[str, Any]:
        lock = {"job_id": plan["job_id"], "generation": plan["generation"], "started_at": started_at.isoformat()}
        parameters: Dict[str, Any] = {
            "JobId": plan["job_id"],
            "Files": self.job_files(plan),
            "LockText": json.dumps(lock),
            # The job outlives the task's timeout (a re-run attaches); the task scheduler only stops a job
            # that hangs for days.
            "ExecutionTimeLimitSeconds": max(2 * self.args["timeout"], 3 * 86400),
        }
        sensitive = None
        if self.args.get("run_as"):
            parameters["RunAs"] = self.args["run_as"]
            sensitive = {"RunAsPassword": self.args["run_as_password"]}
        if restic_job.is_restic(plan):
            # the password and restic's environment: written by the start payload for the job account only
            sensitive = {**(sensitive or {}), **restic_job.secret_parameters(plan, self.repository)}
        try:
            return self.call("win_vss_backup_start", parameters, "start", sensitive_parameters=sensitive)
        except PayloadError as exc:
            raise StepFailed("start", exc.message) from None

    # ---------------------------------------------------------------------------------- attach

    def attach(self, pre: Mapping[str, Any], job: Mapping[str, Any]) -> Dict[str, Any]:
        job_id = str(job["job_id"])
        status = job.get("status") or {}
        result: Dict[str, Any] = {"changed": False, "job_id": job_id, "attached": True}
        if self.check_mode:
            result["msg"] = (
                f"check mode: job {job_id} is running (phase {status.get('phase')}); a run would attach to it"
            )
            result["phase"] = status.get("phase")
            return self.finish(result)
        result["changed"] = True
        return self.follow(job_id, None, result)

    # ---------------------------------------------------------------------------------- poll

    def poll(self, job_id: str, until: Tuple[str, ...], what: str) -> Dict[str, Any]:
        """Poll the job until its phase is in ``until`` or its runner is gone; retry lost connections."""
        first = monotonic()
        shown = [None]

        def read() -> Dict[str, Any]:
            answer = dict(self.call("win_vss_backup_status", {"JobId": job_id}, "poll") or {})
            self.last_poll = answer
            return answer

        def finished(last: Dict[str, Any]) -> bool:
            status = last.get("status") or {}
            line = self.progress_line(job_id, status)
            if line != shown[0]:
                display.v(line)
                shown[0] = line
            if status.get("phase") in until:
                return True
            runner_gone = not last.get("runner_alive") and last.get("task_state") not in ("Running", "Queued")
            if runner_gone and (status or monotonic() - first > START_GRACE_SECONDS):
                last["runner_dead"] = True
                return True
            return False

        def retry(exc: Exception, failures: int) -> bool:
            if not isinstance(exc, PayloadError):
                return False
            if exc.details.get("error") and not exc.unreachable and failures >= MAX_SCRIPT_ERRORS:
                # the status script itself fails (not the connection): retrying will not help
                raise StepFailed(
                    "poll",
                    f"{exc.message} ({failures} times in a row); job {job_id} may still be running",
                    job_id=job_id,
                ) from None
            display.vv(f"{self.host}: poll of job {job_id} failed ({exc.message}); retrying")
            self._reset_connection()
            return True

        try:
            return poll_until(
                read,
                finished,
                interval=self.args["poll_interval"],
                deadline=self.deadline,
                retry=retry,
                retryable=(PayloadError,),
                backoff=2.0,
                max_delay=MAX_BACKOFF_SECONDS,
                clock=monotonic,
                sleep=sleep,
            )
        except PollTimeout as exc:
            raise self.timeout_error(job_id, exc.last or {}, what, exc.error) from None

    def progress_line(self, job_id: str, status: Mapping[str, Any]) -> str:
        vm_bytes = status.get("vm_bytes") or {}
        current = None
        for name, count in vm_bytes.items():
            if count:
                current = name
        text = f"{self.host}: backup job {job_id}: phase {status.get('phase') or 'starting'}"
        if current:
            text += f", VM {current}"
        if status.get("bytes_copied"):
            text += f", {_human(int(status['bytes_copied']))} copied"
        restic = status.get("restic_progress") or {}
        if restic.get("vm") and isinstance(restic.get("percent_done"), (int, float)):
            text += f", restic VM {restic['vm']} {100 * restic['percent_done']:.0f} %"
        return text

    def timeout_error(
        self, job_id: str, last: Mapping[str, Any], what: str, error: Optional[PayloadError]
    ) -> StepFailed:
        status = last.get("status") or {}
        reason = f" (last poll error: {error.message})" if error else ""
        return StepFailed(
            "poll",
            f"timeout after {self.args['timeout']}s waiting for job {job_id} to {what}{reason}; last known phase"
            f" {status.get('phase') or 'unknown'}, {_human(status.get('bytes_copied'))} copied. The job keeps running"
            " on the host: re-run the task to attach to it, or run it with state: absent to cancel it",
            job_id=job_id,
            phase=status.get("phase"),
        )

    # ----------------------------------------------------------------------------- collect

    def collect(self, job_id: str, plan: Optional[Mapping[str, Any]], only_space: bool = False) -> Dict[str, Any]:
        files = [
            {"name": "status.json", "tail_bytes": 0, "encoding": "utf8"},
            # the host's generations as the job account listed them: retention decides from this list
            {"name": "generations.json", "tail_bytes": 0, "encoding": "utf8"},
        ]
        if not only_space:
            files += [
                {"name": "listing.json", "tail_bytes": 0, "encoding": "utf8"},
                {"name": "diskshadow.err", "tail_bytes": 65536, "encoding": "utf8"},
            ]
        names = {
            k: JOB_FILE_NAMES[k] for k in ("transcript", "robocopy_log", "exit_codes", "source_hashes", "source_sizes")
        }
        if plan is not None:
            names = {k: str(plan["job_files"].get(k) or v).rsplit("\\", 1)[-1] for k, v in names.items()}
        else:
            # attaching: the job's own plan and options (verify) come from its folder
            files.append({"name": "plan.json", "tail_bytes": 0, "encoding": "utf8"})
            files.append({"name": "params.json", "tail_bytes": 0, "encoding": "utf8"})
        files += (
            []
            if only_space
            else [
                {"name": names["transcript"], "tail_bytes": TRANSCRIPT_LIMIT, "encoding": "utf8"},
                {"name": names["robocopy_log"], "tail_bytes": ROBOCOPY_LOG_TAIL, "encoding": "utf16"},
                {"name": names["exit_codes"], "tail_bytes": 0, "encoding": "utf8"},
                # verify: hash only; absent otherwise (certutil writes the OEM code page: digests are ASCII)
                {"name": names["source_hashes"], "tail_bytes": 0, "encoding": "utf8"},
                # the size of each VM file in the shadow copy, as cmd.exe read it (paths are ASCII)
                {"name": names["source_sizes"], "tail_bytes": 0, "encoding": "utf8"},
            ]
        )
        try:
            answer = self.call("win_vss_backup_collect", {"JobId": job_id, "Files": files}, "collect")
        except PayloadError as exc:
            raise StepFailed("collect", exc.message, job_id=job_id) from None
        got = answer.get("files") or {}

        def text(name: str) -> Optional[str]:
            entry = got.get(name)
            return entry.get("text") if isinstance(entry, Mapping) else None

        def as_json(name: str) -> Any:
            raw = text(name)
            if not raw:
                return None
            try:
                return json.loads(raw.lstrip("\ufeff"))
            except ValueError:
                self.warnings.append(f"collect: {name} of job {job_id} is not valid JSON")
                return None

        if plan is None:
            plan = as_json("plan.json")
            if not isinstance(plan, Mapping):
                raise StepFailed(
                    "collect", f"job {job_id} has no readable plan.json; it was not started by this module"
                )
        params = as_json("params.json") if "params.json" in got else None
        base = {
            "plan": plan,
            "status": as_json("status.json") or {},
            "generations": as_json("generations.json"),
        }
        if only_space:
            return base
        return {
            **base,
            "verify": (params or {}).get("verify") or self.args.get("verify") or "size",
            "listing": as_json("listing.json"),
            "transcript": text(names["transcript"]) or "",
            "stderr": text("diskshadow.err") or "",
            "robocopy_log": text(names["robocopy_log"]) or "",
            "robocopy_log_truncated": bool((got.get(names["robocopy_log"]) or {}).get("truncated")),
            "exit_codes": text(names["exit_codes"]),
            "source_hashes": text(names["source_hashes"]),
            "source_sizes": text(names["source_sizes"]),
            "shadows": answer.get("shadows") or [],
        }

    # ------------------------------------------------------------------------------ analyse

    # ------------------------------------------------------------------------------ follow

    def follow(self, job_id: str, plan: Optional[Mapping[str, Any]], result: Dict[str, Any]) -> Dict[str, Any]:
        """Poll the job to the end of its copy, collect, verify, finalize, clean up."""
        result["job_id"] = job_id
        try:
            polled = self.poll(job_id, (*COPY_OVER_PHASES, SPACE_PHASE, restic_job.PLAN_PHASE), "finish copying")
            if ((polled.get("status") or {}).get("phase")) == restic_job.PLAN_PHASE:
                plan = self.answer_restic_plan(job_id, plan, polled.get("status") or {})
                polled = self.poll(job_id, COPY_OVER_PHASES, "finish copying")
            if ((polled.get("status") or {}).get("phase")) == SPACE_PHASE:
                self.answer_space(job_id, plan, polled.get("status") or {})
                polled = self.poll(job_id, COPY_OVER_PHASES, "finish copying")
        except StepFailed as exc:
            exc.partial.setdefault("job_id", job_id)
            raise
        collected = self.collect(job_id, plan)
        plan = collected["plan"]
        if restic_job.is_restic(plan):
            return self.follow_restic(job_id, plan, collected, polled, result)
        result.update(
            generation=plan["generation"],
            destination_path=plan["generation_path"],
            manifest_path=manifest_path(plan),
        )
        writer_before = self.writer_state(self.pre) if self.pre else None
        analysis = outcome.analyse(collected, writer_before, verify=self.args.get("verify"), now=utcnow())
        self.warnings.extend(analysis.pop("warnings"))
        manifest = analysis["manifest"]
        status = collected["status"]
        ds = analysis["diskshadow"]
        runner_dead = bool(polled.get("runner_dead")) and status.get("phase") not in COPY_OVER_PHASES

        # retention: only once this generation is verified complete, over complete generations
        expired: List[str] = []
        if manifest["status"] == "complete" and status.get("phase") == "awaiting_verdict":
            expired = self.select_expired(plan, manifest, collected)
            # those already deleted before the copy to make room are not deleted twice
            made_room = {str(p).rsplit("\\", 1)[-1] for p in status.get("expired_before_copy") or []}
            expired = [g for g in expired if g not in made_room]

        final = status
        if status.get("phase") == "awaiting_verdict" and not runner_dead:
            verdict = {
                "decision": manifest["status"],
                "manifest_path": manifest_path(plan),
                "manifest_text": json.dumps(manifest, indent=1),
                "delete_generations": [plan["host_path"] + "\\" + g for g in expired],
            }
            self.signal(job_id, "verdict.json", verdict, "finalize", manifest_status=manifest["status"])
            final = (self.poll(job_id, ("done",), "write the manifest").get("status")) or status

        failed = manifest["status"] != "complete" or bool(final.get("error")) or runner_dead
        cleaned = self.clean_up(job_id, plan, status, ds, collected, final, runner_dead, failed)

        deleted = outcome.deleted_shadows(ds, collected, final, cleaned)
        result.update(
            changed=True,
            generation_status=manifest["status"],
            vms=outcome.vm_results(manifest),
            shadows_created=[s["id"] for s in ds.get("shadows") or []],
            shadows_deleted=deleted,
            expired=[g for g in expired if plan["host_path"] + "\\" + g in (final.get("expired_deleted") or [])],
            expired_before_copy=[
                str(p).rsplit("\\", 1)[-1]
                for p in (final.get("expired_before_copy") or status.get("expired_before_copy") or [])
            ],
            writer=outcome.writer_result(manifest["writer"]),
            writer_problems=self.writer_problems
            + job_problems(analysis["writer"], bool(manifest["writer"].get("required")), ds.get("errors") or []),
            manifest_written=bool(final.get("manifest_written")),
            job_kept=bool(failed and self.args["keep_failed_job"]),
            retention_skipped=self.retention_skipped,
            destination_free_bytes=_size_or_none(status.get("destination_free_bytes")),
            destination_total_bytes=_size_or_none(status.get("destination_total_bytes")),
        )
        points = self.restore_points(plan, manifest, collected, result, bool(final.get("manifest_written")))
        if points is not None:
            result["restore_points"] = points
        result.setdefault("warnings", [])
        self.warn_unattributed(final, job_id)
        self.warn_rejected_verdicts(final, job_id)
        for err in final.get("expired_errors") or []:
            self.warnings.append(f"expired generation {err.get('path')} could not be deleted: {err.get('error')}")
        if final.get("cancelled") or status.get("cancelled"):
            result["cancelled"] = True
            raise StepFailed("copy", f"job {job_id} was cancelled", **result)
        if failed:
            raise StepFailed(
                *outcome.failure_message(
                    plan,
                    analysis,
                    collected,
                    runner_dead,
                    last_poll=self.last_poll,
                    room_for=lambda listed, free, required: self.room or self.room_for(plan, listed, free, required),
                    expire_when_short=bool(self.args["expire_before_copy_when_short"]),
                ),
                **result,
            )
        if not final.get("manifest_written"):
            raise StepFailed(
                "finalize",
                f"the job did not write the manifest {manifest_path(plan)}:"
                f" {final.get('error') or final.get('verdict')}",
                **result,
            )
        result["msg"] = f"backed up {len(plan['vms'])} VM(s) to {plan['generation_path']}" + (
            f"; expired {len(result['expired'])} old generation(s)" if result["expired"] else ""
        )
        return self.finish(result)

    def collect_restic(self, job_id: str, steps: List[Any]) -> Dict[str, Optional[str]]:
        """The stdout and stderr files of these restic steps, by file name (None: the file is not there)."""
        entries = restic_job.collect_entries(steps)
        if not entries:
            return {}
        try:
            answer = self.call("win_vss_backup_collect", {"JobId": job_id, "Files": entries}, "collect")
        except PayloadError as exc:
            raise StepFailed("collect", exc.message, job_id=job_id) from None
        got = answer.get("files") or {}
        return {e["name"]: (got.get(e["name"]) or {}).get("text") for e in entries}

    def follow_restic(
        self,
        job_id: str,
        plan: Mapping[str, Any],
        collected: Mapping[str, Any],
        polled: Mapping[str, Any],
        result: Dict[str, Any],
    ) -> Dict[str, Any]:
        """A restic job after its backups and ``restic check``: read what restic printed, decide, hand the runner
        the retention (``forget`` per VM, ``prune`` on its weekdays) only when every new snapshot is verified,
        then clean up as for a files job."""
        status = collected["status"]
        location = plan["repository"]["location"]
        result.update(generation=plan["generation"], destination_path=None, manifest_path=None)
        result["repository"] = dict(plan["repository"])
        texts = self.collect_restic(job_id, restic_job.output_steps(plan))
        found = restic_job.analyse(plan, status, texts)
        self.warnings.extend(found["warnings"])
        ds = parse_output(collected["transcript"])
        runner_dead = bool(polled.get("runner_dead")) and status.get("phase") not in COPY_OVER_PHASES
        writer: Dict[str, Any] = dict(self.writer_state(self.pre) if self.pre else {})
        required = bool(plan.get("vms")) and bool(plan.get("require_hyperv_writer", True))
        excluded = any(HYPERV_WRITER_NAME.casefold() in str(w).casefold() for w in ds.get("excluded_writers") or [])
        excluded = excluded or bool(outcome.hyperv_components_excluded(ds, plan))
        writer["included"] = False if excluded else (True if ds.get("shadows") and plan.get("vms") else None)
        writer["required"] = required

        failure: Optional[Tuple[str, str]] = None
        if runner_dead:
            failure = (
                "job",
                f"the job runner of job {job_id} ended without finishing (last phase {status.get('phase')})",
            )
        elif excluded and required:
            failure = (
                "snapshot",
                f"the {HYPERV_WRITER_NAME} was excluded from the snapshot; nothing application-"
                "consistent was backed up, so no snapshot is trusted",
            )
        elif ds.get("errors"):
            first = ds["errors"][0]
            failure = ("snapshot", f"diskshadow failed: {first.get('text')} (HRESULT {first.get('hresult')})")
        elif status.get("error"):
            failure = (status.get("error_phase") or "job", str(status["error"]))
        else:
            failure = found["failure"]
        verified = failure is None

        retention: Dict[str, Any] = {"forget": [], "prune": None}
        final = status
        if status.get("phase") == "awaiting_verdict" and not runner_dead:
            if verified:
                retention = restic_job.retention_steps(plan, self.retention_policy(), utcnow().date())
            verdict = {
                "decision": "complete" if verified else "failed",
                "delete_generations": [],
                "restic_forget": retention["forget"],
                "restic_prune": retention["prune"],
            }
            self.signal(job_id, "verdict.json", verdict, "finalize", generation_status=verdict["decision"])
            final = (self.poll(job_id, ("done",), "expire old snapshots").get("status")) or status
        forgotten: Dict[str, Any] = {"forget": [], "prune": None, "errors": []}
        if retention["forget"]:
            more = self.collect_restic(job_id, [*retention["forget"], retention["prune"]])
            forgotten = restic_job.forget_results(retention, final, more, location)
            self.warnings.extend(f"retention: {error}" for error in forgotten["errors"])

        failed = not verified or bool(final.get("error"))
        cleaned = self.clean_up(job_id, plan, status, ds, collected, final, runner_dead, failed)

        removed = [i for entry in forgotten["forget"] for i in entry["removed"]]
        result.update(
            changed=True,
            generation_status="complete" if verified else "failed",
            vms=found["vms"],
            shadows_created=[s["id"] for s in ds.get("shadows") or []],
            shadows_deleted=outcome.deleted_shadows(ds, collected, final, cleaned),
            expired=removed,
            writer=outcome.writer_result(writer),
            manifest_written=False,
            job_kept=bool(failed and self.args["keep_failed_job"]),
            retention_skipped=False,
            restic={
                "snapshots": {vm["name"]: vm["snapshot_id"] for vm in found["vms"] if vm["snapshot_id"]},
                "parents": {vm["name"]: vm["parent"] for vm in found["vms"]},
                "repository_version": found["repository_version"],
                "init": found["init"],
                "check": found["check"],
                "verified": verified,
                "forget": forgotten["forget"],
                "prune": forgotten["prune"],
                "extra_paths": found["extra_paths"],
                "bytes_added": sum(vm["bytes_added"] or 0 for vm in [*found["vms"], *found["extra_paths"]]),
                "bytes_processed": sum(vm["bytes_processed"] or 0 for vm in [*found["vms"], *found["extra_paths"]]),
            },
        )
        self.warn_unattributed(final, job_id)
        self.warn_rejected_verdicts(final, job_id)
        if final.get("cancelled") or status.get("cancelled"):
            result["cancelled"] = True
            raise StepFailed("copy", f"job {job_id} was cancelled", **result)
        if failure is not None:
            raise StepFailed(*failure, **result)
        if final.get("error"):
            raise StepFailed(final.get("error_phase") or "finalize", str(final["error"]), **result)
        added = result["restic"]["bytes_added"]
        extras = f" and {len(plan['extra_paths'])} extra path(s)" if plan.get("extra_paths") else ""
        result["msg"] = (
            f"backed up {len(plan['vms'])} VM(s){extras} to restic repository {location}"
            f" ({_human(added)} added, verified by restic check)"
            + (f"; forgot {len(removed)} old snapshot(s)" if removed else "")
        )
        return self.finish(result)

    def restore_points(
        self,
        plan: Mapping[str, Any],
        manifest: Mapping[str, Any],
        collected: Mapping[str, Any],
        result: Mapping[str, Any],
        written: bool,
    ) -> Optional[List[Dict[str, Any]]]:
        """Per VM, the complete generations at the destination after this run that hold it complete: the job
        account's listing (generations.json, made before the copy) less what this run deleted, plus this
        generation when its manifest was written. None when the job could not list the generations."""
        listing = collected.get("generations")
        if not isinstance(listing, Mapping) or listing.get("error") or not isinstance(listing.get("generations"), list):
            return None
        gone = {plan["generation"], *result.get("expired", []), *result.get("expired_before_copy", [])}
        raw = [g for g in listing["generations"] if isinstance(g, Mapping) and str(g.get("name")) not in gone]
        if written:
            raw.append({"name": plan["generation"], "manifest": manifest})
        return [
            {"name": vm["name"], "count": len(vm["generations"]), "oldest": vm["generations"][-1]}
            for vm in restorable_vms(generation_entries(raw))
        ]

    def clean_up(
        self,
        job_id: str,
        plan: Mapping[str, Any],
        status: Mapping[str, Any],
        ds: Mapping[str, Any],
        collected: Mapping[str, Any],
        final: Mapping[str, Any],
        runner_dead: bool,
        failed: bool,
    ) -> Dict[str, Any]:
        """Remove the job: its shadows that still exist (the runner deletes them; anything left is deleted here, by
        id), its mount folders when needed, its task and folder (kept after a failure with keep_failed_job)."""
        job_set_ids = {normalize_guid(s) for s in (status.get("shadow_set_ids") or [])}
        if ds.get("shadow_set_id"):
            job_set_ids.add(ds["shadow_set_id"])
        job_shadow_ids = {s["id"] for s in ds.get("shadows") or []}
        mount_folders = [v["mount_folder"] for v in plan.get("volumes") or []]
        left = [
            normalize_guid(str(s.get("id")))
            for s in collected["shadows"]
            if normalize_guid(str(s.get("set_id") or "")) in job_set_ids
            or normalize_guid(str(s.get("id") or "")) in job_shadow_ids
            or jobs.exposed_under(s, mount_folders)
        ]
        cleanup_params: Dict[str, Any] = {"RemoveJobs": [job_id]}
        if left:
            cleanup_params["ShadowIds"] = left
        if runner_dead or final.get("mount_folders_left") or left:
            cleanup_params["MountFolders"] = mount_folders
        if runner_dead:
            cleanup_params["ReleaseLockOf"] = job_id
        if failed and self.args["keep_failed_job"]:
            cleanup_params["KeepJobFolders"] = [job_id]
        cleaned: Dict[str, Any] = {}
        try:
            cleaned = self.call("win_vss_backup_cleanup", cleanup_params, "cleanup")
        except PayloadError as exc:
            self.warnings.append(f"cleanup of job {job_id} failed: {exc.message}")
        for err in cleaned.get("shadow_errors") or []:
            self.warnings.append(
                f"shadow copy {err.get('id')} of job {job_id} could not be deleted: {err.get('error')}"
            )
        return cleaned

    def retention_policy(self) -> Dict[str, int]:
        return {k: v for k, v in (self.args.get("retention") or {}).items() if v}

    def room_for(self, plan: Mapping[str, Any], listed: Any, free_bytes: int, required: int) -> Dict[str, Any]:
        """What expire_before_copy_when_short would delete (see _vss.generations.expiry_for_room)."""
        try:
            entries = listed_generations(listed, plan["generation"])
        except ValueError as exc:
            raise StepFailed("retention", f"the generations at {plan['host_path']} cannot be read: {exc}") from None
        return expiry_for_room(
            entries,
            self.retention_policy(),
            new_generation=plan["generation"],
            now=utcnow(),
            free_bytes=free_bytes,
            required_bytes=required,
        )

    def answer_space(self, job_id: str, plan: Optional[Mapping[str, Any]], status: Mapping[str, Any]) -> None:
        """The job is short of space and asks what the policy already expires: name it, or refuse."""
        collected = self.collect(job_id, plan, only_space=True)
        plan = collected["plan"]
        listing = collected.get("generations") or {}
        free = int(status.get("destination_free_bytes") or 0)
        required = int(status.get("required_bytes") or plan.get("total_bytes") or 0)
        room = self.room_for(plan, listing.get("generations"), free, required)
        self.room = dict(room, free_bytes=free, total_bytes=status.get("destination_total_bytes"), required=required)
        answer = {"decision": "expire" if room["enough"] else "refuse", "delete_generations": []}
        if room["enough"]:
            answer["delete_generations"] = [plan["host_path"] + "\\" + g for g in room["expire"]]
            self.warnings.append(
                f"destination {plan['host_path']} was {_human(room['short_by'])} short of space: expired"
                f" {', '.join(room['expire'])} before the copy ({_human(room['frees'])} by their manifests),"
                f" as retention would after this backup (expire_before_copy_when_short); kept the newest complete"
                f" generation {room['protected']}"
            )
        self.signal(job_id, "space.json", answer, "make room")

    def answer_restic_plan(
        self, job_id: str, plan: Optional[Mapping[str, Any]], status: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        """The restic job read its repository's config and snapshot list (before any shadow copy): answer with the
        backup steps, each naming its VM's newest snapshot as parent, or refuse (see _restic.job.plan_answer)."""
        if plan is None:
            plan = self.collect(job_id, None, only_space=True)["plan"]
        texts = self.collect_restic(job_id, list(plan["restic"].get("probe") or []))
        try:
            answer = restic_job.plan_answer(plan, status, texts)
        except ResticOptionError as exc:  # a snapshot id restic printed that is not one
            answer = {"decision": "refuse", "error": str(exc), "steps": [], "report": {}}
        self.signal(job_id, restic_job.PLAN_ANSWER_FILE, answer, "restic plan")
        return plan

    def signal(self, job_id: str, name: str, body: Mapping[str, Any], step: str, **partial: Any) -> None:
        """Hand the runner an answer (the signal payload signs it with the job's key on the host)."""
        try:
            self.call("win_vss_backup_signal", {"JobId": job_id, "Name": name, "Text": json.dumps(body)}, step)
        except PayloadError as exc:
            raise StepFailed(step, exc.message, job_id=job_id, **partial) from None

    def select_expired(
        self, plan: Mapping[str, Any], manifest: Mapping[str, Any], collected: Mapping[str, Any]
    ) -> List[str]:
        """Retention over the generations the job account listed on the host (generations.json)."""
        policy = self.retention_policy()
        if not policy:
            return []
        from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.retention import select_expired

        listing = collected.get("generations")
        account = (collected.get("status") or {}).get("account") or self.args.get("run_as") or "the job account"
        if not isinstance(listing, Mapping) or listing.get("error") or not isinstance(listing.get("generations"), list):
            why = (
                listing.get("error")
                if isinstance(listing, Mapping) and listing.get("error")
                else "the job left no list of them (it was started by an earlier version of this module)"
            )
            self.warnings.append(
                f"retention did not run: the generations in {plan['host_path']} could not be listed as {account}"
                f" ({why}); no generation was expired, so the destination keeps growing until this is fixed"
            )
            self.retention_skipped = True
            return []
        try:
            entries = listed_generations(listing["generations"], plan["generation"])
        except ValueError as exc:
            self.warnings.append(f"retention did not run: the generations in {plan['host_path']} cannot be read: {exc}")
            self.retention_skipped = True
            return []
        generations = [{k: e[k] for k in ("id", "finished_at", "complete")} for e in entries]
        # complete generations whose copies were checked only by exit codes (verify: none)
        unverified = [e["id"] for e in entries if e["complete"] and (e.get("manifest") or {}).get("verify") == "none"]
        generations.append(retention_entry(plan["generation"], manifest))
        if manifest.get("verify") == "none":
            unverified.append(plan["generation"])
        expired = sorted(g for g in select_expired(generations, policy, utcnow()) if g != plan["generation"])
        kept = sorted(g for g in unverified if g not in expired)
        if expired and kept:
            self.warnings.append(
                f"retention expires {len(expired)} generation(s) ({', '.join(expired)}) while the generation(s) kept"
                f" in their place ({', '.join(kept)}) were verified with verify: none, that is only by robocopy's"
                " exit codes and the files' presence, not by their sizes or SHA-256; use verify: size or hash"
                " before relying on them"
            )
        return expired

    def warn_rejected_verdicts(self, status: Mapping[str, Any], job_id: str) -> None:
        for rejected in status.get("rejected_verdicts") or []:
            self.warnings.append(
                f"job {job_id}: a verdict.json that was not signed for this job appeared in its job folder at"
                f" {rejected.get('at')} and was ignored ({rejected.get('reason')}); only this module writes"
                " there: check who can write to %ProgramData%\\vaware.hyperv"
            )

    def warn_unattributed(self, status: Mapping[str, Any], job_id: str) -> None:
        ids = [normalize_guid(str(i)) for i in status.get("unattributed_shadows") or []]
        if ids:
            self.warnings.append(
                f"job {job_id} was stopped while diskshadow was creating its snapshot; shadow copies that appeared"
                f" on its volumes meanwhile could not be attributed to it and were left alone: {', '.join(ids)}"
                " (check with 'vssadmin list shadows' and delete them by id if they are not another product's)"
            )

    # ---------------------------------------------------------------------------------- cancel

    def cancel(self) -> Dict[str, Any]:
        pre = self.preflight()
        wanted = self.args.get("job_id")
        job = jobs.find_job(pre, wanted) if wanted else jobs.running_job(pre)
        if job is None and not wanted:
            self.refuse_young_lock(pre, "cancel", "cancel it")
            dead = jobs.dead_lock(pre, utcnow())
            if dead and dead != "unknown":
                job = jobs.find_job(pre, dead)
        if job is None:
            return self.finish({"changed": False, "msg": "no backup job of this collection is running on the host"})
        job_id = str(job["job_id"])
        alive = jobs.job_alive(job)
        result: Dict[str, Any] = {"changed": True, "job_id": job_id, "cancelled": True}
        if self.check_mode:
            result["msg"] = f"check mode: would cancel job {job_id}"
            return self.finish(result)
        if alive:
            try:
                self.call("win_vss_backup_signal", {"JobId": job_id, "Name": "cancel.request"}, "cancel")
            except PayloadError as exc:
                raise StepFailed("cancel", exc.message, job_id=job_id) from None
            polled = self.poll(job_id, ("done",), "stop after the cancel request")
            status = polled.get("status") or {}
            dead = bool(polled.get("runner_dead"))
        else:
            status = job.get("status") or {}
            dead = True
        collected = self.collect(job_id, None)
        plan = collected["plan"]
        ds = parse_output(collected["transcript"])
        set_ids = {normalize_guid(s) for s in (status.get("shadow_set_ids") or [])}
        if ds.get("shadow_set_id"):
            set_ids.add(ds["shadow_set_id"])
        mount_folders = [v["mount_folder"] for v in plan.get("volumes") or []]
        left = [
            normalize_guid(str(s.get("id")))
            for s in collected["shadows"]
            if normalize_guid(str(s.get("set_id") or "")) in set_ids or jobs.exposed_under(s, mount_folders)
        ]
        params: Dict[str, Any] = {"RemoveJobs": [job_id], "MountFolders": mount_folders}
        if left:
            params["ShadowIds"] = left
        if dead:
            params["ReleaseLockOf"] = job_id
        if self.args["keep_failed_job"]:
            params["KeepJobFolders"] = [job_id]
        try:
            cleaned = self.call("win_vss_backup_cleanup", params, "cleanup")
        except PayloadError as exc:
            raise StepFailed("cleanup", exc.message, job_id=job_id) from None
        deleted = outcome.deleted_shadows(ds, collected, collected["status"], cleaned)
        self.warn_unattributed(collected["status"], job_id)
        result.update(
            shadows_created=[s["id"] for s in ds.get("shadows") or []],
            shadows_deleted=deleted,
            generation=plan.get("generation"),
            msg=f"cancelled backup job {job_id}" + (" (its runner had already ended)" if dead and not alive else ""),
        )
        for err in cleaned.get("shadow_errors") or []:
            self.warnings.append(
                f"shadow copy {err.get('id')} of job {job_id} could not be deleted: {err.get('error')}"
            )
        return self.finish(result)

    # ---------------------------------------------------------------------------------- result

    def finish(self, result: Dict[str, Any]) -> Dict[str, Any]:
        warnings = list(dict.fromkeys(list(result.get("warnings") or []) + self.warnings))
        result["warnings"] = warnings
        result["remote_calls"] = self.calls
        result.setdefault("vms", [])
        result.setdefault("shadows_created", [])
        result.setdefault("shadows_deleted", [])
        result.setdefault("expired", [])
        return result


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        _validate(args)
        try:
            args["_restic"] = restic_job.check_repository_option(args.get("repository"))
        except ResticOptionError as exc:
            raise AnsibleActionFail(str(exc)) from None
        job = BackupRun(self, task_vars, args)
        try:
            outcome = job.run()
        except StepFailed as exc:
            outcome = job.finish(dict(exc.partial))
            outcome.update(failed=True, step=exc.step, msg=str(exc))
            outcome.setdefault("changed", bool(exc.partial.get("started") or exc.partial.get("attached")))
        except PayloadError as exc:
            outcome = job.finish({"failed": True, "changed": False, "step": exc.step, "msg": str(exc)})
            if exc.details:
                outcome["details"] = exc.details
        result.update(outcome)
        return result
