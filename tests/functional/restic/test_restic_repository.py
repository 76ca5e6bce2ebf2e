"""The _restic package against the real restic: the argument lists it builds run, and its parsers read what
restic really prints, on throwaway repositories (local folders, and SFTP on 127.0.0.1)."""

from __future__ import annotations

import datetime
import filecmp
import pathlib
import subprocess
import time

import restic_tools

from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic import command, messages
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic.options import vm_tags
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic.version import check_version
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.retention import select_expired

VM_A = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
VM_B = "9c1d7a52-1b3e-4c8f-a0d2-6e5f4b3a2c10"
HOST = "HV01"
MIB = 1024 * 1024


def backup(restic, volume, vm_name, vm_id, when=None):
    """One VM's snapshot as the runner takes it: working directory = the volume, path relative to it."""
    args = command.backup_args(restic.repository, [vm_name], vm_tags(vm_name, vm_id), HOST)
    if when is not None:
        split = args.index("--")
        args[split:split] = ["--time", when.strftime("%Y-%m-%d %H:%M:%S")]
    done = restic.run(args, cwd=volume)
    return messages.parse_backup(done.stdout, done.stderr, done.returncode)


def snapshots(restic, **kwargs):
    done = restic.run(command.snapshots_args(restic.repository, **kwargs))
    assert done.returncode == 0, done.stderr
    return messages.parse_snapshots(done.stdout)


def check(restic, subset=None):
    done = restic.run(command.check_args(restic.repository, subset))
    return messages.parse_check(done.stdout, done.stderr, done.returncode)


def assert_no_secret_on_command_lines(restic):
    assert restic.calls
    for argv in restic.calls:
        assert not any(restic_tools.TEST_PASSWORD in arg for arg in argv), argv
        assert restic.repository["location"] not in argv


def test_version_of_installed_restic_is_accepted(make_repo):
    restic = make_repo(init=False)
    done = restic.run(command.version_args())
    assert done.returncode == 0
    assert check_version(done.stdout)["version"] >= (0, 14, 0)


def test_backup_restore_round_trip(make_repo, tmp_path):
    restic = make_repo()
    volume = tmp_path / "volume"
    vm = restic_tools.make_vm_folder(volume, "VM01", VM_A, 6 * MIB)
    result = backup(restic, volume, "VM01", VM_A)
    assert result["ok"], result["failure"]
    assert result["summary"]["total_files_processed"] == len(vm["files"])
    assert result["summary"]["total_bytes_processed"] == sum(vm["files"].values())

    (snap,) = snapshots(restic, host=HOST, tags=["vm-id:" + VM_A])
    assert snap["short_id"] == result["snapshot_id"]
    assert (snap["vm_id"], snap["vm_name"], snap["host"]) == (VM_A, "VM01", HOST)

    done = restic.run(command.ls_args(restic.repository, snap["id"]))
    listing = messages.parse_ls(done.stdout)
    stored = {item["path"]: item["size"] for item in listing["files"]}
    assert stored == {"/VM01/" + rel: size for rel, size in vm["files"].items()}

    target = tmp_path / "restored"
    done = restic.run(command.restore_args(restic.repository, snap["id"], str(target)))
    assert messages.parse_restore(done.stdout, done.stderr, done.returncode)["ok"], done.stderr
    for rel in vm["files"]:
        assert filecmp.cmp(vm["path"] / rel, target / "VM01" / rel, shallow=False), rel

    assert check(restic)["ok"]
    assert_no_secret_on_command_lines(restic)


