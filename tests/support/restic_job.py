"""A win_vss_backup restic job of the test host HV01, run with the real restic on Linux.

The plan is the one the action plugin makes for HV01 (``tests/support/vss_backup_host.py``:
web01 on D:, db01 on a volume mounted on a folder) with ``_vss.plan.build_plan(destination=None)`` and
``_restic.job.add_restic_steps``. :class:`StandIn` puts a folder tree where the plan's exposed shadow
folders would be (``<job_dir>\\mnt\\VAWVOL1`` -> ``<root>/mnt/VAWVOL1``) and runs each step's argument list
with the real restic: the arguments are the plan's, except that the backup paths after ``--`` get ``/``
for ``\\`` (restic on Linux splits paths at ``/`` only); the working directory is the stand-in of the step's.
"""

from __future__ import annotations

import json
import pathlib
import random
import subprocess
from typing import Any, Dict, List, Mapping, Optional

from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic.job import add_restic_steps
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic.options import validate_repository
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.plan import build_plan
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.volumes import normalize_volumes
from ansible_collections.vaware.hyperv.tests.support import vss_backup_host as hv

#: The location the plan is made with (a share on the Windows side); tests point restic at a local folder.
LOCATION = "\\\\nas01\\restic\\hyperv"
# small stand-ins for the inventory's sizes (40 GiB disks): the kind of file decides, not its real size
STAND_IN_BYTES = {"config": 48 * 1024, "vhd": 3 * 1024 * 1024}


def repository(password: str, **extra: Any) -> Dict[str, Any]:
    return validate_repository({"type": "restic", "location": LOCATION, "password": password, **extra})


def plan(repo: Mapping[str, Any], job_id: str = hv.JOB_ID, **options: Any) -> Dict[str, Any]:
    """The plan the action plugin makes for HV01 with this repository (``options``: build_plan's, e.g. extra_paths)."""
    pre = json.loads(hv.preflight()["result"])
    base = build_plan(
        "HV01",
        pre["vms"],
        normalize_volumes(pre["volumes"], pre["mount_points"]),
        destination=None,
        job_id=job_id,
        job_dir=hv.JOBS_ROOT + "\\" + job_id,
        now=hv.NOW,
        **options,
    )
    return add_restic_steps(base, repo)


class StandIn:
    """A Linux folder standing in for the job folder of ``plan`` (mount folders included)."""

    def __init__(self, root: pathlib.Path, job_plan: Mapping[str, Any]):
        self.root = pathlib.Path(root)
        self.plan = job_plan
        self.job_dir = job_plan["job_dir"]

    def path(self, windows_path: str) -> pathlib.Path:
        """The stand-in of a path inside the job folder."""
        prefix = self.job_dir.rstrip("\\") + "\\"
        if windows_path.rstrip("\\") == self.job_dir.rstrip("\\"):
            return self.root
        assert windows_path.startswith(prefix), windows_path
        return self.root.joinpath(*windows_path[len(prefix) :].split("\\"))

    def make_vm_files(self, seed: int = 1, vhd_bytes: Optional[int] = None) -> Dict[str, bytes]:
        """Every planned VM file at its place in the (stand-in) exposed shadow folder; returns path -> data.

        ``vhd_bytes``: the size of each disk (default the small stand-in size)."""
        rng = random.Random(seed)  # noqa: S311 - reproducible test data
        sizes = dict(STAND_IN_BYTES, **({"vhd": vhd_bytes} if vhd_bytes else {}))
        written = {}
        for vm in self.plan["vms"]:
            for planned in vm["files"]:
                target = self.path(planned["shadow_path"])
                target.parent.mkdir(parents=True, exist_ok=True)
                size = sizes["vhd" if planned["kind"] == "vhd" else "config"]
                data = b"".join(
                    rng.randbytes(min(16 * 1024 * 1024, size - at)) for at in range(0, size, 16 * 1024 * 1024)
                )
                target.write_bytes(data)
                written[planned["shadow_path"]] = data
        return written

    def make_extra_files(self, count: int = 5, seed: int = 3) -> None:
        """A few files in each planned extra path's folder (in the stand-in exposed shadow folder)."""
        rng = random.Random(seed)  # noqa: S311 - reproducible test data
        for step in self.plan["steps"]:
            if not step.get("extra_path"):
                continue
            folder = self.path(step["working_dir"]).joinpath(*step["paths"][0].split("\\"))
            (folder / "sub").mkdir(parents=True, exist_ok=True)
            for index in range(count):
                (folder / ("sub" if index % 2 else ".") / f"file{index}.ps1").write_bytes(rng.randbytes(20000))

    def change(self, fraction: float = 0.1, seed: int = 2, vms: Optional[List[str]] = None) -> None:
        """A night of guest writes: ``fraction`` of each disk's 1 MiB blocks rewritten (only ``vms``' when given)."""
        rng = random.Random(seed)  # noqa: S311 - reproducible test data
        for vm in self.plan["vms"]:
            if vms is not None and vm["name"] not in vms:
                continue
            for planned in vm["files"]:
                if planned["kind"] != "vhd":
                    continue
                target = self.path(planned["shadow_path"])
                blocks = max(1, target.stat().st_size // (1024 * 1024))
                with open(target, "r+b") as handle:
                    for block in rng.sample(range(blocks), max(1, int(blocks * fraction))):
                        handle.seek(block * 1024 * 1024)
                        handle.write(rng.randbytes(1024 * 1024))

    def run_steps(self, restic: Any, steps: Any) -> tuple:
        """Run steps one after the other as the runner does; returns (exit codes by step id, outputs by file name).

        A backup step that names a parent and carries ``retry_without_parent`` is followed, as in the runner, by
        that retry when restic exited 1 before printing a status line (the parent was gone).
        """
        codes: Dict[str, int] = {}
        texts: Dict[str, str] = {}

        def one(step: Mapping[str, Any]) -> subprocess.CompletedProcess:
            done = self.run(restic, step)
            codes[step["id"]] = done.returncode
            texts[step["stdout"].rsplit("\\", 1)[1]] = done.stdout
            texts[step["stderr"].rsplit("\\", 1)[1]] = done.stderr
            return done

        for step in steps:
            done = one(step)
            retry = step.get("retry_without_parent")
            if retry and done.returncode == 1 and '"message_type":"status"' not in done.stdout:
                one(retry)
        return codes, texts

    @staticmethod
    def linux_args(step: Mapping[str, Any]) -> List[str]:
        """The step's argument list; backup paths after ``--`` with ``/`` separators."""
        args = list(step["args"])
        if step["kind"] == "backup":
            split = args.index("--")
            args[split + 1 :] = [p.replace("\\", "/") for p in args[split + 1 :]]
        return args

    def run(
        self, restic: Any, step: Mapping[str, Any], env: Optional[Mapping[str, str]] = None
    ) -> subprocess.CompletedProcess:
        """Run one step as the job runner does (working directory, argument list) with the real restic."""
        cwd = self.path(step["working_dir"])
        if env is None:
            return restic.run(self.linux_args(step), cwd=cwd)
        argv = [restic_binary(), *self.linux_args(step)]
        return subprocess.run(argv, cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=300, check=False)


def restic_binary() -> str:
    import restic_tools

    assert restic_tools.RESTIC, "restic is not installed: scripts/setup.sh installs it (bindep.txt)"
    return restic_tools.RESTIC
