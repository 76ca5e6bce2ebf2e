"""Unit tests of the restore logic: generation choice, manifest verification, options, boot decisions."""

from __future__ import annotations

import datetime
import json

import pytest

from ansible_collections.vaware.hyperv.plugins.plugin_utils import _proofs
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restore import options as restore_options
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restore import select as restore_select
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restore import verify as restore_verify
from ansible_collections.vaware.hyperv.plugins.plugin_utils._restore.options import RestoreError
from ansible_collections.vaware.hyperv.tests.support import backup_samples as backup
from ansible_collections.vaware.hyperv.tests.support import restore_samples as samples

UTC = datetime.timezone.utc


def entries(*folders):
    return restore_select.generation_entries(list(folders))


def history():
    """Four generations, newest first: failed, partial (web01 missing), complete, complete."""
    return entries(
        samples.folder(samples.manifest(samples.at(20))),
        samples.folder(samples.manifest(samples.at(21))),
        samples.folder(samples.manifest(samples.at(22), failed_vm="web01")),
        {"name": "20261123T020000Z", "manifest": None, "error": None},  # still running or crashed
    )


# ------------------------------------------------------------------------------ generation_entries


def test_generation_entries_newest_first_with_reasons():
    result = history()
    assert [e["id"] for e in result] == [
        "20261123T020000Z",
        "20261122T020000Z",
        "20261121T020000Z",
        "20261120T020000Z",
    ]
    assert [e["complete"] for e in result] == [False, False, True, True]
    assert "no manifest.json" in result[0]["reason"]
    assert result[1]["reason"].startswith("backup status is partial")
    assert result[2]["started_at"] == samples.at(21)


def test_generation_entries_rejects_broken_manifests_and_ignores_other_folders():
    good = samples.manifest(samples.at(20))
    other = dict(samples.manifest(samples.at(19)))
    result = entries(
        {"name": "20261125T020000Z", "manifest": "{not json", "error": None},
        {"name": "20261124T020000Z", "manifest": json.dumps({"format": 99}), "error": None},
        samples.folder(other, name="20261123T020000Z"),  # a manifest copied into the wrong folder
        {"name": "20261122T020000Z", "manifest": None, "error": "Access is denied"},
        {"name": "restore-tests", "manifest": None, "error": None},
        samples.folder(good),
    )
    reasons = {e["id"]: e["reason"] for e in result}
    assert "not JSON" in reasons["20261125T020000Z"]
    assert "not valid" in reasons["20261124T020000Z"] and "format" in reasons["20261124T020000Z"]
    assert "belongs to generation 20261119T020000Z" in reasons["20261123T020000Z"]
    assert "Access is denied" in reasons["20261122T020000Z"]
    assert "restore-tests" not in reasons
    assert reasons["20261120T020000Z"] is None


# -------------------------------------------------------------------------------- select_generation


def test_latest_is_the_newest_complete_generation_holding_the_vm_complete():
    chosen = restore_select.select_generation(history(), "web01")
    assert chosen["id"] == "20261121T020000Z"
    assert chosen["vm"]["name"] == "web01"
    assert chosen["finished_at"] == samples.at(21) + datetime.timedelta(hours=1)


def test_latest_skips_a_complete_generation_without_the_vm():
    newest = samples.manifest(samples.at(24), [samples.samples.SQL01])
    result = entries(samples.folder(newest), samples.folder(samples.manifest(samples.at(20))))
    assert restore_select.select_generation(result, "web01")["id"] == "20261120T020000Z"
    assert restore_select.select_generation(result, "sql01")["id"] == "20261124T020000Z"


def test_vm_name_matches_case_insensitively_and_keeps_the_backup_spelling():
    chosen = restore_select.select_generation(history(), "TEST01")
    assert chosen["vm"]["name"] == "Test01"


def test_generation_by_id():
    assert restore_select.select_generation(history(), "web01", "20261120T020000Z")["id"] == "20261120T020000Z"


def test_generation_by_id_that_is_incomplete_is_refused_with_the_reason():
    with pytest.raises(RestoreError, match=r"20261122T020000Z is not complete: backup status is partial"):
        restore_select.select_generation(history(), "sql01", "20261122T020000Z")


def test_generation_by_id_in_which_the_vm_failed_is_refused():
    result = entries(samples.folder(samples.manifest(samples.at(22), failed_vm="web01")))
    with pytest.raises(RestoreError, match=r"not complete"):
        restore_select.select_generation(result, "web01", "20261122T020000Z")


