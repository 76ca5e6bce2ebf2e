"""Benchmark: repository bytes after N nights of a VHDX-like VM, full copies (files) vs a restic repository.

A VM folder shaped like Hyper-V's (``Virtual Machines\\<id>.vmcx/.vmgs/.VMRS``, ``Virtual Hard
Disks\\<name>.vhdx``, random content) is backed up once a night for N nights into a fresh local restic
repository with the argument lists the collection builds (plugins/plugin_utils/_restic), by the real
restic on this machine. Between nights C % of the disk's blocks are rewritten:

* ``blocks``: C % of 1 MiB blocks (the granularity backup products quote change rates in; ``--block-kib``
  changes the size);
* ``scattered``: the same number of bytes as 4 KiB writes spread over the disk (restic's worst case:
  nearly every content-defined chunk is touched).

The files repository keeps a full copy per night, so it holds N x the VM's size; that figure is
arithmetic, not measured (robocopy copies every byte of every file). The restic figure is the size of
the repository folder on disk after each night; wall time is restic's run per night.

    .venv/bin/python benchmarks/storage_growth.py [--nights 14] [--change 2] [--disk-mib 256]
                                                  [--block-kib 1024] [--pattern blocks|scattered|both]

Goal (2 % daily change, 1 MiB blocks, 14 nights): restic <= 1.5 x one full copy (files: 14 x).
Random data does not compress, so compression plays no part in these figures.
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

import restic_tools  # noqa: E402

from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic import command, messages  # noqa: E402
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic.options import (  # noqa: E402
    validate_repository,
    vm_tags,
)

VM_ID = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
MIB = 1024 * 1024
GOAL = 1.5  # x one full copy, for 2 % daily change over 14 nights


def folder_bytes(path: pathlib.Path) -> int:
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


def run(pattern: str, nights: int, change: float, disk_mib: int, block_kib: int, work: pathlib.Path) -> dict:
    repository = validate_repository(
        {"type": "restic", "location": "D:\\restic", "password": restic_tools.TEST_PASSWORD}
    )
    repository["location"] = str(work / "repo")
    restic = restic_tools.Restic(repository, work / "pw", work / "cache")
    done = restic.run(command.init_args(repository))
    if done.returncode != 0:
        raise SystemExit(f"restic init failed: {done.stderr.strip()}")
    volume = work / "volume"
    vm = restic_tools.make_vm_folder(volume, "VM01", VM_ID, disk_mib * MIB)
    disk = vm["path"] / "Virtual Hard Disks" / "VM01.vhdx"
    full = sum(vm["files"].values())
    block = block_kib * 1024 if pattern == "blocks" else 4096
    rows = []
    for night in range(1, nights + 1):
        if night > 1:
            restic_tools.change_blocks(disk, change / 100, block, seed=night)
        args = command.backup_args(repository, ["VM01"], vm_tags("VM01", VM_ID), "HV01")
        started = time.monotonic()
        done = restic.run(args, cwd=volume, timeout=3600)
        seconds = time.monotonic() - started
        result = messages.parse_backup(done.stdout, done.stderr, done.returncode)
        if not result["ok"]:
            raise SystemExit(f"night {night}: restic backup failed: {result['failure']}")
        rows.append(
            {
                "night": night,
                "added": result["summary"]["data_added"],
                "repo": folder_bytes(work / "repo"),
                "files": night * full,
                "seconds": seconds,
            }
        )
    return {"pattern": pattern, "block": block, "full": full, "rows": rows}


def report(result: dict, change: float) -> None:
    full = result["full"]
    what = f"{result['block'] // 1024} KiB blocks" if result["pattern"] == "blocks" else "scattered 4 KiB writes"
    print(f"\n{change:g} % of the disk changed per night as {what}; one full copy = {full / MIB:.1f} MiB")
    header = ("night", "restic added", "restic repo", "files repo", "restic/full", "files/full", "s/night")
    print("{:>5} {:>13} {:>12} {:>11} {:>12} {:>11} {:>8}".format(*header))
    for row in result["rows"]:
        print(
            f"{row['night']:>5} {row['added'] / MIB:>9.1f} MiB {row['repo'] / MIB:>8.1f} MiB"
            f" {row['files'] / MIB:>7.0f} MiB {row['repo'] / full:>11.2f}x {row['files'] / full:>10.0f}x"
            f" {row['seconds']:>8.2f}"
        )
    last = result["rows"][-1]
    ratio = last["repo"] / full
    print(
        f"after {last['night']} nights: restic {ratio:.2f} x one full copy, files {last['files'] / full:.0f} x;"
        f" restic repository = {last['repo'] / last['files']:.1%} of the files repository"
    )
    if result["pattern"] == "blocks" and result["block"] == MIB and last["night"] == 14 and change == 2:
        verdict = "met" if ratio <= GOAL else "NOT met"
        print(f"goal restic <= {GOAL} x one full copy: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nights", type=int, default=14)
    parser.add_argument("--change", type=float, default=2.0, help="percent of the disk changed per night")
    parser.add_argument("--disk-mib", type=int, default=256)
    parser.add_argument("--block-kib", type=int, default=1024, help="size of a changed block (pattern blocks)")
    parser.add_argument("--pattern", choices=("blocks", "scattered", "both"), default="both")
    options = parser.parse_args()
    if restic_tools.RESTIC is None:
        raise SystemExit("restic is not installed (bindep.txt lists it; scripts/setup.sh installs it)")
    version = restic_tools.subprocess.run([restic_tools.RESTIC, "version"], capture_output=True, text=True, check=False)
    print(f"{version.stdout.strip()}; {options.nights} nights, disk {options.disk_mib} MiB, {os.cpu_count()} CPUs")
    patterns = ("blocks", "scattered") if options.pattern == "both" else (options.pattern,)
    for pattern in patterns:
        with tempfile.TemporaryDirectory(prefix="vaware-storage-growth-") as work:
            report(
                run(pattern, options.nights, options.change, options.disk_mib, options.block_kib, pathlib.Path(work)),
                options.change,
            )


if __name__ == "__main__":
    main()
