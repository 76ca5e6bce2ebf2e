# Copyright (c) vaware.hyperv contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Size and render time of the fleet report for a fleet of ``--hosts`` hosts.

Runs the role's report entry point (the same playbook the report tests use) with the recorded per-host results
of ``tests/functional/playbooks/recorded_results.py``, a history of ``--nights`` earlier runs (trend, days until
full) and restore proofs for every tenth host, and prints the size of backup-report.html and backup-report.json,
the number of style attributes and <style> blocks, the wall time, and whether the HTML meets the goal of
100 KB (100,000 bytes) for 200 hosts.

    .venv/bin/python benchmarks/report_size.py [--hosts 200] [--nights 14]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / ".tmp" / "collections"))

from ansible_collections.vaware.hyperv.tests.functional.playbooks import recorded_results  # noqa: E402

GOAL_BYTES = 100_000  # a 200-host report, HTML


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--nights", type=int, default=14)
    parser.add_argument("--keep", type=pathlib.Path, help="copy the report folder here for a look")
    parser.add_argument("--profile", action="store_true", help="print the time of each task of the report play")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        results = recorded_results.fleet(args.hosts)
        (tmp / "report" / "history").mkdir(parents=True)
        index = recorded_results.history_index(args.hosts, args.nights)
        if index is not None:
            (tmp / "report" / "history" / "index.json").write_text(json.dumps(index), "utf-8")
        tests = [
            (name, r["backup"]["vms"][0]["name"], 3, True)
            for name, r in list(results.items())[::10]
            if r["backup"]["vms"]
        ]
        proofs = recorded_results.restore_proofs(*tests)
        (tmp / "report" / "restore-proofs.json").write_text(json.dumps(proofs), "utf-8")
        hosts = {name: {"hyperv_backup_host_result": result} for name, result in results.items()}
        inventory = tmp / "inventory.yml"
        inventory.write_text(yaml.safe_dump({"all": {"children": {"hyperv_hosts": {"hosts": hosts}}}}), "utf-8")
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".tmp" / "collections"), ANSIBLE_NOCOLOR="1")
        if args.profile:
            env["ANSIBLE_CALLBACKS_ENABLED"] = "ansible.posix.profile_tasks"
        started = time.monotonic()
        proc = subprocess.run(
            [str(ROOT / ".venv" / "bin" / "ansible-playbook"),
             str(ROOT / "tests" / "functional" / "playbooks" / "report_from_recorded_results.yml"),
             "-i", str(inventory), "-e", f"hyperv_backup_report_dir={tmp / 'report'}"],
            env=env, cwd=tmp, capture_output=True, text=True, check=False,
        )  # fmt: skip
        seconds = time.monotonic() - started
        if args.profile:
            print(proc.stdout[proc.stdout.rfind("=" * 20) :])
        html = (tmp / "report" / "backup-report.html").read_text(encoding="utf-8")
        data = (tmp / "report" / "backup-report.json").stat().st_size
        if args.keep:
            shutil.copytree(tmp / "report", args.keep, dirs_exist_ok=True)
    vms = sum(len(r["backup"].get("vms") or []) for r in results.values())
    size = len(html.encode("utf-8"))
    print(
        f"hosts: {args.hosts}, VMs: {vms}, earlier runs in the history: {args.nights}, VMs with a proof: {len(tests)}"
    )
    print(f"backup-report.html: {size} bytes ({size / 1024:.1f} KiB)")
    print(f"backup-report.json: {data / 1024:.1f} KiB")
    print(f"style attributes: {len(re.findall(r' style=', html))}, <style> blocks: {html.count('<style')}")
    print(f"report play: {seconds:.1f} s")
    if args.hosts == 200:
        verdict = "met" if size < GOAL_BYTES else "NOT met"
        print(f"goal (200 hosts, HTML under {GOAL_BYTES} bytes): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
