"""The backup_report filter: per-host results in, fleet report out (shape checked against its JSON Schema)."""

from __future__ import annotations

import copy
import datetime
import json
import pathlib
import time

import jsonschema
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.vaware.hyperv.plugins.action import win_vss_backup as action_plugin
from ansible_collections.vaware.hyperv.plugins.filter import backup_report as plugin
from ansible_collections.vaware.hyperv.plugins.plugin_utils._proofs import (
    merge_proofs,
    proven_restore,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._report import NO_RESULT_MSG
from ansible_collections.vaware.hyperv.tests.support import vss_backup_host as hv
from ansible_collections.vaware.hyperv.tests.support.scripted_host import ScriptedHost, make_action

ROOT = pathlib.Path(plugin.__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "docs" / "backup-report.schema.json").read_text(encoding="utf-8"))
GIB = 1024**3
NOW = "2026-11-25T06:00:00Z"


def validate(report):
    jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(report)
    return report


def vm(name, status="complete", size=GIB, files=3, seconds=10.0, **extra):
    return {"name": name, "status": status, "bytes": size, "files": files, "seconds": seconds, **extra}


def ok_host(name, vms=None, **backup):
    return {
        "host": name,
        "status": "ok",
        "started": "2026-11-25T02:00:00Z",
        "finished": "2026-11-25T02:10:00Z",
        "backup": {
            "changed": True,
            "generation": "20261125T020000Z",
            "destination_path": f"E:\\Backups\\{name}\\20261125T020000Z",
            "manifest_path": f"E:\\Backups\\{name}\\20261125T020000Z\\manifest.json",
            "vms": [vm("web01"), vm("db01")] if vms is None else vms,
            "shadows_created": ["a", "b"],
            "shadows_deleted": ["a", "b"],
            "expired": [],
            "writer": {"outcome": "included", "required": True, "state": 1},
            "warnings": [],
            **backup,
        },
    }


def failed_host(name, msg="preflight: destination too small", backup=None):
    return {
        "host": name,
        "status": "failed",
        "msg": msg,
        "failed_task": "Run the VSS backup",
        "started": "2026-11-25T02:00:00Z",
        "finished": "2026-11-25T02:00:30Z",
        "backup": backup if backup is not None else {"failed": True, "msg": msg, "step": "preflight", "vms": []},
    }


def report(results, **kwargs):
    kwargs.setdefault("generated_at", NOW)
    return validate(plugin.backup_report(results, **kwargs))


def test_a_successful_host():
    r = report([ok_host("hv01", expired=["20261101T020000Z"])])
    assert r["status"] == "ok" and r["failed_hosts"] == [] and r["generated_at"] == NOW
    (host,) = r["hosts"]
    assert host["status"] == "ok" and host["generation"] == "20261125T020000Z"
    assert host["seconds"] == 600.0 and host["bytes"] == 2 * GIB and host["files"] == 6
    assert host["writer"] == "included" and host["shadows_created"] == 2 == host["shadows_deleted"]
    assert host["expired"] == ["20261101T020000Z"]
    assert [v["name"] for v in host["vms"]] == ["db01", "web01"]  # sorted by name
    assert all(v["status"] == "ok" and v["generation"] == "20261125T020000Z" for v in host["vms"])
    assert host["vms"][0]["mb_per_s"] == pytest.approx(GIB / 1e6 / 10, abs=0.01)
    assert r["totals"] == {
        "hosts": 1, "hosts_ok": 1, "hosts_warning": 0, "hosts_failed": 0,
        "vms": 2, "vms_ok": 2, "vms_failed": 0, "vms_other": 0,
        "bytes": 2 * GIB, "files": 6, "seconds": 600.0, "elapsed_seconds": 600.0,
        "mb_per_s": round(2 * GIB / 1e6 / 20, 2), "warnings": 0, "errors": 0, "expired": 1,
        "vms_restore_proven": 0, "vms_restore_unproven": 2, "vms_unprotected": 0,
    }  # fmt: skip
    # no proofs given: nothing proven, and that is no warning
    assert r["warnings"] == [] and all(v["last_proven_restore"] is None for v in host["vms"])
    assert r["restore_proofs"] == {"source": None, "status": "absent", "updated_at": None, "max_age_days": 30}