def test_second_night_stores_only_changed_chunks(make_repo, tmp_path):
    restic = make_repo()
    volume = tmp_path / "volume"
    vm = restic_tools.make_vm_folder(volume, "VM01", VM_A, 32 * MIB)
    first = backup(restic, volume, "VM01", VM_A)
    restic_tools.change_blocks(vm["path"] / "Virtual Hard Disks" / "VM01.vhdx", 0.05, 4 * MIB, seed=7)
    second = backup(restic, volume, "VM01", VM_A)
    assert first["ok"] and second["ok"], (first["failure"], second["failure"])
    assert first["summary"]["data_added"] >= 32 * MIB
    # 5 % of 4 MiB extents (2 of 8) changed: restic stores those chunks, not the whole disk again.
    assert second["summary"]["data_added"] < 0.5 * first["summary"]["data_added"]
    assert second["summary"]["dedup_ratio"] > 2
    assert second["summary"]["files_changed"] == 1
    older, newer = snapshots(restic)
    assert newer["parent"] == older["id"]


def test_forget_agrees_with_the_files_retention(make_repo, tmp_path):
    """restic's forget with our policy keys removes exactly what select_expired expires for the same times."""
    restic = make_repo()
    volume = tmp_path / "volume"
    restic_tools.make_vm_folder(volume, "VM01", VM_A, 64 * 1024)
    start = datetime.datetime(2026, 9, 20, 2, 0, tzinfo=datetime.timezone.utc)
    times = [start + datetime.timedelta(days=day, hours=(day % 3) * 7) for day in range(0, 75, 4)]
    times.append(times[-1] + datetime.timedelta(hours=3))  # two runs on one day
    for when in times:
        assert backup(restic, volume, "VM01", VM_A, when)["ok"]
    restic_tools.make_vm_folder(volume, "VM02", VM_B, 64 * 1024, seed=2)
    other = backup(restic, volume, "VM02", VM_B, start)
    assert other["ok"]

    policy = {"keep_last": 2, "keep_daily": 3, "keep_weekly": 2, "keep_monthly": 2}
    before = [snap for snap in snapshots(restic) if snap["vm_id"] == VM_A]
    generations = [
        {"id": snap["id"], "finished_at": messages.parse_snapshot_time(snap["time"]), "complete": True}
        for snap in before
    ]
    expected = set(select_expired(generations, policy, datetime.datetime.now(datetime.timezone.utc)))
    assert expected and len(expected) < len(before)

    done = restic.run(command.forget_args(restic.repository, policy, HOST, VM_A, dry_run=True))
    assert done.returncode == 0, done.stderr
    assert set(messages.parse_forget(done.stdout)["removed"]) == expected
    assert len(snapshots(restic)) == len(before) + 1  # a dry run removes nothing

    done = restic.run(command.forget_args(restic.repository, policy, HOST, VM_A))
    forgotten = messages.parse_forget(done.stdout)
    assert set(forgotten["removed"]) == expected
    assert len(forgotten["groups"]) == 1  # one VM's history is one group
    left = {snap["id"] for snap in snapshots(restic)}
    assert left == ({snap["id"] for snap in before} - expected) | {snapshots(restic, tags=["vm-id:" + VM_B])[0]["id"]}

    before_size = messages.parse_stats(restic.run(command.stats_args(restic.repository)).stdout)["total_size"]
    done = restic.run(command.prune_args(restic.repository))
    assert done.returncode == 0, done.stderr
    assert check(restic, "100%")["ok"]
    after = messages.parse_stats(restic.run(command.stats_args(restic.repository)).stdout)
    assert after["total_size"] <= before_size
    assert after["snapshots_count"] == len(left)


def test_missing_path_is_incomplete(make_repo, tmp_path):
    restic = make_repo()
    volume = tmp_path / "volume"
    restic_tools.make_vm_folder(volume, "VM01", VM_A, 64 * 1024)
    args = command.backup_args(restic.repository, ["VM01", "VM-gone"], vm_tags("VM01", VM_A), HOST)
    done = restic.run(args, cwd=volume)
    result = messages.parse_backup(done.stdout, done.stderr, done.returncode)
    assert result["ok"] is False
    assert result["failure"]["kind"] == "incomplete"
    assert "VM-gone" in result["failure"]["message"]