def test_generation_by_id_without_the_vm_lists_the_vms_in_it():
    with pytest.raises(RestoreError, match=r"has no VM 'nothere' \(VMs in it: Test01, app01, sql01, web01\)"):
        restore_select.select_generation(history(), "nothere", "20261121T020000Z")


def test_unknown_generation_id_lists_what_exists():
    with pytest.raises(RestoreError, match=r"20261101T020000Z does not exist; generations found: 20261123T020000Z"):
        restore_select.select_generation(history(), "web01", "20261101T020000Z")


def test_before_picks_the_newest_complete_generation_taken_strictly_before():
    assert restore_select.select_generation(history(), "web01", before=samples.at(21, 3))["id"] == "20261121T020000Z"
    assert restore_select.select_generation(history(), "web01", before=samples.at(21, 2))["id"] == "20261120T020000Z"
    # the newest generation before the 23rd is partial: the one before it is chosen
    assert restore_select.select_generation(history(), "web01", before=samples.at(23))["id"] == "20261121T020000Z"


def test_before_with_nothing_older_is_refused():
    with pytest.raises(RestoreError, match=r"no generation was taken before 2026-11-20T02:00:00Z"):
        restore_select.select_generation(history(), "web01", before=samples.at(20, 2))


def test_no_complete_generation_is_refused_with_every_reason():
    result = entries(
        samples.folder(samples.manifest(samples.at(22), failed_vm="web01")),
        {"name": "20261123T020000Z", "manifest": None, "error": None},
    )
    with pytest.raises(RestoreError) as info:
        restore_select.select_generation(result, "web01")
    assert "no complete generation holds a complete backup of VM 'web01'" in str(info.value)
    assert "20261123T020000Z is not complete: no manifest.json" in str(info.value)
    assert "20261122T020000Z is not complete: backup status is partial" in str(info.value)


def test_no_generation_at_all():
    with pytest.raises(RestoreError, match="no backup generations"):
        restore_select.select_generation([], "web01")


# ------------------------------------------------------------------------------------ verification


def backup_of(vm="web01", *, hashes=False):
    manifest = samples.manifest(samples.at(20), hashes=hashes)
    entry = restore_select.find_vm(manifest, vm)
    return manifest, restore_verify.backup_files(
        f"{samples.HOST_PATH}\\{manifest['generation']}\\{entry['name']}", entry
    )


def test_backup_files_are_placed_under_the_vm_folder_of_the_generation():
    _manifest, files = backup_of()
    assert [f["path"] for f in files][
        -1
    ] == "\\\\nas01\\backups\\HV01\\20261120T020000Z\\web01\\Virtual Hard Disks\\web01.vhdx"
    assert files[-1]["original_path"] == "D:\\Hyper-V\\web01\\Virtual Hard Disks\\web01.vhdx"


def test_backup_files_refuse_a_relative_path_that_climbs_out():
    with pytest.raises(RestoreError, match="not a plain relative path"):
        restore_verify.backup_files(
            "X:\\g\\vm", {"name": "vm", "files": [{"relative_path": "..\\..\\evil.vhdx", "size": 1}]}
        )


def test_verify_listing_accepts_matching_sizes():
    manifest, files = backup_of()
    result = restore_verify.verify_listing(files, samples.listing(manifest, "web01"))
    assert result["ok"] is True and result["problems"] == [] and result["method"] == "size"
    assert result["files"] == 3
    assert result["bytes"] == sum(f["size"] for f in files)


def test_verify_listing_paths_are_compared_case_insensitively():
    manifest, files = backup_of()
    listing = [dict(item, path=item["path"].upper()) for item in samples.listing(manifest, "web01")]
    assert restore_verify.verify_listing(files, listing)["ok"] is True


def test_verify_listing_reports_missing_and_size_mismatch():
    manifest, files = backup_of()
    listing = samples.listing(
        manifest, "web01", change={"web01.vhdx": {"size": 42949672959}, ".vmrs": {"exists": False, "size": None}}
    )
    result = restore_verify.verify_listing(files, listing)
    assert result["ok"] is False
    assert any(p.endswith(".vmrs: missing") for p in result["problems"])
    assert any("web01.vhdx: 42949672959 bytes, the manifest records 42949672960" in p for p in result["problems"])