def test_failures_first_hosts_and_vms():
    partial = ok_host(
        "hv02",
        vms=[vm("alpha"), vm("zulu", status="failed", errors=["robocopy exit code 8"]), vm("mike", status="skipped")],
        failed=True,
        msg="copy: VM zulu: robocopy exit code 8",
        step="copy",
    )
    partial.update(status="failed", msg="copy: VM zulu: robocopy exit code 8", failed_task="Run the VSS backup")
    r = report([ok_host("hv01"), partial, failed_host("hv03"), ok_host("hv00", warnings=["slow target"])])
    assert [h["name"] for h in r["hosts"]] == ["hv02", "hv03", "hv00", "hv01"]
    assert [h["status"] for h in r["hosts"]] == ["failed", "failed", "warning", "ok"]
    assert r["status"] == "failed" and r["failed_hosts"] == ["hv02", "hv03"]
    hv02 = r["hosts"][0]
    assert [(v["name"], v["status"]) for v in hv02["vms"]] == [("zulu", "failed"), ("mike", "skipped"), ("alpha", "ok")]
    assert hv02["step"] == "copy" and hv02["failed_task"] == "Run the VSS backup"
    assert hv02["errors"] == ["copy: VM zulu: robocopy exit code 8", "zulu: robocopy exit code 8"]
    assert r["totals"]["vms_failed"] == 1 and r["totals"]["vms_other"] == 1 and r["totals"]["vms_ok"] == 5
    assert r["hosts"][2]["warnings"] == ["slow target"]


def test_a_failed_vm_alone_fails_its_host():
    r = report([ok_host("hv01", vms=[vm("web01", status="failed")])])
    assert r["status"] == "failed" and r["hosts"][0]["status"] == "failed"
    assert r["hosts"][0]["vms"][0]["errors"] == ["failed (the module gave no reason)"]


def test_targeted_host_without_result_is_failed():
    r = report([ok_host("hv01")], hosts=["hv01", "hv02"])
    assert r["failed_hosts"] == ["hv02"]
    assert r["hosts"][0]["msg"] == NO_RESULT_MSG and r["hosts"][0]["vms"] == []


def test_no_host_at_all_is_a_failed_run():
    r = report([], hosts=[])
    assert r["status"] == "failed" and r["totals"]["hosts"] == 0 and r["totals"]["elapsed_seconds"] is None


def test_unknown_sizes_stay_unknown_and_strings_are_numbers():
    r = report([ok_host("hv01", vms=[vm("web01", size=None, files=None, seconds=None), vm("db01", size="1024")])])
    web01 = next(v for v in r["hosts"][0]["vms"] if v["name"] == "web01")
    assert web01["bytes"] is None and web01["mb_per_s"] is None and web01["seconds"] is None
    assert r["hosts"][0]["bytes"] == 1024


def test_module_throughput_is_used_when_it_cannot_be_computed():
    r = report([ok_host("hv01", vms=[vm("web01", seconds=None, mb_per_s=123.456)])])
    assert r["hosts"][0]["vms"][0]["mb_per_s"] == 123.46


def test_input_is_not_changed():
    results = [ok_host("hv01"), failed_host("hv02")]
    before = copy.deepcopy(results)
    report(results)
    assert results == before


def test_later_result_for_the_same_host_wins():
    r = report([failed_host("hv01"), ok_host("hv01")])
    assert [h["status"] for h in r["hosts"]] == ["ok"]


def test_check_mode_lists_the_planned_vms():
    plan = {
        "vms": [
            {"name": "web01", "files": [{"size": 100}, {"size": 900}]},
            {"name": "db01", "files": [{"size": 5}, {"size": None}]},
        ]
    }
    planned = ok_host("hv01", vms=[], plan=plan, changed=True)
    planned["check_mode"] = True
    r = report([planned])
    assert r["check_mode"] is True and r["status"] == "ok"
    assert [(v["name"], v["status"], v["bytes"], v["files"]) for v in r["hosts"][0]["vms"]] == [
        ("db01", "planned", None, 2),
        ("web01", "planned", 1000, 2),
    ]


def test_check_mode_is_reported():
    planned = ok_host("hv01", vms=[vm("web01", status="planned", size=None, files=None, seconds=None)])
    planned["check_mode"] = True
    r = report([planned])
    assert r["check_mode"] is True and r["totals"]["vms_other"] == 1