def test_wrong_password(make_repo, tmp_path):
    restic = make_repo()
    restic.password_file.write_text("not the password\n", encoding="utf-8")
    done = restic.run(command.snapshots_args(restic.repository))
    failure = messages.classify_failure(done.returncode, done.stderr, done.stdout)
    assert failure["kind"] == "wrong_password"
    assert restic_tools.TEST_PASSWORD not in failure["message"] and "not the password" not in failure["message"]


def test_no_repository_and_init_twice(make_repo, tmp_path):
    missing = make_repo(location=str(tmp_path / "nothing-here"), init=False)
    done = missing.run(command.snapshots_args(missing.repository))
    assert messages.classify_failure(done.returncode, done.stderr)["kind"] == "no_repository"

    restic = make_repo()
    done = restic.run(command.init_args(restic.repository))
    assert messages.classify_failure(done.returncode, done.stderr)["kind"] == "repository_exists"


def test_init_reports_repository_id(make_repo, tmp_path):
    restic = make_repo(init=False)
    done = restic.run(command.init_args(restic.repository))
    assert done.returncode == 0, done.stderr
    created = messages.parse_init(done.stdout)
    assert len(created["id"]) >= 8
    assert (pathlib.Path(restic.repository["location"]) / "config").is_file()


def test_locked_repository_names_the_holder(make_repo):
    restic = make_repo()
    holder = subprocess.Popen(  # a backup in progress holds a lock until its input ends
        [restic_tools.RESTIC, "backup", "--stdin", "--stdin-filename", "held", "--host", HOST],
        env=restic.env,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        lock_dir = pathlib.Path(restic.repository["location"]) / "locks"
        deadline = time.monotonic() + 30
        while not any(lock_dir.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.1)
        done = restic.run(command.prune_args(restic.repository))
        failure = messages.classify_failure(done.returncode, done.stderr, done.stdout)
        assert failure["kind"] == "locked"
        assert failure["lock"]["pid"] == holder.pid
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    done = restic.run(command.prune_args(restic.repository))
    assert done.returncode == 0, done.stderr  # the lock went with its holder


def test_corrupted_pack_is_found_by_check(make_repo, tmp_path):
    restic = make_repo()
    volume = tmp_path / "volume"
    restic_tools.make_vm_folder(volume, "VM01", VM_A, 4 * MIB)
    assert backup(restic, volume, "VM01", VM_A)["ok"]
    assert check(restic, "100%")["ok"]
    packs = sorted((pathlib.Path(restic.repository["location"]) / "data").glob("*/*"), key=lambda p: p.stat().st_size)
    packs[-1].chmod(0o644)  # restic writes its packs read-only; as root that does not stop the write, as a user it does
    with open(packs[-1], "r+b") as handle:
        handle.seek(4096)
        handle.write(b"\0" * 64)
    assert check(restic)["ok"]  # without reading data the damage is invisible: why check_read_data_subset exists
    result = check(restic, "100%")
    assert result["ok"] is False
    assert result["failure"]["kind"] == "damaged"
    assert any("does not match" in line for line in result["errors"]), result["errors"]


def test_sftp_backend_on_loopback(make_repo, tmp_path):
    with restic_tools.sftp_server(tmp_path / "sshd") as server:
        location = f"sftp:{server.user}@127.0.0.1:{tmp_path / 'sftp-repo'}"
        restic = make_repo(location=location, options={"sftp.command": server.sftp_command()})
        volume = tmp_path / "volume"
        restic_tools.make_vm_folder(volume, "VM01", VM_A, 2 * MIB)
        result = backup(restic, volume, "VM01", VM_A)
        assert result["ok"], result["failure"]
        assert [snap["short_id"] for snap in snapshots(restic)] == [result["snapshot_id"]]
        assert check(restic)["ok"]
        assert (tmp_path / "sftp-repo" / "config").is_file()  # the repository really is where sshd wrote it
        assert_no_secret_on_command_lines(restic)