def test_verify_listing_by_hash():
    manifest, files = backup_of(hashes=True)
    good = restore_verify.verify_listing(files, samples.listing(manifest, "web01", hashes=True), "hash")
    assert good["ok"] is True and good["method"] == "hash"
    bad = restore_verify.verify_listing(
        files, samples.listing(manifest, "web01", hashes=True, change={".vhdx": {"sha256": "0" * 64}}), "hash"
    )
    assert bad["ok"] is False and "does not match the manifest's" in bad["problems"][0]
    unhashed = restore_verify.verify_listing(files, samples.listing(manifest, "web01"), "hash")
    assert unhashed["ok"] is False and "no SHA-256 was computed" in unhashed["problems"][0]


def test_verify_listing_size_mode_ignores_hashes():
    manifest, files = backup_of(hashes=True)
    listing = samples.listing(manifest, "web01", hashes=True, change={".vhdx": {"sha256": "0" * 64}})
    assert restore_verify.verify_listing(files, listing, "size")["ok"] is True


def test_verify_hash_without_hashes_in_the_manifest_warns_and_checks_sizes():
    manifest, files = backup_of(hashes=False)
    result = restore_verify.verify_listing(files, samples.listing(manifest, "web01"), "hash")
    assert result["ok"] is True and result["method"] == "size"
    assert "no SHA-256 for 3 of 3 files" in result["warnings"][0]


def test_verify_restored_disks():
    _manifest, files = backup_of()
    folder = "E:\\Restore\\web01-restored-20261120T020000Z"
    good = [{"path": folder + "\\Virtual Hard Disks\\web01.vhdx", "size": 42949672960}]
    assert restore_verify.verify_restored_disks(files, good, folder)["ok"] is True
    live = [{"path": "D:\\Hyper-V\\web01\\Virtual Hard Disks\\web01.vhdx", "size": 42949672960}]
    result = restore_verify.verify_restored_disks(files, live, folder)
    assert result["ok"] is False and "not a restored copy" in result["problems"][0]
    assert "differ" in restore_verify.verify_restored_disks(files, [dict(good[0], size=1)], folder)["problems"][0]
    assert "2 disks attached" in restore_verify.verify_restored_disks(files, good * 2, folder)["problems"][0]
    # a sibling folder whose name only starts the same is not inside
    sibling = [{"path": folder + "-old\\web01.vhdx", "size": 42949672960}]
    assert restore_verify.verify_restored_disks(files, sibling, folder)["ok"] is False


def test_config_file_and_disk_map():
    manifest, files = backup_of("app01")
    entry = restore_select.find_vm(manifest, "app01")
    assert restore_verify.config_file(files, entry["id"])["relative_path"].endswith(
        "A0A0A0A0-0000-4000-8000-0000000000A0.vmcx"
    )
    originals = {d["original"] for d in restore_verify.disk_map(files)}
    assert originals == {
        "D:\\Hyper-V\\app01\\Virtual Hard Disks\\app01.vhdx",
        "C:\\ClusterStorage\\Data\\app01\\app01-logs.vhdx",
    }
    assert all(
        d["backup"].startswith(samples.HOST_PATH + "\\20261120T020000Z\\app01\\")
        for d in restore_verify.disk_map(files)
    )
    with pytest.raises(RestoreError, match="no configuration file"):
        restore_verify.config_file([f for f in files if f["kind"] != "config"], entry["id"])


# ------------------------------------------------------------------------------------------ options

BASE = {"vm": "web01", "destination": "\\\\nas01\\backups", "restore_path": "E:\\Restore"}