@pytest.mark.parametrize(
    ("results", "message"),
    [
        ({"host": "hv01"}, "expected a list of per-host results"),
        (["hv01"], r"result #0: expected a mapping with 'host' and 'status'"),
        ([{"status": "ok"}], "result #0: 'host' is missing"),
        ([{"host": "hv01", "status": "maybe"}], "host 'hv01': status 'maybe' is not one of 'ok', 'failed'"),
        ([{"host": "hv01", "status": "ok", "backup": "x"}], "'backup' must be the registered win_vss_backup result"),
        ([ok_host("hv01", vms=[{"status": "complete"}])], r"backup.vms\[0\]: the VM has no name"),
        ([ok_host("hv01", vms=[vm("web01", size="lots")])], r"\(web01\).bytes: expected a number, got 'lots'"),
        ([ok_host("hv01", vms=[vm("web01", seconds=-1)])], r"\(web01\).seconds: expected a number >= 0, got -1"),
        ([ok_host("hv01", vms=[vm("web01", size="nan")])], r"\(web01\).bytes: expected a number >= 0, got 'nan'"),
        ([dict(ok_host("hv01"), started="yesterday")], "host 'hv01': started: expected an ISO 8601 timestamp"),
    ],
)
def test_bad_input_is_named(results, message):
    with pytest.raises(AnsibleFilterError, match=message):
        plugin.backup_report(results)


def test_bad_hosts_argument():
    with pytest.raises(AnsibleFilterError, match="hosts: expected a list of inventory host names"):
        plugin.backup_report([], hosts="hv01")


def test_filter_is_registered():
    assert plugin.FilterModule().filters()["backup_report"] is plugin.backup_report


# ------------------------------------------------------------------ last proven restore (restore-proofs.json)

UTC = datetime.timezone.utc


def restore_record(host, vm_name, days_ago, passed=True, generation="20261120T020000Z", check="heartbeat"):
    """A test restore record as win_vm_restore (mode test) returns it, ``days_ago`` days before NOW."""
    when = datetime.datetime(2026, 11, 25, 6, tzinfo=UTC) - datetime.timedelta(days=days_ago)
    outcome = {
        "outcome": "passed" if passed else "failed",
        "check": check,
        "reason": "heartbeat OK" if passed else "no heartbeat",
    }
    if passed and check == "heartbeat":
        outcome["seconds_to_heartbeat"] = 48.25
    return proven_restore(host, vm_name, generation, outcome, when, backup_host=host.upper())


def proofs(*records):
    """restore-proofs.json as the hyperv_restore role writes it (merge_proofs), as JSON text."""
    return json.dumps(merge_proofs(None, list(records), now=datetime.datetime(2026, 11, 25, 5, tzinfo=UTC)))


def vms_of(r, host="hv01"):
    return {v["name"]: v for h in r["hosts"] if h["name"] == host for v in h["vms"]}


def test_last_proven_restore_per_vm_from_the_proofs():
    r = report(
        [ok_host("hv01"), ok_host("hv02")],
        restore_proofs=proofs(restore_record("hv01", "WEB01", 2), restore_record("hv02", "db01", 3, check="running")),
        restore_proofs_source="/srv/reports/restore-proofs.json",
    )
    hv01 = vms_of(r)
    assert hv01["web01"]["last_proven_restore"] == {
        "generation": "20261120T020000Z", "tested_at": "2026-11-23T06:00:00Z", "passed": True,
        "check": "heartbeat", "seconds_to_heartbeat": 48.2, "tested_on": "hv01", "backup_host": "HV01",
        "age_days": 2.0, "stale": False,
    }  # fmt: skip
    assert hv01["web01"]["last_restore_test"]["passed"] is True
    assert hv01["db01"]["last_proven_restore"] is None and hv01["db01"]["last_restore_test"] is None
    # proofs belong to their host: hv02's db01 is proven, hv01's is not
    hv02_db = vms_of(r, "hv02")["db01"]["last_proven_restore"]
    assert hv02_db["check"] == "running" and hv02_db["seconds_to_heartbeat"] is None
    assert vms_of(r, "hv02")["web01"]["last_proven_restore"] is None
    assert (r["totals"]["vms_restore_proven"], r["totals"]["vms_restore_unproven"]) == (2, 2)
    assert r["restore_proofs"] == {
        "source": "/srv/reports/restore-proofs.json", "status": "read",
        "updated_at": "2026-11-25T05:00:00Z", "max_age_days": 30,
    }  # fmt: skip
    assert r["status"] == "ok" and r["warnings"] == []


