"""HV01 (see ``vss_backup_host.py``) backing up to a restic repository: the payload answers of one task run.

restic's output comes from the real restic: ``tests/unit/fixtures/restic/job_*``, recorded by
``tests/support/record_restic_job.py`` with the argument lists of this host's restic plan. The step ids are
the plan's: ``r001`` web01, ``r002`` db01, ``check``; the verdict's forget steps ``f001``, ``f002``.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any, Dict, Mapping, Optional, Tuple

from ansible_collections.vaware.hyperv.tests.support import vss_backup_host as hv
from ansible_collections.vaware.hyperv.tests.support.scripted_host import ok

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "unit" / "fixtures" / "restic"
PASSWORD = "s3cret-Restic-pass"
LOCATION = "\\\\nas01\\restic\\hyperv"
REPOSITORY = {"type": "restic", "location": LOCATION, "password": PASSWORD}
RESTIC_PATH = "C:\\Program Files\\restic\\restic.exe"
STEP_VM = {"r001": "web01", "r002": "db01"}


def recorded(case: str) -> Tuple[str, str, int]:
    """(stdout, stderr, exit code) of a recorded restic run."""
    out = (FIXTURES / f"{case}.stdout").read_text(encoding="utf-8")
    err = (FIXTURES / f"{case}.stderr").read_text(encoding="utf-8")
    return out, err, int((FIXTURES / f"{case}.rc").read_text(encoding="utf-8"))


def summary(case: str) -> Dict[str, Any]:
    for line in recorded(case)[0].splitlines():
        if '"message_type":"summary"' in line:
            return json.loads(line)
    raise KeyError(case)


def preflight(version_case: Optional[str] = "version", exists: bool = True, **host: Any) -> Dict[str, Any]:
    """The preflight answer with what it found at repository.restic_path (``host``: hv.preflight's options)."""
    body = json.loads(hv.preflight(**host)["result"])
    body["restic"] = {
        "path": RESTIC_PATH,
        "exists": exists,
        "version": recorded(version_case)[0] if version_case and exists else None,
        "error": None,
    }
    return ok(body)


def outputs(cases: Mapping[str, str]) -> Dict[str, Tuple[str, str, int]]:
    """Step id -> the recorded run it printed."""
    return {step: recorded(case) for step, case in cases.items()}


def exit_codes(runs: Mapping[str, Tuple[str, str, int]]) -> Dict[str, int]:
    return {step: run[2] for step, run in runs.items()}


def collect(runs: Mapping[str, Tuple[str, str, int]], **fields: Any) -> Dict[str, Any]:
    """The first collect of the job (status, plan files, transcript) while the runner awaits the verdict."""
    status_fields = {
        "restic_exit_codes": {**exit_codes(outputs(PROBE)), **exit_codes(runs)},
        "listing_written": True,
        # the runner deleted the shadows diskshadow left exposed for restic
        "shadows_deleted": ["{" + hv.SHADOW_D.upper() + "}", "{" + hv.SHADOW_FAST.upper() + "}"],
        **fields,
    }
    shadows = status_fields.pop("host_shadows", None)
    return hv.collect(
        status_fields=status_fields,
        transcript_name="diskshadow_restic_success.txt",
        copy={},
        files=[],
        sizes=None,
        generations=None,
        shadows=shadows,
    )


def restic_files(runs: Mapping[str, Tuple[str, str, int]], **extra: Any) -> Dict[str, Any]:
    """The collect answer for the restic steps' stdout (``restic-<id>.out``) and stderr (``.err``) files."""
    found = {}
    for step, (out, err, _rc) in runs.items():
        found[f"restic-{step}.out"] = {"size": len(out), "truncated": False, "text": out}
        found[f"restic-{step}.err"] = {"size": len(err), "truncated": False, "text": err}
    return ok({"job_id": hv.JOB_ID, "job_dir_exists": True, "files": found, "shadows": [], **extra})


#: The probe before the snapshot: ``cat config`` (a format version 2 repository) and each VM's newest snapshot.
PROBE = {"config": "job_probe_config", "parents": "job_probe_parents"}
NIGHT = {"r001": "job_backup_web01", "r002": "job_backup_db01", "check": "job_check"}


def probe_files(probe: Optional[Mapping[str, str]] = None) -> Dict[str, Any]:
    """The collect answer for the probe steps' outputs (the controller reads them to answer the runner)."""
    return restic_files(outputs(PROBE if probe is None else probe))


def plan_answer(
    probe: Optional[Mapping[str, str]] = None, repository: Optional[Mapping[str, Any]] = None
) -> Dict[str, Any]:
    """The controller's answer (``_restic.job.plan_answer``) to this probe for HV01's plan with ``repository``."""
    from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic import job as restic_job
    from ansible_collections.vaware.hyperv.tests.support import restic_job as stand_in

    runs = outputs(PROBE if probe is None else probe)
    texts = {}
    for step, (out, err, _rc) in runs.items():
        texts[f"restic-{step}.out"], texts[f"restic-{step}.err"] = out, err
    options = {key: value for key, value in (repository or REPOSITORY).items() if key not in ("type", "location")}
    options.pop("password", None)
    plan = stand_in.plan(stand_in.repository(PASSWORD, **options))
    return restic_job.plan_answer(plan, {"restic_exit_codes": exit_codes(runs)}, texts)


def plan_report(probe: Optional[Mapping[str, str]] = None) -> Dict[str, Any]:
    """What the runner records as ``restic_plan`` from the controller's answer to this probe."""
    return plan_answer(probe)["report"]


FORGET = {"f001": "job_forget_web01", "f002": "job_forget_db01"}


def scenario(night: Optional[Mapping[str, str]] = None, forget: Optional[Mapping[str, str]] = None, **over: Any):
    """A restic job of HV01: backups and check as ``night`` (step -> recorded case), then, when the controller
    names forget steps, those as ``forget``. Answers for steps that are not reached are left out by callers."""
    runs = outputs(night or NIGHT)
    probed = outputs(PROBE)
    report = plan_report()
    result = {
        "win_vss_backup_preflight": [preflight()],
        "win_vss_backup_start": [hv.start_ok()],
        "win_vss_backup_status": [
            hv.status("awaiting_restic_plan", restic_exit_codes=exit_codes(probed)),
            hv.status("diskshadow", restic_plan=report),
            hv.status("restic_backup", restic_progress={"vm": "web01", "step": "r001", "percent_done": 0.5}),
            hv.status("awaiting_verdict"),
        ],
        "win_vss_backup_collect": [probe_files(), collect(runs, restic_plan=report), restic_files(runs)],
        "win_vss_backup_signal": [hv.signal_ok("restic_plan.json"), hv.signal_ok()],
        "win_vss_backup_cleanup": [hv.cleanup_ok()],
    }
    final = {**exit_codes(probed), **exit_codes(runs)}
    if forget is not None:
        forgotten = outputs(forget)
        final.update(exit_codes(forgotten))
        result["win_vss_backup_collect"].append(restic_files(forgotten))
    result["win_vss_backup_status"].append(
        hv.final_status(manifest_written=False, restic_exit_codes=final, restic_plan=report)
    )
    result.update(over)
    return result