def test_options_defaults():
    opts = restore_options.validate_options(BASE)
    assert opts["mode"] == "copy" and opts["generation"] == "latest" and opts["before"] is None
    assert opts["connect_network"] is False and opts["verify"] == "size"
    assert restore_options.validate_options(dict(BASE, mode="replace", force=True))["connect_network"] is True


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"mode": "replace"}, "set force: true"),
        ({"mode": "test", "connect_network": True}, "always runs without network"),
        ({"generation": "20261120T020000Z", "before": "2026-11-20"}, "use one of them"),
        ({"generation": "yesterday"}, "expected 'latest' or a generation id"),
        ({"before": "last tuesday"}, "before: expected a timestamp"),
        ({"vm": 'web"01'}, "cannot be a folder name"),
        ({"restore_path": "Restore"}, "restore_path: expected an absolute"),
        ({"restore_path": "E:\\Restore\\..\\Windows"}, "'..'"),
        ({"mode": "replace", "force": True, "name": "x"}, "takes the original name"),
        ({"boot_timeout": 5}, "boot_timeout"),
        ({"test_check": "running", "stable_seconds": 900, "boot_timeout": 600}, "could never pass"),
        ({"mode": "snapshot"}, "mode: expected one of"),
    ],
)
def test_bad_options_are_named(extra, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        restore_options.validate_options(dict(BASE, **extra))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20261120T020000Z", datetime.datetime(2026, 11, 20, 2, tzinfo=UTC)),
        ("2026-11-20", datetime.datetime(2026, 11, 20, tzinfo=UTC)),
        ("2026-11-20T08:00:00Z", datetime.datetime(2026, 11, 20, 8, tzinfo=UTC)),
        ("2026-11-20T08:00:00+01:00", datetime.datetime(2026, 11, 20, 7, tzinfo=UTC)),
        ("2026-11-20 08:00", datetime.datetime(2026, 11, 20, 8, tzinfo=UTC)),
    ],
)
def test_parse_before(text, expected):
    assert restore_options.parse_before(text) == expected


def test_names_and_marker():
    assert restore_options.restored_name("web01", "20261120T020000Z", "copy") == "web01-restored-20261120T020000Z"
    assert restore_options.restored_name("web01", "20261120T020000Z", "test") == "web01-restoretest-20261120T020000Z"
    assert restore_options.restored_name("web01", "20261120T020000Z", "copy", "web01-old") == "web01-old"
    line = restore_options.marker("HV01", "20261120T020000Z", "o'brien; x")
    notes = "Owner: finance\r\n" + line
    assert restore_options.parse_marker(notes) == {"host": "HV01", "generation": "20261120T020000Z", "vm": "o'brien; x"}
    assert restore_options.parse_marker("Owner: finance") is None


# --------------------------------------------------------------------------------------- test boot

OPTS = {"test_check": "heartbeat", "boot_timeout": 300, "stable_seconds": 60}


def status(state="Running", heartbeat="NoContact", enabled=True, uptime=5):
    return {"state": state, "heartbeat": heartbeat, "heartbeat_enabled": enabled, "uptime_seconds": uptime}


def test_boot_heartbeat_ok_passes():
    assert restore_verify.evaluate_boot(status(heartbeat="OkApplicationsHealthy"), 30, OPTS)["outcome"] == "passed"
    assert restore_verify.evaluate_boot(status(heartbeat="OkApplicationsUnknown"), 30, OPTS)["outcome"] == "passed"


def test_boot_without_heartbeat_waits_then_fails_at_the_timeout():
    assert restore_verify.evaluate_boot(status(), 299, OPTS)["outcome"] == "waiting"
    failed = restore_verify.evaluate_boot(status(heartbeat="LostCommunication"), 300, OPTS)
    assert (
        failed["outcome"] == "failed" and "no heartbeat OK within 300 s (last: LostCommunication)" in failed["reason"]
    )


def test_boot_with_an_application_critical_passes_with_a_warning():
    passed = restore_verify.evaluate_boot(status(heartbeat="OkApplicationsCritical"), 30, OPTS)
    assert passed["outcome"] == "passed" and "OkApplicationsCritical" in passed["warning"]
    assert "warning" not in restore_verify.evaluate_boot(status(heartbeat="OkApplicationsHealthy"), 30, OPTS)


def test_boot_with_no_contact_points_to_the_running_check():
    failed = restore_verify.evaluate_boot(status(heartbeat="NoContact"), 300, OPTS)
    assert failed["outcome"] == "failed" and "test_check running" in failed["reason"]
    assert "hyperv_restore_test_check_vms" in failed["reason"]
    lost = restore_verify.evaluate_boot(status(heartbeat="LostCommunication"), 300, OPTS)
    assert "test_check running" not in lost["reason"]  # it had integration services and lost them


def test_boot_vm_still_starting_waits():
    assert restore_verify.evaluate_boot(status(state="Starting", heartbeat=None), 1, OPTS)["outcome"] == "waiting"
    assert "still Starting" in restore_verify.evaluate_boot(status(state="Starting"), 300, OPTS)["reason"]


def test_boot_vm_that_stops_fails_at_once():
    failed = restore_verify.evaluate_boot(status(state="Off"), 3, OPTS)
    assert failed["outcome"] == "failed" and "Off" in failed["reason"]


