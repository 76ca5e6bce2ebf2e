# Copyright (c) vaware.hyperv contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark the robocopy log parser and the retention selection.

1. Writes a synthetic ``/UNILOG+`` robocopy log (UTF-16 like robocopy writes it; many jobs,
   errors spread through) of ``--size-mb`` megabytes into a temporary directory, parses it
   streaming from the open file and prints MB/s and the process's peak RSS before and after
   parsing (flat = the log is not held in memory). The file is deleted afterwards.
2. Builds a history of ``--generations`` generations and times ``select_expired`` on it.

Figures are printed, not judged; the script exits non-zero only when a parse result is wrong.

    python benchmarks/parsers.py [--size-mb 500] [--encoding utf-16] [--generations 10000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import pathlib
import resource
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _load(name: str):
    """Import a plugin_utils module from this checkout (they only need the standard library)."""
    path = ROOT / "plugins" / "plugin_utils" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


robocopy = _load("robocopy")
retention = _load("retention")

FILES_PER_JOB = 2000
ERRORS_PER_JOB = 2


def peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux (bytes on macOS).
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 1048576


def job_text(job: int) -> str:
    src = f"C:\\ProgramData\\vaware\\jobs\\20240115T020000Z\\mnt\\G1\\Hyper-V\\VM{job:05d}\\"
    dst = f"\\\\nas01\\backup\\HV01\\20240115T020000Z\\VM{job:05d}\\"
    lines = [
        "",
        "-------------------------------------------------------------------------------",
        "   ROBOCOPY     ::     Robust File Copy for Windows                              ",
        "-------------------------------------------------------------------------------",
        "",
        "  Started : Monday, January 15, 2024 2:00:31 AM",
        f"   Source : {src}",
        f"     Dest : {dst}",
        "",
        "    Files : *.*",
        "",
        "  Options : *.* /S /E /DCOPY:DA /COPY:DAT /B /NP /BYTES /J /R:2 /W:5 /MT:8 /UNILOG+:robocopy.log",
        "",
        "------------------------------------------------------------------------------",
        "",
        f"\t  New Dir       {FILES_PER_JOB}\t{src}",
    ]
    error_at = {FILES_PER_JOB // 3, 2 * FILES_PER_JOB // 3}
    for n in range(FILES_PER_JOB):
        lines.append(f"\t    New File  \t\t  {1048576 + n * 7}\t{src}Virtual Hard Disks\\disk{n:05d}.vhdx")
        if n in error_at:
            lines.append(f"2024/01/15 02:06:22 ERROR 32 (0x00000020) Copying File {src}Snapshots\\s{n}.avhdx")
            lines.append("The process cannot access the file because it is being used by another process.")
    lines += [
        "",
        "------------------------------------------------------------------------------",
        "",
        "               Total    Copied   Skipped  Mismatch    FAILED    Extras",
        f"    Dirs :         1         1         0         0         0         {job % 3}",
        f"   Files :      {FILES_PER_JOB + 2}      {FILES_PER_JOB}         0         0         2         0",
        f"   Bytes : {job * 1000 + 5} {job * 1000}         0         0         5         0",
        "   Times :   0:04:02   0:04:01                       0:00:00   0:00:00",
        "",
        "",
        f"   Speed :           {job + 17} Bytes/sec.",
        "   Speed :           10197.652 MegaBytes/min.",
        "   Ended : Monday, January 15, 2024 2:04:33 AM",
        "",
    ]
    return "\r\n".join(lines) + "\r\n"


def write_log(path: pathlib.Path, size_mb: int, encoding: str) -> int:
    """Write jobs until the file reaches ``size_mb``; return the number of jobs written."""
    target = size_mb * 1048576
    jobs = 0
    with open(path, "w", encoding=encoding, newline="") as handle:
        while handle.tell() < target:
            handle.write(job_text(jobs))
            jobs += 1
    return jobs


def bench_log(size_mb: int, encoding: str) -> bool:
    with tempfile.TemporaryDirectory(prefix="vaware-bench-") as tmp:
        path = pathlib.Path(tmp) / "robocopy.log"
        start = time.perf_counter()
        jobs = write_log(path, size_mb, encoding)
        size = path.stat().st_size
        took = time.perf_counter() - start
        print(f"robocopy log: wrote {size / 1048576:.0f} MB ({encoding}, {jobs} jobs) in {took:.1f} s")
        rss_before = peak_rss_mb()
        start = time.perf_counter()
        with open(path, encoding=encoding, newline="") as handle:
            result = robocopy.parse_summary(handle)
        elapsed = time.perf_counter() - start
        rss_after = peak_rss_mb()
    print(f"robocopy log: parsed in {elapsed:.1f} s = {size / 1048576 / elapsed:.1f} MB/s")
    print(f"robocopy log: peak RSS {rss_before:.1f} MB before parsing, {rss_after:.1f} MB after")
    last = jobs - 1
    expected = {
        "jobs": jobs,
        "errors": jobs * ERRORS_PER_JOB,
        "bytes": {
            "total": last * 1000 + 5,
            "copied": last * 1000,
            "skipped": 0,
            "mismatch": 0,
            "failed": 5,
            "extras": 0,
        },
        "speed": last + 17,
        "dirs_extras": last % 3,
    }
    got = {
        "jobs": result["jobs"],
        "errors": len(result["errors"]),
        "bytes": result["bytes"],
        "speed": result["speed_bytes_per_sec"],
        "dirs_extras": result["dirs"]["extras"] if result["dirs"] else None,
    }
    if got != expected:
        print(f"robocopy log: WRONG RESULT: expected {expected}, got {got}", file=sys.stderr)
        return False
    print(f"robocopy log: result checked ({jobs} summaries, {len(result['errors'])} errors)")
    return True


def bench_retention(count: int) -> bool:
    start_at = dt.datetime(2023, 1, 1, tzinfo=dt.timezone.utc)
    history = [
        {
            "id": f"{(start_at + dt.timedelta(hours=4 * i)):%Y%m%dT%H%M%SZ}",
            "finished_at": start_at + dt.timedelta(hours=4 * i, minutes=i % 50),
            "complete": i % 17 != 0,
        }
        for i in range(count)
    ]
    policy = {"keep_last": 10, "keep_daily": 14, "keep_weekly": 8, "keep_monthly": 24}
    now = history[-1]["finished_at"] + dt.timedelta(hours=1)
    timings = []
    for _attempt in range(3):
        start = time.perf_counter()
        expired = retention.select_expired(history, policy, now)
        timings.append(time.perf_counter() - start)
    kept = count - len(expired)
    print(f"retention: {count} generations, {len(expired)} expired, {kept} kept; best {min(timings) * 1000:.1f} ms")
    if retention.select_expired([g for g in history if g["id"] not in set(expired)], policy, now):
        print("retention: WRONG RESULT: a second run on the survivors expired more", file=sys.stderr)
        return False
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=500, help="size of the synthetic log (default 500)")
    parser.add_argument("--encoding", default="utf-16", help="log encoding: utf-16 like /UNILOG (default) or utf-8")
    parser.add_argument("--generations", type=int, default=10000, help="history length (default 10000)")
    args = parser.parse_args(argv)
    if args.size_mb < 1 or args.generations < 1:
        parser.error("--size-mb and --generations must be at least 1")
    ok = bench_log(args.size_mb, args.encoding)
    ok = bench_retention(args.generations) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
