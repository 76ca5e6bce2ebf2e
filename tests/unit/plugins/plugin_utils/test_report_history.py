"""The fleet report's run history: index, records, trend, days until a destination is full; and the report fields
that come with them (restore points per VM, destination per host), checked against the report's JSON Schema."""

from __future__ import annotations

import datetime
import json
import pathlib

import jsonschema
import pytest

from ansible_collections.vaware.hyperv.plugins.filter.backup_report_history import backup_report_history
from ansible_collections.vaware.hyperv.plugins.plugin_utils import _report_history as history
from ansible_collections.vaware.hyperv.plugins.plugin_utils._report import ReportInputError, build_report

ROOT = pathlib.Path(history.__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "docs" / "backup-report.schema.json").read_text(encoding="utf-8"))
GIB = 1024**3
TIB = 1024**4
DAY0 = datetime.datetime(2026, 11, 20, 2, 0, tzinfo=datetime.timezone.utc)


def stamp(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def validate(report):
    jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(report)
    return report


def host(name="hv01", day=0, free=None, total=4 * TIB, points=None, status="ok"):
    started = DAY0 + datetime.timedelta(days=day)
    backup = {
        "changed": True,
        "generation": started.strftime("%Y%m%dT%H%M%SZ"),
        "vms": [
            {"name": "web01", "status": "complete", "bytes": 10 * GIB, "files": 2, "seconds": 30.0},
            {"name": "DB01", "status": "complete", "bytes": 20 * GIB, "files": 2, "seconds": 60.0},
        ],
        "expired": [],
        "warnings": [],
    }
    if free is not None:
        backup.update(destination_free_bytes=free, destination_total_bytes=total)
    if points is not None:
        backup["restore_points"] = points
    return {
        "host": name,
        "status": status,
        "msg": "copy failed" if status == "failed" else None,
        "started": stamp(started),
        "finished": stamp(started + datetime.timedelta(minutes=10)),
        "backup": backup,
    }


def nightly(nights, free_of_night, keep=30, name="hv01"):
    """Run the report and the history update night after night; return the last report and the index."""
    index = None
    report = None
    for day in range(nights):
        moment = stamp(DAY0 + datetime.timedelta(days=day, hours=4))
        report = validate(
            build_report([host(name, day, free_of_night(day))], generated_at=moment, history=index, history_keep=keep)
        )
        index = history.history_update(report, index, keep)["index"]
    return report, index


def test_days_until_full_from_free_space_that_shrinks_by_the_same_amount_each_night():
    report, index = nightly(4, lambda day: 1000 * GIB - day * 100 * GIB)
    dest = report["hosts"][0]["destination"]
    assert dest["free_bytes"] == 700 * GIB and dest["measured_this_run"] is True and dest["measurements"] == 4
    assert dest["growth_bytes_per_day"] == 100 * GIB
    assert dest["days_until_full"] == 7.0 and dest["unknown_reason"] is None
    assert dest["measured_at"] == "2026-11-23T02:00:00Z"
    assert [r["free_bytes"] for r in (i["destinations"]["hv01"] for i in index["runs"])] == [
        1000 * GIB,
        900 * GIB,
        800 * GIB,
        700 * GIB,
    ]


def test_days_until_full_is_unknown_with_a_reason():
    # one run: nothing to compare with
    report, _index = nightly(1, lambda day: 500 * GIB)
    dest = report["hosts"][0]["destination"]
    assert dest["free_bytes"] == 500 * GIB and dest["days_until_full"] is None
    assert dest["unknown_reason"] == "needs the free space of 2 runs or more, 1 known"
    # free space that grows (retention frees more than a night adds): never full at this rate
    report, _index = nightly(3, lambda day: 500 * GIB + day * GIB)
    dest = report["hosts"][0]["destination"]
    assert dest["days_until_full"] is None and dest["growth_bytes_per_day"] == -GIB
    assert dest["unknown_reason"] == "the free space did not shrink over the last 3 measurements (2.0 days)"
    # the backups never measured
    report, _index = nightly(2, lambda day: None)
    dest = report["hosts"][0]["destination"]
    assert (
        dest["free_bytes"] is None
        and dest["unknown_reason"] == "the backups did not report the destination's free space"
    )


def test_a_resized_destination_starts_a_new_series():
    index = None
    for day, (free, total) in enumerate([(900 * GIB, 4 * TIB), (800 * GIB, 4 * TIB), (2 * TIB, 8 * TIB)]):
        report = build_report(
            [host(day=day, free=free, total=total)],
            generated_at=stamp(DAY0 + datetime.timedelta(days=day)),
            history=index,
        )
        index = history.history_update(report, index)["index"]
    dest = report["hosts"][0]["destination"]
    assert dest["total_bytes"] == 8 * TIB and dest["measurements"] == 1 and dest["days_until_full"] is None
    assert (
        dest["unknown_reason"] == "needs the free space of 2 runs or more, 1 known since the destination changed size"
    )


def test_a_host_that_did_not_measure_shows_its_last_measurement():
    _report, index = nightly(2, lambda day: 900 * GIB - day * 50 * GIB)
    report = validate(
        build_report(
            [host(day=2, status="failed")], generated_at=stamp(DAY0 + datetime.timedelta(days=2)), history=index
        )
    )
    dest = report["hosts"][0]["destination"]
    assert dest["measured_this_run"] is False and dest["free_bytes"] == 850 * GIB
    assert dest["measured_at"] == "2026-11-21T02:00:00Z" and dest["days_until_full"] == 17.0
    # and the index does not record a measurement for that run
    new = history.history_update(report, index)["index"]
    assert "hv01" not in new["runs"][-1]["destinations"]


def test_the_index_keeps_the_last_runs_and_names_the_records_it_drops():
    _report, index = nightly(5, lambda day: TIB, keep=3)
    assert [r["run_id"] for r in index["runs"]] == [
        "20261122T060000Z",
        "20261123T060000Z",
        "20261124T060000Z",
    ]
    assert index["keep"] == 3 and index["format"] == 1
    report = build_report([host(day=5)], generated_at="2026-11-25T06:00:00Z", history=index, history_keep=3)
    update = backup_report_history(report, json.dumps(index), keep=3)
    assert update["file"] == "20261125T060000Z.json" and update["remove"] == ["20261122T060000Z.json"]
    assert [r["run_id"] for r in update["index"]["runs"]][-1] == "20261125T060000Z"
    record = update["record"]
    assert record["run_id"] == report["run_id"] and record["hosts"][0]["name"] == "hv01"
    assert record["totals"] == report["totals"]


def test_only_plain_record_names_are_ever_removed():
    runs = [
        {"run_id": f"r{i}", "file": name, "generated_at": stamp(DAY0), "status": "ok", "totals": {}, "destinations": {}}
        for i, name in enumerate(["../../etc/passwd.json", "a\\b.json", "index.json", "r3.json", "notes.txt"])
    ]
    report = build_report([host()], generated_at=stamp(DAY0 + datetime.timedelta(days=1)))
    _index, dropped = history.updated_index(runs, report, 1)
    assert dropped == ["r3.json"]


def test_run_ids_do_not_collide():
    runs = [{"run_id": "20261125T060000Z"}, {"run_id": "20261125T060000Z-2"}]
    assert history.run_id_for("2026-11-25T06:00:00Z", runs) == "20261125T060000Z-3"
    assert history.run_id_for("2026-11-25T07:00:00+01:00", []) == "20261125T060000Z"


def test_trend_covers_the_kept_runs_and_this_one_but_not_a_check_run():
    report, index = nightly(4, lambda day: TIB, keep=3)
    runs = report["history"]["runs"]
    assert [r["run_id"] for r in runs] == ["20261121T060000Z", "20261122T060000Z", "20261123T060000Z"]
    assert runs[-1]["bytes"] == 30 * GIB and runs[-1]["seconds"] == 600.0 and runs[-1]["hosts_failed"] == 0
    assert report["history"]["status"] == "read" and report["history"]["keep"] == 3
    check = host(day=4)
    check["check_mode"] = True
    report = validate(build_report([check], generated_at="2026-11-24T06:00:00Z", history=index, history_keep=3))
    assert [r["run_id"] for r in report["history"]["runs"]] == [r["run_id"] for r in index["runs"]]
    with pytest.raises(history.HistoryError, match="check-mode report is not a run"):
        history.history_update(report, index)


@pytest.mark.parametrize(
    ("document", "why"),
    [
        ('{"format": 1, "runs": [', "not valid JSON"),
        ({"format": 2, "runs": []}, "not a history index of format 1"),
        ({"format": 1, "runs": {}}, "'runs' is not a list"),
    ],
)
def test_an_unreadable_index_is_a_warning_and_the_history_starts_again(document, why):
    report = validate(
        build_report(
            [host(free=TIB)], generated_at=stamp(DAY0), history=document, history_source="/r/history/index.json"
        )
    )
    (warning,) = report["warnings"]
    assert warning.startswith("history index /r/history/index.json ignored, so the trend and the days until full")
    assert why in warning and report["status"] == "warning" and report["history"]["status"] == "unreadable"
    assert [r["run_id"] for r in report["history"]["runs"]] == [report["run_id"]]
    assert history.history_update(report, document)["index"]["runs"][0]["run_id"] == report["run_id"]


def test_malformed_runs_of_an_index_are_left_out():
    document = {
        "format": 1,
        "runs": [
            "nonsense",
            {"run_id": 5, "generated_at": "2026-11-20T06:00:00Z"},
            {"run_id": "b", "generated_at": "yesterday"},
            {"run_id": "late", "generated_at": "2026-11-22T06:00:00Z", "totals": {"bytes": "a lot"}},
            {"run_id": "early", "generated_at": "2026-11-21T06:00:00Z", "destinations": {"hv01": {"free_bytes": -1}}},
        ],
    }
    runs = history.read_index(document)
    assert [r["run_id"] for r in runs] == ["early", "late"]
    assert runs[0]["destinations"] == {} and runs[1]["totals"]["bytes"] is None


@pytest.mark.parametrize("keep", [0, -1, "many", True])
def test_a_bad_number_of_runs_to_keep_is_refused_naming_it(keep):
    with pytest.raises(ReportInputError, match=f"history_keep: expected a whole number of runs >= 1, got {keep!r}"):
        build_report([host()], history_keep=keep)


def test_restore_points_per_vm_from_the_backup_result():
    points = [
        {"name": "WEB01", "count": 7, "oldest": "20261114T020000Z"},
        {"name": "gone01", "count": 2, "oldest": "x"},
    ]
    report = validate(build_report([host(points=points)], generated_at=stamp(DAY0)))
    vms = {v["name"]: v for v in report["hosts"][0]["vms"]}
    assert (vms["web01"]["restore_points"], vms["web01"]["oldest_restore_point"]) == (7, "20261114T020000Z")
    # listed generations hold no complete copy of DB01 (yet): 0 restore points, not unknown
    assert (vms["DB01"]["restore_points"], vms["DB01"]["oldest_restore_point"]) == (0, None)
    # without the field (an older module, or a job that could not list the destination): unknown
    report = validate(build_report([host()], generated_at=stamp(DAY0)))
    assert {(v["restore_points"], v["oldest_restore_point"]) for v in report["hosts"][0]["vms"]} == {(None, None)}


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ({"web01": 3}, "backup.restore_points must be a list, got dict"),
        (["web01"], r"backup.restore_points\[0\]: expected a mapping with name, count and oldest"),
        ([{"name": "web01", "count": -2}], r"backup.restore_points\[0\].count: expected a number >= 0, got -2"),
    ],
)
def test_bad_restore_points_are_refused_naming_them(points, message):
    with pytest.raises(ReportInputError, match=message):
        build_report([host(points=points)])