def test_boot_with_heartbeat_disabled_falls_back_to_staying_running():
    assert restore_verify.evaluate_boot(status(heartbeat="Disabled", enabled=False, uptime=30), 30, OPTS) == {
        "outcome": "waiting",
        "check": "running",
        "reason": None,
    }
    assert (
        restore_verify.evaluate_boot(status(heartbeat="Disabled", enabled=False, uptime=61), 61, OPTS)["outcome"]
        == "passed"
    )


def test_plan_steps_mention_the_original_only_for_replace():
    context = {
        "vm": "web01",
        "name": "web01-restored-20261120T020000Z",
        "folder": "E:\\Restore\\web01-restored-20261120T020000Z",
        "generation": "20261120T020000Z",
        "file_count": 3,
        "bytes": 10,
        "connect_network": False,
        "original": {"id": "5f3c"},
        "boot_timeout": 600,
        "test_check": "heartbeat",
    }
    replace = restore_select.plan_steps("replace", context)
    assert replace.index("check the restored disks against the manifest") < next(
        i for i, s in enumerate(replace) if s.startswith("stop and remove the original")
    )
    assert not any("original" in s for s in restore_select.plan_steps("copy", context))


# ------------------------------------------------------------------------------------------- proofs

T1 = datetime.datetime(2026, 11, 24, 9, tzinfo=UTC)
T2 = datetime.datetime(2026, 11, 25, 9, tzinfo=UTC)


def proof(vm, passed, when, host="hv01", generation="20261124T020000Z"):
    outcome = {"outcome": "passed" if passed else "failed", "check": "heartbeat", "reason": "r"}
    if passed:
        outcome["seconds_to_heartbeat"] = 41.5
    return _proofs.proven_restore(host, vm, generation, outcome, when, backup_host="HV01")


def test_proofs_keep_the_last_test_and_the_last_pass():
    first = _proofs.merge_proofs(None, [proof("web01", True, T1), proof("sql01", False, T1)], now=T1)
    assert first["format"] == 1 and first["updated_at"] == "2026-11-24T09:00:00Z"
    assert [(e["host"], e["vm"]) for e in first["vms"]] == [("hv01", "sql01"), ("hv01", "web01")]
    assert first["vms"][0]["last_passed"] is None
    second = _proofs.merge_proofs(json.dumps(first), [proof("WEB01", False, T2)], now=T2)
    web = second["vms"][1]
    assert web["last_test"]["passed"] is False and web["last_test"]["tested_at"] == "2026-11-25T09:00:00Z"
    assert web["last_passed"]["tested_at"] == "2026-11-24T09:00:00Z"
    assert web["last_passed"]["seconds_to_heartbeat"] == 41.5
    assert web["vm"] == "WEB01"  # spelled as in the newest test
    # merging an older record again does not roll anything back
    assert _proofs.merge_proofs(second, [proof("web01", True, T1)], now=T2)["vms"] == second["vms"]


def test_proofs_from_registered_results():
    passed = {"changed": False, "proven_restore": proof("web01", True, T1, host="HV01.local")}
    failed_early = {"failed": True, "msg": "no complete generation holds VM 'sql01'", "item": "sql01"}
    check_mode = {"changed": True, "plan": ["..."], "item": "app01"}
    merged = _proofs.merge_proofs({}, [passed, failed_early, check_mode], host="hv01", now=T2)
    assert [(e["host"], e["vm"]) for e in merged["vms"]] == [("hv01", "sql01"), ("hv01", "web01")]
    sql = merged["vms"][0]["last_test"]
    assert (
        sql["passed"] is False
        and "no complete generation" in sql["reason"]
        and sql["tested_at"] == "2026-11-25T09:00:00Z"
    )


def test_proofs_of_several_hosts_merge():
    one = _proofs.merge_proofs(None, [proof("web01", True, T1, host="hv01")], now=T1)
    two = _proofs.merge_proofs(None, [proof("web01", True, T2, host="hv02")], now=T2)
    merged = _proofs.merge_proofs(one, [two], now=T2)
    assert [(e["host"], e["vm"]) for e in merged["vms"]] == [("hv01", "web01"), ("hv02", "web01")]


def test_proofs_refuse_garbage():
    with pytest.raises(RestoreError, match="format 1"):
        _proofs.merge_proofs({"something": "else"}, [])
    with pytest.raises(RestoreError, match="expected a task result"):
        _proofs.merge_proofs(None, ["web01"])


