"""Tests for reading restic's output, against real restic 0.14.0 output (tests/unit/fixtures/restic)."""

from __future__ import annotations

import datetime
import json
import pathlib

import pytest

from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic import messages
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic.version import (
    MIN_VERSION,
    ResticVersionError,
    check_version,
    parse_version,
)

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "restic"
VM_ID = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"


def recorded(case):
    return (
        (FIXTURES / f"{case}.stdout").read_text(encoding="utf-8"),
        (FIXTURES / f"{case}.stderr").read_text(encoding="utf-8"),
        int((FIXTURES / f"{case}.rc").read_text(encoding="utf-8")),
    )


# ---------------------------------------------------------------- backup


def test_backup_first_summary():
    result = messages.parse_backup(*recorded("backup_first"))
    assert result["ok"] is True
    assert result["failure"] is None
    assert result["snapshot_id"] == "e75453df"
    summary = result["summary"]
    assert summary["files_new"] == 4
    assert summary["total_files_processed"] == 4
    assert summary["total_bytes_processed"] == 12640256
    assert summary["data_added"] == 12643381
    assert summary["dedup_ratio"] == 1.0
    assert result["progress"]["current_files"] == ["/VM01/Virtual Hard Disks/VM01.vhdx"]


def test_backup_second_stores_only_changed_chunks():
    result = messages.parse_backup(*recorded("backup_second"))
    assert result["ok"] is True
    summary = result["summary"]
    assert summary["files_changed"] == 1
    assert summary["files_unmodified"] == 3
    assert summary["data_added"] == 3543598
    assert summary["dedup_ratio"] == round(12640256 / 3543598, 2)
    progress = result["progress"]
    assert 0 < progress["percent_done"] < 1
    assert progress["total_bytes"] == 12640256


def test_backup_missing_path_is_incomplete_although_restic_exited_0():
    stdout, stderr, rc = recorded("backup_missing_path")
    assert rc == 0
    result = messages.parse_backup(stdout, stderr, rc)
    assert result["ok"] is False
    assert result["skipped"] == ["NoSuchVM"]
    assert result["failure"]["kind"] == "incomplete"
    assert "NoSuchVM" in result["failure"]["message"]
    assert result["snapshot_id"] == "1bb44de9"  # restic made the snapshot anyway: the report says so


def test_backup_without_summary_is_a_failure():
    stdout, stderr, _rc = recorded("backup_first")
    truncated = "\n".join(line for line in stdout.splitlines() if '"summary"' not in line)
    result = messages.parse_backup(truncated, stderr, 0)
    assert result["ok"] is False
    assert result["failure"]["message"] == "restic printed no summary with a snapshot id"


def test_backup_error_messages_of_newer_restic():
    # restic >= 0.17 prints error documents and exits 3; its shape per restic's JSON documentation.
    stdout = "\n".join(
        [
            json.dumps({"message_type": "error", "error": {"message": "open VM01\\a.vhdx: Access is denied."},
                        "during": "archival", "item": "VM01\\a.vhdx"}),
            json.dumps({"message_type": "summary", "snapshot_id": "0123abcd", "data_added": 10,
                        "total_bytes_processed": 100}),
        ]
    )  # fmt: skip
    result = messages.parse_backup(stdout, "", 3)
    assert result["ok"] is False
    assert result["failure"]["kind"] == "incomplete"
    assert result["errors"] == [
        {"item": "VM01\\a.vhdx", "during": "archival", "message": "open VM01\\a.vhdx: Access is denied."}
    ]


# ---------------------------------------------------------------- snapshots, forget, ls, stats, init, restore


def test_snapshots_oldest_first_with_vm_identity():
    snaps = messages.parse_snapshots(recorded("snapshots")[0])
    assert [snap["short_id"] for snap in snaps] == ["e75453df", "3ea322b0", "1bb44de9"]
    assert all(snap["vm_id"] == VM_ID and snap["vm_name"] == "VM01" and snap["host"] == "HV01" for snap in snaps)
    assert snaps[1]["parent"] == snaps[0]["id"]
    assert snaps[0]["time"] == "2026-12-03T11:59:33.831362Z"