def test_a_proof_older_than_the_limit_is_stale():
    text = proofs(restore_record("hv01", "web01", 45), restore_record("hv01", "db01", 10))
    r = report([ok_host("hv01")], restore_proofs=text)
    vms = vms_of(r)
    assert (
        vms["web01"]["last_proven_restore"]["stale"] is True and vms["web01"]["last_proven_restore"]["age_days"] == 45.0
    )
    assert vms["db01"]["last_proven_restore"]["stale"] is False
    assert (r["totals"]["vms_restore_proven"], r["totals"]["vms_restore_unproven"]) == (1, 1)
    strict = report([ok_host("hv01")], restore_proofs=text, restore_max_age_days=7)
    assert all(v["last_proven_restore"]["stale"] for v in vms_of(strict).values())
    assert strict["restore_proofs"]["max_age_days"] == 7
    never = report([ok_host("hv01")], restore_proofs=text, restore_max_age_days="0")
    assert not any(v["last_proven_restore"]["stale"] for v in vms_of(never).values())


def test_a_failed_latest_test_keeps_the_older_pass_as_last_proven():
    text = proofs(
        restore_record("hv01", "web01", 20, generation="20261104T020000Z"),
        restore_record("hv01", "web01", 1, passed=False, generation="20261123T020000Z"),
    )
    web01 = vms_of(report([ok_host("hv01")], restore_proofs=text))["web01"]
    assert web01["last_proven_restore"]["generation"] == "20261104T020000Z"
    assert web01["last_proven_restore"]["tested_at"] == "2026-11-05T06:00:00Z"
    assert web01["last_restore_test"] == {
        "generation": "20261123T020000Z", "tested_at": "2026-11-24T06:00:00Z", "passed": False,
        "check": "heartbeat", "seconds_to_heartbeat": None, "reason": "no heartbeat",
    }  # fmt: skip


def test_a_vm_that_never_passed_has_no_proven_restore():
    text = proofs(restore_record("hv01", "web01", 1, passed=False))
    web01 = vms_of(report([ok_host("hv01")], restore_proofs=text))["web01"]
    assert web01["last_proven_restore"] is None and web01["last_restore_test"]["passed"] is False


def test_proofs_as_a_document_and_empty_proofs():
    document = json.loads(proofs(restore_record("hv01", "web01", 1)))
    assert vms_of(report([ok_host("hv01")], restore_proofs=document))["web01"]["last_proven_restore"]
    for nothing in (None, "", {}):
        r = report([ok_host("hv01")], restore_proofs=nothing)
        assert r["restore_proofs"]["status"] == "absent" and r["warnings"] == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"format": 1, "vms": [', "not valid JSON"),
        ('{"format": 7}', "expected a document with format 1"),
        ('["web01"]', "expected a document with format 1"),
    ],
)
def test_unreadable_proofs_are_a_warning_not_an_error(text, message):
    r = report([ok_host("hv01")], restore_proofs=text, restore_proofs_source="/srv/reports/restore-proofs.json")
    assert r["status"] == "warning" and r["totals"]["warnings"] == 1
    (warning,) = r["warnings"]
    assert warning.startswith("restore proofs /srv/reports/restore-proofs.json ignored") and message in warning
    assert r["restore_proofs"]["status"] == "unreadable"
    assert all(v["last_proven_restore"] is None for v in vms_of(r).values())


def test_a_read_error_is_a_warning():
    r = report([failed_host("hv01")], restore_proofs_error="Permission denied", restore_proofs_source="/x/p.json")
    assert r["status"] == "failed" and r["warnings"] == [
        "restore proofs /x/p.json could not be read, so no VM shows a proven restore: Permission denied"
    ]