def test_import_blocker_for_checkpoints_and_differencing_disks():
    _manifest, files = backup_of("web01")
    assert restore_verify.import_blocker(files) is None
    differencing = [*files, dict(files[-1], relative_path="Virtual Hard Disks\\web01_3F2A.avhdx")]
    assert "web01_3F2A.avhdx" in restore_verify.import_blocker(differencing)
    _manifest, app_files = backup_of("app01")
    assert "Snapshots" in restore_verify.import_blocker(app_files)


def test_last_proven_restore_for_reports():
    proofs = _proofs.merge_proofs(
        None, [proof("web01", True, T1), proof("web01", False, T2), proof("sql01", False, T2)]
    )
    assert _proofs.last_proven_restore(proofs, "HV01", "WEB01")["tested_at"] == "2026-11-24T09:00:00Z"
    assert _proofs.last_proven_restore(json.dumps(proofs), "hv01", "sql01") is None
    assert _proofs.last_proven_restore(proofs, "hv02", "web01") is None
    assert _proofs.last_proven_restore(None, "hv01", "web01") is None


def test_load_proofs_reads_a_document_and_names_what_is_wrong():
    proofs = _proofs.merge_proofs(None, [proof("web01", False, T2), proof("web01", True, T1)], now=T2)
    assert _proofs.load_proofs(json.dumps(proofs).encode()) == proofs
    for nothing in (None, "", "  \n", b"", {}):
        assert _proofs.load_proofs(nothing) is None
    entry = _proofs.restore_proof_entry(proofs, "HV01", "Web01")
    assert entry["last_test"]["passed"] is False and entry["last_passed"]["tested_at"] == "2026-11-24T09:00:00Z"
    assert _proofs.restore_proof_entry(proofs, "hv01", "sql01") is None
    for garbage, message in [
        ('{"format": 1, "vms": [', "not valid JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        ("[1, 2]", "format 1"),
        ({"format": 2, "vms": []}, "format 1"),
        ({"format": 1, "vms": {"host": "hv01"}}, "'vms' must be a list"),
        ({"format": 1, "vms": ["web01"]}, r"vms\[0\] needs host and vm"),
        ({"format": 1, "vms": [{"host": "hv01", "vm": "web01", "last_passed": "yes"}]}, "last_passed must be"),
    ]:
        with pytest.raises(RestoreError, match=message):
            _proofs.load_proofs(garbage)


def test_restored_copy_names_are_recognised():
    assert restore_options.is_restored_name("web01-restored-20261121T020000Z")
    assert restore_options.is_restored_name("Web 01-RestoreTest-20261121T020000Z-02")
    assert not restore_options.is_restored_name("web01")
    assert not restore_options.is_restored_name("restored-web")
    assert not restore_options.is_restored_name("web01-restored-latest")


def test_restorable_vms_are_those_complete_in_a_complete_generation():
    copy = backup.vm("web01-restored-20261120T020000Z", "D:\\Hyper-V\\copy\\copy.vhdx")
    older = samples.manifest(samples.at(20), [backup.WEB01, backup.SQL01])
    newer = samples.manifest(samples.at(21), [backup.WEB01, copy])
    failed = samples.manifest(samples.at(22), [backup.APP01], failed_vm="app01")
    entries = restore_select.generation_entries([samples.folder(m) for m in (older, newer, failed)])
    got = restore_select.restorable_vms(entries)
    assert [v["name"] for v in got] == ["sql01", "web01"]
    assert got[1]["generations"] == ["20261121T020000Z", "20261120T020000Z"]
    assert restore_select.restorable_vms([]) == []


def test_space_problem_counts_a_staged_restore_twice_and_passes_when_the_host_cannot_tell():
    from ansible_collections.vaware.hyperv.plugins.plugin_utils._restore.verify import space_problem

    state = {"path": "E:\\Restore\\web01-restored-x", "free_bytes": 3 * 1024**3}
    assert space_problem(state, 2 * 1024**3) is None
    problem = space_problem(state, 2 * 1024**3, staged=True)
    assert problem.startswith("E:\\Restore\\web01-restored-x has 3.0 GiB free, the restore needs 4.0 GiB")
    assert "nothing was changed" in problem
    assert space_problem({"path": "x", "free_bytes": None}, 10**15) is None
    assert space_problem({"path": "x"}, 10**15) is None