def test_snapshots_needs_a_list():
    with pytest.raises(ValueError, match="printed no JSON list"):
        messages.parse_snapshots(recorded("wrong_password")[0])


def test_forget_keeps_last_removes_rest():
    result = messages.parse_forget(recorded("forget_dry_run")[0])
    snaps = messages.parse_snapshots(recorded("snapshots")[0])
    assert result["kept"] == [snaps[2]["id"]]
    assert sorted(result["removed"]) == sorted([snaps[0]["id"], snaps[1]["id"]])
    assert result["groups"][0]["host"] == "HV01"
    assert result["groups"][0]["reasons"] == {snaps[2]["id"]: ["last snapshot"]}


def test_ls_files_and_dirs():
    result = messages.parse_ls(recorded("ls")[0])
    assert result["snapshot"]["short_id"] == "e75453df"
    sizes = {item["path"]: item["size"] for item in result["files"]}
    assert sizes["/VM01/Virtual Hard Disks/VM01.vhdx"] == 12 * 1024 * 1024
    assert len(sizes) == 4
    assert result["dirs"] == ["/VM01", "/VM01/Virtual Hard Disks", "/VM01/Virtual Machines"]


def test_stats_raw_data():
    assert messages.parse_stats(recorded("stats_raw_data")[0]) == {
        "total_size": 16185575,
        "total_blob_count": 21,
        "total_file_count": 0,
        "snapshots_count": 3,
    }


def test_init_text_of_restic_0_14_and_json_of_newer():
    assert messages.parse_init(recorded("init")[0]) == {"id": "e8fc61741a", "location": "/tmp/rec/repo"}
    newer = '{"message_type":"initialized","id":"8a1b","repository":"D:\\\\restic"}'
    assert messages.parse_init(newer) == {"id": "8a1b", "location": "D:\\restic"}
    with pytest.raises(ValueError):
        messages.parse_init("")


def test_restore_ok_and_file_errors():
    assert messages.parse_restore(*recorded("restore"))["ok"] is True
    failed = messages.parse_restore("", "ignoring error for /VM01/a.vhdx: open: permission denied\n", 1)
    assert failed["ok"] is False
    assert failed["errors"] == [{"item": "/VM01/a.vhdx", "message": "open: permission denied"}]
    assert "/VM01/a.vhdx" in failed["failure"]["message"]


# ---------------------------------------------------------------- check and failures


def test_check_sound():
    result = messages.parse_check(*recorded("check"))
    assert result == {"ok": True, "read_data": None, "errors": [], "failure": None}


def test_check_subset_read_recorded():
    result = messages.parse_check(*recorded("check_read_data_subset"))
    assert result["ok"] is True
    assert result["read_data"].startswith("group #1 of 2 data packs")


def test_check_damaged_pack():
    result = messages.parse_check(*recorded("check_damaged"))
    assert result["ok"] is False
    assert result["failure"]["kind"] == "damaged"
    assert result["read_data"] == "all data"
    assert result["errors"] and result["errors"][0].startswith("Pack ID does not match")


def test_check_exit_0_without_verdict_is_not_ok():
    result = messages.parse_check("load indexes\n", "", 0)
    assert result["ok"] is False


@pytest.mark.parametrize(
    ("case", "kind"),
    [
        ("wrong_password", "wrong_password"),
        ("no_repository", "no_repository"),
        ("init_exists", "repository_exists"),
        ("locked", "locked"),
        ("check_damaged", "damaged"),
    ],
)
def test_failures_classified_from_real_text(case, kind):
    stdout, stderr, rc = recorded(case)
    assert rc == 1  # restic 0.14 exits 1 for all of these: only the text tells them apart
    failure = messages.classify_failure(rc, stderr, stdout)
    assert failure["kind"] == kind
    assert failure["exit_code"] == 1