def test_a_damaged_record_is_ignored_with_a_warning():
    document = json.loads(proofs(restore_record("hv01", "web01", 1), restore_record("hv01", "db01", 1)))
    document["vms"][1]["last_passed"]["tested_at"] = "last tuesday"
    r = report([ok_host("hv01")], restore_proofs=document)
    vms = vms_of(r)
    assert vms["web01"]["last_proven_restore"] is None and vms["db01"]["last_proven_restore"] is not None
    (warning,) = r["warnings"]
    assert "host 'hv01', VM 'web01': last_passed.tested_at: expected an ISO 8601 timestamp" in warning


@pytest.mark.parametrize("bad", [-1, "soon", True])
def test_bad_max_age_is_named(bad):
    with pytest.raises(AnsibleFilterError, match=r"restore_max_age_days: expected a whole number of days >= 0"):
        plugin.backup_report([ok_host("hv01")], restore_max_age_days=bad)


# ------------------------------------------------------------------------------ the run before


def test_a_host_that_fails_before_copying_counts_the_vms_it_had_last_time():
    """hv02 fails in preflight this run, so it lists no VM of its own; the previous report knew web01 and db01 on it,
    and both went without a backup tonight: they are its unprotected_vms, with their last good backup."""
    first = report([ok_host("hv01"), ok_host("hv02")])
    assert all(v["last_good_backup"] == {"generation": "20261125T020000Z", "finished": "2026-11-25T02:10:00Z"}
               for h in first["hosts"] for v in h["vms"])  # fmt: skip
    second = report(
        [ok_host("hv01"), failed_host("hv02", "preflight: destination too small")],
        previous_report=json.dumps(first),
        previous_report_source="reports/backup-report.json",
    )
    hv02 = next(h for h in second["hosts"] if h["name"] == "hv02")
    assert hv02["vms"] == []
    assert [v["name"] for v in hv02["unprotected_vms"]] == ["db01", "web01"]
    assert hv02["unprotected_vms"][0]["last_good_backup"]["generation"] == "20261125T020000Z"
    assert second["totals"]["vms_failed"] == 0 and second["totals"]["vms_unprotected"] == 2
    # a host that worked has none, and a third run that fails again still knows them (carried from the second)
    assert next(h for h in second["hosts"] if h["name"] == "hv01")["unprotected_vms"] == []
    third = report([failed_host("hv02", "unreachable")], previous_report=second)
    (hv02,) = third["hosts"]
    assert [v["name"] for v in hv02["unprotected_vms"]] == ["db01", "web01"]
    assert hv02["unprotected_vms"][1]["last_good_backup"]["generation"] == "20261125T020000Z"


def test_a_failed_vm_keeps_the_last_good_backup_the_previous_report_knew():
    first = report([ok_host("hv01")])
    partial = ok_host(
        "hv01", vms=[vm("web01"), vm("db01", status="failed", errors=["robocopy exit code 8"])], failed=True,
        msg="copy: VM db01: robocopy exit code 8",
    )  # fmt: skip
    partial["backup"]["generation"] = "20261126T020000Z"
    second = report([partial], previous_report=first)
    vms = {v["name"]: v for v in second["hosts"][0]["vms"]}
    assert vms["db01"]["last_good_backup"]["generation"] == "20261125T020000Z"
    assert vms["web01"]["last_good_backup"]["generation"] == "20261126T020000Z"
    assert second["hosts"][0]["unprotected_vms"] == [] and second["totals"]["vms_unprotected"] == 1


def test_a_previous_report_that_is_not_one_is_a_warning():
    r = report([ok_host("hv01")], previous_report="{not json", previous_report_source="r/backup-report.json")
    (warning,) = r["warnings"]
    assert warning.startswith("previous report r/backup-report.json ignored, so no VM is known from earlier runs")
    assert r["status"] == "warning"
    r = report([failed_host("hv01", "x")], previous_report={"format": 9, "hosts": []})
    assert "not a backup report of format 1" in r["warnings"][0] and r["hosts"][0]["unprotected_vms"] == []


# ------------------------------------------------------------------------------ unreachable hosts


