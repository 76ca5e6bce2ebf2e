# Copyright (c) vaware.hyperv contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Size and render time of the fleet report for a fleet of ``--hosts`` hosts.

Runs the role's report entry point (the same playbook the report tests use) with the recorded per-host results
of ``tests/functional/playbooks/recorded_results.py`` and prints the size of backup-report.html and
backup-report.json, the number of style attributes and <style> blocks, and the wall time. Figures are printed,
not judged.

    .venv/bin/python benchmarks/report_size.py [--hosts 200]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / ".tmp" / "collections"))

from ansible_collections.vaware.hyperv.tests.functional.playbooks import recorded_results  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        results = recorded_results.fleet(args.hosts)
        hosts = {name: {"hyperv_backup_host_result": result} for name, result in results.items()}
        inventory = tmp / "inventory.yml"
        inventory.write_text(yaml.safe_dump({"all": {"children": {"hyperv_hosts": {"hosts": hosts}}}}), "utf-8")
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".tmp" / "collections"), ANSIBLE_NOCOLOR="1")
        started = time.monotonic()
        subprocess.run(
            [str(ROOT / ".venv" / "bin" / "ansible-playbook"),
             str(ROOT / "tests" / "functional" / "playbooks" / "report_from_recorded_results.yml"),
             "-i", str(inventory), "-e", f"hyperv_backup_report_dir={tmp / 'report'}"],
            env=env, cwd=tmp, capture_output=True, text=True, check=False,
        )  # fmt: skip
        seconds = time.monotonic() - started
        html = (tmp / "report" / "backup-report.html").read_text(encoding="utf-8")
        data = (tmp / "report" / "backup-report.json").stat().st_size
    vms = sum(len(r["backup"].get("vms") or []) for r in results.values())
    print(f"hosts: {args.hosts}, VMs: {vms}")
    print(f"backup-report.html: {len(html.encode('utf-8')) / 1024:.1f} KiB")
    print(f"backup-report.json: {data / 1024:.1f} KiB")
    print(f"style attributes: {len(re.findall(r' style=', html))}, <style> blocks: {html.count('<style')}")
    print(f"report play: {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
