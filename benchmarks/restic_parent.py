"""Benchmark: a night of HV01's restic job with and without the parent snapshot the job names (``--parent``).

HV01's plan (``tests/support/restic_job.py``: web01 and db01, each a VHDX and its configuration files) runs with
the real restic on this machine, one job a night, each from a new job folder (the stand-in of the exposed shadow
folders is renamed, so the files keep their times, as in a new shadow copy of the same volume). web01 runs (C %
of its disk's 1 MiB blocks change a night), db01 is off (nothing changes). Each night is backed up twice into
two repositories: with the parents of the probe and answer (``_restic.job.plan_answer``), and with the plan's
steps as they were before, without a parent. Printed per night and repository: restic's wall time for both
VMs, the files restic read again (new + changed) and found unmodified, and the bytes of the files it read.

    .venv/bin/python benchmarks/restic_parent.py [--nights 4] [--disk-mib 256] [--change 2]

Goal: from the second night on, with the parent restic reads only the changed VM (db01's files all unmodified:
half the bytes), without it every file. The seconds are printed as measured: here the files are in the page
cache and restic's fixed cost per run (opening the repository, loading the index) weighs in; on a host, reading
a shadow copy of a large VHDX dominates, and that is what the parent saves.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))
import run_module  # noqa: E402  (tests/support: the .tmp/collections link to this checkout)

sys.path.insert(0, str(run_module.ensure_collection_link()))

import restic_job  # noqa: E402
import restic_tools  # noqa: E402

from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic import command, job  # noqa: E402

MIB = 1024 * 1024
JOB_IDS = [f"202611{25 + n:02d}T020000Z-0123abc{n}" for n in range(10)]


def night(restic, plan, stand_in, with_parent: bool) -> dict:
    steps = plan["steps"]
    codes, texts = {}, {}
    if with_parent:
        codes, texts = stand_in.run_steps(restic, plan["restic"]["probe"])
        answer = job.plan_answer(plan, {"restic_exit_codes": codes}, texts)
        assert answer["decision"] == "backup", answer["error"]
        steps = answer["steps"]
    started = time.monotonic()
    more_codes, more_texts = stand_in.run_steps(restic, steps)
    seconds = time.monotonic() - started
    found = job.analyse(plan, {"restic_exit_codes": {**codes, **more_codes}}, {**texts, **more_texts})
    read_bytes = 0
    for vm in plan["vms"]:
        result = next(r for r in found["vms"] if r["name"] == vm["name"])
        if result["files_unmodified"] != result["files"]:
            # which files restic read is not printed; a changed VM is counted whole (its disk is most of it)
            read_bytes += sum(stand_in.path(f["shadow_path"]).stat().st_size for f in vm["files"])
    db01 = next(r for r in found["vms"] if r["name"] == "db01")
    return {
        "db01_skipped": db01["files_unmodified"] == db01["files"],
        "seconds": seconds,
        "read": sum((r["files_new"] or 0) + (r["files_changed"] or 0) for r in found["vms"]),
        "unmodified": sum(r["files_unmodified"] or 0 for r in found["vms"]),
        "read_bytes": read_bytes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nights", type=int, default=4)
    parser.add_argument("--disk-mib", type=int, default=256)
    parser.add_argument("--change", type=float, default=2.0, help="percent of web01's disk changed per night")
    options = parser.parse_args()
    if restic_tools.RESTIC is None:
        raise SystemExit("restic is not installed (bindep.txt lists it; scripts/setup.sh installs it)")
    print(f"{options.nights} nights, disks {options.disk_mib} MiB, web01 {options.change:g} % a night,", end=" ")
    print(f"{os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="vaware-restic-parent-") as tmp:
        work = pathlib.Path(tmp)
        repos = {}
        for mode in ("parent", "no parent"):
            repo = restic_job.repository(restic_tools.TEST_PASSWORD)
            repo["location"] = str(work / mode.replace(" ", "-"))
            restic = restic_tools.Restic(repo, work / f"{mode}.pass", work / "cache")
            assert restic.run(command.init_args(repo)).returncode == 0
            repos[mode] = (repo, restic)
        root = work / "job0"
        stand_in = None
        print(
            "{:>5} {:>10} {:>9} {:>11} {:>10} {:>9}".format(
                "night", "mode", "seconds", "files read", "unmodified", "MiB read"
            )
        )
        figures = []
        for index in range(options.nights):
            plan = restic_job.plan(repos["parent"][0], job_id=JOB_IDS[index])
            if stand_in is None:
                stand_in = restic_job.StandIn(root, plan)
                stand_in.make_vm_files(vhd_bytes=options.disk_mib * MIB)
            else:
                stand_in.change(options.change / 100, seed=index, vms=["web01"])
                stand_in.root.rename(work / f"job{index}")
                stand_in = restic_job.StandIn(work / f"job{index}", plan)
            row = {}
            for mode, (_repo, restic) in repos.items():
                row[mode] = night(restic, plan, stand_in, with_parent=mode == "parent")
                r = row[mode]
                print(
                    f"{index + 1:>5} {mode:>10} {r['seconds']:>9.2f} {r['read']:>11} {r['unmodified']:>10}"
                    f" {r['read_bytes'] / MIB:>9.0f}"
                )
            figures.append(row)
        later = figures[1:]
        if later:
            ratio = sum(r["parent"]["seconds"] for r in later) / sum(r["no parent"]["seconds"] for r in later)
            read = sum(r["parent"]["read_bytes"] for r in later) / sum(r["no parent"]["read_bytes"] for r in later)
            print(f"nights 2-{options.nights}: with the parent {read:.0%} of the bytes read, {ratio:.0%} of the time")
            verdict = "met" if all(r["parent"]["db01_skipped"] for r in later) else "NOT met"
            print(f"goal (with the parent no file of the unchanged VM db01 read again): {verdict}")


if __name__ == "__main__":
    main()