@pytest.mark.parametrize(
    ("raw", "line"),
    [
        (
            "read volumes: host unreachable while running payload win_volume_guid_facts: ssl:"
            " HTTPSConnectionPool(host='hv05', port=5986): Max retries exceeded with url: /wsman (Caused by"
            " ConnectTimeoutError(<urllib3.connection.HTTPSConnection object at 0x7f3c2b1d9e50>,"
            " 'Connection to hv05 timed out. (connect timeout=30)'))",
            "read volumes: host unreachable (hv05:5986): Connection to hv05 timed out. (connect timeout=30)",
        ),
        (
            "read volumes: host unreachable while running payload win_volume_guid_facts: ssl:"
            " HTTPSConnectionPool(host='hv05', port=5986): Read timed out.",
            "read volumes: host unreachable (hv05:5986): Read timed out.",
        ),
        ("preflight: destination too small", "preflight: destination too small"),
    ],
)
def test_an_unreachable_host_is_one_clear_line(raw, line):
    r = report([failed_host("hv05", raw)])
    (host,) = r["hosts"]
    assert host["errors"][0] == line
    assert host["msg"] == raw  # the full text stays in the JSON for diagnosis
    assert "\n" not in line and "object at 0x" not in line


def test_the_report_time_is_also_given_in_the_controllers_time_zone(monkeypatch):
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        r = report([ok_host("hv01")], generated_at="2026-11-25T02:30:00Z")
        assert r["generated_at"] == "2026-11-25T02:30:00Z"
        assert r["generated_at_local"] == "2026-11-25 03:30:00 CET (UTC+0100)"
        r = report([ok_host("hv01")], generated_at="2026-07-01T02:30:00Z")
        assert r["generated_at_local"] == "2026-07-01 04:30:00 CEST (UTC+0200)"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


# ------------------------------------------------------------------ writer problems, from the module's own result


def _backup_result(writers: str, check_mode=False) -> dict:
    """What win_vss_backup returns against the scripted host whose preflight lists ``writers``."""
    host = ScriptedHost({"win_vss_backup_preflight": [hv.preflight(writers=writers)]})
    action = host.install(
        make_action(action_plugin.ActionModule, {"destination": hv.DESTINATION}, check_mode=check_mode)
    )
    result = action.run(task_vars={"inventory_hostname": "hv01"})
    return {k: v for k, v in result.items() if not k.startswith("_ansible") and k != "invocation"}


def test_a_host_whose_hyperv_writer_failed_shows_the_service_to_restart():
    backup = _backup_result("vssadmin_writers_hyperv_failed.txt")
    assert backup["failed"] is True
    r = report([failed_host("hv01", msg=backup["msg"], backup=backup)])
    (host,) = r["hosts"]
    assert host["status"] == "failed"
    [problem] = host["writer_problems"]
    assert (problem["name"], problem["service"], problem["state"], problem["found_by"]) == (
        "Microsoft Hyper-V VSS Writer",
        "vmms",
        8,
        "preflight",
    )
    assert problem["remedy"].startswith("restart the Hyper-V Virtual Machine Management service (vmms) on the host")
    assert "Restart-Service -Name vmms" in host["errors"][0]


def test_a_host_with_another_writer_in_trouble_is_a_warning():
    backup = _backup_result("vssadmin_writers_sql_failed.txt", check_mode=True)
    assert not backup.get("failed"), backup["msg"]
    r = report([{"host": "hv02", "status": "ok", "check_mode": True, "backup": backup}])
    (host,) = r["hosts"]
    assert [p["service"] for p in host["writer_problems"]] == ["SQLWriter"]
    assert host["status"] == "warning" and r["status"] == "warning"
    assert any("restart the SQL Server VSS Writer service (SQLWriter)" in w for w in host["warnings"])
    # the same host without the problem list (an older module's result) is still a warning through its warnings;
    # without either it is ok
    quiet = dict(backup, writer_problems=[], warnings=[])
    assert report([{"host": "hv02", "status": "ok", "check_mode": True, "backup": quiet}])["hosts"][0]["status"] == "ok"


@pytest.mark.parametrize(
    "problems, message",
    [
        ("x", "backup.writer_problems must be a list"),
        ([{"state": 1}], r"backup.writer_problems\[0\]: expected a mapping with the writer's name"),
        ([{"name": "W", "state": "stable"}], r"backup.writer_problems\[0\].state: expected a number"),
    ],
)
def test_bad_writer_problems_are_named(problems, message):
    with pytest.raises(AnsibleFilterError, match=message):
        plugin.backup_report([ok_host("hv01", writer_problems=problems)], generated_at=NOW)