def test_locked_names_the_holder():
    stdout, stderr, rc = recorded("locked")
    failure = messages.classify_failure(rc, stderr, stdout)
    assert failure["lock"] == {"pid": 1738, "host": "vm", "user": "root", "created_at": "2026-12-03 11:59:52"}
    assert "already locked by PID 1738" in failure["message"]


@pytest.mark.parametrize(
    ("rc", "kind"), [(10, "no_repository"), (11, "locked"), (12, "wrong_password"), (130, "interrupted"), (2, "failed")]
)
def test_exit_codes_of_newer_restic(rc, kind):
    assert messages.classify_failure(rc, "Fatal: something\n")["kind"] == kind


def test_success_is_no_failure():
    assert messages.classify_failure(0, "") is None


def test_snapshot_time_nanoseconds_and_offsets():
    when = messages.parse_snapshot_time("2026-12-03T07:35:30.690415942+01:00")
    assert when == datetime.datetime(2026, 12, 3, 6, 35, 30, 690415, tzinfo=datetime.timezone.utc)
    assert messages.parse_snapshot_time("yesterday") is None


def test_dedup_ratio():
    assert messages.dedup_ratio(100, 0) is None
    assert messages.dedup_ratio(100, 25) == 4.0


# ---------------------------------------------------------------- version


def test_version_recorded():
    found = check_version(recorded("version")[0])
    assert found["version"] == (0, 14, 0)
    assert (found["os"], found["arch"]) == ("linux", "amd64")


def test_version_json_and_dev_builds():
    doc = '{"message_type":"version","version":"0.17.3","go_version":"go1.23.3","go_os":"windows","go_arch":"amd64"}'
    assert parse_version(doc)["version"] == (0, 17, 3)
    assert parse_version(doc)["os"] == "windows"
    dev = parse_version("restic 0.16.4-dev (compiled manually) compiled with go1.22.0 on windows/amd64")
    assert dev["version"] == (0, 16, 4)
    assert dev["suffix"] == "-dev"


def test_version_too_old_and_garbage():
    with pytest.raises(ResticVersionError, match=r"restic 0\.13\.1 is too old: vaware.hyperv needs restic 0\.14\.0"):
        check_version("restic 0.13.1 compiled with go1.18 on windows/amd64")
    with pytest.raises(ResticVersionError, match="not the output of 'restic version'"):
        check_version("'restic.exe' is not recognized as an internal or external command")
    assert MIN_VERSION == (0, 14, 0)


def test_parse_config_reads_the_format_version_of_both_formats():
    assert messages.parse_config(recorded("job_probe_config")[0])["version"] == 2
    assert messages.parse_config(recorded("job_probe_config_v1")[0])["version"] == 1
    with pytest.raises(ValueError, match="no repository config"):
        messages.parse_config(recorded("no_repository")[0])
    with pytest.raises(ValueError, match="no repository config"):
        messages.parse_config('{"version": true}')


def test_parse_snapshot_groups_reads_grouped_and_flat_listings():
    grouped = messages.parse_snapshot_groups(recorded("job_probe_parents")[0])
    assert len(grouped) == 2 and {s["vm_name"] for s in grouped} == {"web01", "db01"}
    assert all(s["host"] == "HV01" and len(s["id"]) == 64 for s in grouped)
    assert grouped == sorted(grouped, key=lambda s: s["time"])
    assert messages.parse_snapshot_groups(recorded("job_probe_parents_none")[0]) == []
    flat = messages.parse_snapshot_groups(recorded("snapshots")[0])
    assert flat == messages.parse_snapshots(recorded("snapshots")[0])
    with pytest.raises(ValueError, match="no JSON list"):
        messages.parse_snapshot_groups(recorded("wrong_password")[0])


def test_parent_missing_names_only_the_parent_restic_could_not_find():
    _out, err, rc = recorded("job_backup_parent_missing")
    assert rc == 1
    gone = err.split('"')[1]
    assert messages.parent_missing(err, gone) is True
    assert messages.parent_missing(err, "0" * 64) is False
    assert messages.parent_missing(recorded("job_backup_wrong_password")[1], gone) is False
    assert messages.parent_missing(None, gone) is False
