"""``ansible-playbook vaware.hyperv.backup`` for real, against scripted Windows hosts.

The Windows side is the scripted host (``scripted_windows_host/``, a TEST-ONLY STAND-IN for
ansible.windows.win_powershell); everything else is the real thing: ansible-playbook, the role, the
action plugins, the payload runner, the report filter and template. The fleet:

* hv01: both VMs backed up, one old generation expires;
* hv02: robocopy fails on db01's disk (exit 8): web01 complete, db01 failed, the module fails with partial results;
* hv03: the destination is too small: the module fails in preflight, nothing is started;
* hv04: a bad role variable (``hyperv_backup_type: incremental``): the role's argument validation refuses the
  host before any call; the playbook rescues it, so it stays in the run and the report lists it as failed with
  the validation message;
* hv05: unreachable (WinRM times out): failed, the others unaffected.

The report folder already holds ``restore-proofs.json`` from an earlier ``playbooks/test_restore.yml`` run:
hv01's web01 passed a test restore, its db01 was never tested.
"""

from __future__ import annotations

import json
import pathlib
import subprocess

import jsonschema
import pytest

from ansible_collections.vaware.hyperv.tests.functional.playbooks import (
    chromium,
    fleet,
    html_checks,
    recorded_results,
)
from ansible_collections.vaware.hyperv.tests.functional.playbooks.scripted_windows_host import scripted_collection

ROOT = pathlib.Path(__file__).resolve().parents[3]
PLAYBOOK_BIN = ROOT / ".venv" / "bin" / "ansible-playbook"
SCHEMA = json.loads((ROOT / "docs" / "backup-report.schema.json").read_text(encoding="utf-8"))
OUTPUT = ROOT / "tests" / "output" / "backup-report"
HOST_VARS = {
    "hyperv_backup_destination": "E:\\Backups",
    "hyperv_backup_retention": {"keep_last": 2},
    "hyperv_backup_poll_interval": 1,
    "hyperv_backup_timeout": 60,  # a scenario that goes wrong ends quickly instead of polling for hours
}


def run_backup(tmp: pathlib.Path, scenarios, *extra_args: str, host_vars=None, proofs=None):
    # a host variable set to None is left out (for example no hyperv_backup_destination at all)
    host_vars = {
        h: {k: v for k, v in {**HOST_VARS, **(host_vars or {}).get(h, {})}.items() if v is not None} for h in scenarios
    }
    setup = scripted_collection.build(tmp, scenarios, host_vars=host_vars)
    env = setup["env"]
    # The json callback gives the play recap and the set_stats data as one JSON document.
    env.update({"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_SHOW_CUSTOM_STATS": "true"})
    env["ANSIBLE_LOG_PATH"] = str(tmp / "ansible.log")  # progress, for when a run goes wrong
    report_dir = tmp / "report"
    if proofs is not None:  # left by an earlier test_restore.yml run with the same report folder
        report_dir.mkdir(parents=True, exist_ok=True)
        (report_dir / "restore-proofs.json").write_text(json.dumps(proofs, indent=2), encoding="utf-8")
    proc = subprocess.run(
        [str(PLAYBOOK_BIN), "vaware.hyperv.backup", "-i", str(setup["inventory"]),
         "-e", f"hyperv_backup_report_dir={report_dir}", *extra_args],
        env=env, cwd=tmp, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.stdout.lstrip().startswith("{"), proc.stdout[-3000:] + proc.stderr[-3000:]
    output = json.loads(proc.stdout)
    return setup, proc, output, report_dir


def validate(report):
    jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(report)


@pytest.fixture(scope="module")
def fleet_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fleet")
    scenarios = {
        "hv01": fleet.successful_host(),
        "hv02": fleet.host_with_failing_vm(),
        "hv03": fleet.host_with_full_destination(),
        "hv04": {},
        "hv05": fleet.unreachable_host(),
    }
    setup, proc, output, report_dir = run_backup(
        tmp,
        scenarios,
        host_vars={"hv04": {"hyperv_backup_type": "incremental"}},
        proofs=recorded_results.restore_proofs(("hv01", "web01", 1, True)),
    )
    report = json.loads((report_dir / "backup-report.json").read_text(encoding="utf-8"))
    return {"setup": setup, "proc": proc, "output": output, "report": report, "report_dir": report_dir}


def test_the_run_fails_after_every_host_ran_and_the_report_was_written(fleet_run):
    proc, output = fleet_run["proc"], fleet_run["output"]
    assert proc.returncode == 2, proc.stderr[-2000:]
    stats = output["stats"]
    # every host ran its backup to the end (failures rescued); after the report, exactly the failed hosts fail
    assert stats["hv01"]["failures"] == 0 and stats["hv01"]["rescued"] == 0
    # hv04 failed the role's argument validation: rescued by the playbook, so it stays in the run
    for host in ("hv02", "hv03", "hv04", "hv05"):
        assert stats[host]["failures"] == 1 and stats[host]["rescued"] == 1 and stats[host]["unreachable"] == 0
    assert "localhost" not in stats  # nothing runs as a host of its own: the report is delegated
    fail_task = output["plays"][-1]["tasks"][-2]
    assert fail_task["task"]["name"].endswith(": Fail the hosts whose backup failed")
    assert fail_task["hosts"]["hv01"].get("skipped") is True
    report_html = fleet_run["report_dir"] / "backup-report.html"
    hv02, hv03 = fail_task["hosts"]["hv02"]["msg"], fail_task["hosts"]["hv03"]["msg"]
    assert hv02.startswith("Backup of hv02 FAILED: copy: VM db01: robocopy exit code 8")
    assert hv03.startswith("Backup of hv03 FAILED: preflight: destination too small")
    assert f"(4 of 5 host(s) failed; report: {report_html})" in hv03
    # an unreachable host is one clear line: where it could not be reached and why, not the client's exception
    assert fail_task["hosts"]["hv05"]["msg"].startswith(
        "Backup of hv05 FAILED: read volumes: host unreachable (hv05:5986): Read timed out. (4 of 5 host(s) failed;"
    ), fail_task["hosts"]["hv05"]["msg"]
    assert (
        fail_task["hosts"]["hv04"]["msg"].startswith("Backup of hv04 FAILED: Validation of arguments failed:")
        and "hyperv_backup_type must be one of: copy, full, got: incremental" in fail_task["hosts"]["hv04"]["msg"]
    )
    assert output["plays"][-1]["tasks"][-1]["hosts"]["hv01"].get("skipped") is True  # mail was sent / not asked
    assert (fleet_run["report_dir"] / "backup-report.json").is_file()
    assert report_html.is_file()


def test_json_report_matches_its_schema_and_what_happened(fleet_run):
    report = fleet_run["report"]
    validate(report)
    assert report["status"] == "failed"
    assert report["failed_hosts"] == ["hv02", "hv03", "hv04", "hv05"]
    assert [h["name"] for h in report["hosts"]] == ["hv02", "hv03", "hv04", "hv05", "hv01"]
    totals = report["totals"]
    assert (totals["hosts"], totals["hosts_ok"], totals["hosts_failed"]) == (5, 1, 4)
    assert (totals["vms"], totals["vms_ok"], totals["vms_failed"]) == (4, 3, 1)
    assert totals["expired"] == 1

    hv02, hv03, hv04, hv05, hv01 = report["hosts"]
    assert hv05["failed_task"] == "Read the volumes and where the VMs live" and hv05["vms"] == []
    assert hv04["msg"].startswith("Validation of arguments failed:") and hv04["vms"] == []
    assert "hyperv_backup_type must be one of: copy, full, got: incremental" in hv04["msg"]
    assert hv04["failed_task"].startswith("Validating arguments against arg spec 'main'")
    bindings = json.loads((fleet_run["setup"]["hosts_dir"] / "hv01" / "bindings.json").read_text())
    assert hv01["status"] == "ok" and hv01["errors"] == []
    assert hv01["generation"] == bindings["@GENERATION@"]
    assert hv01["destination_path"] == "E:\\Backups\\HV01\\" + bindings["@GENERATION@"]
    assert hv01["expired"] == ["20261123T020000Z"]
    assert hv01["writer"] == "included" and hv01["shadows_created"] == 2 == hv01["shadows_deleted"]
    assert [(v["name"], v["status"]) for v in hv01["vms"]] == [("db01", "ok"), ("web01", "ok")]
    web01 = hv01["vms"][1]
    assert web01["bytes"] == 40 * 1024**3 + 65536 + 1048576 and web01["files"] == 3
    assert web01["generation"] == hv01["generation"] and web01["mb_per_s"] > 0
    # the last proven restore comes from restore-proofs.json in the report folder
    assert report["restore_proofs"]["status"] == "read" and report["warnings"] == []
    assert web01["last_proven_restore"]["generation"] == "20261120T020000Z"
    assert web01["last_proven_restore"]["check"] == "heartbeat" and web01["last_proven_restore"]["stale"] is False
    assert hv01["vms"][0]["name"] == "db01" and hv01["vms"][0]["last_proven_restore"] is None
    assert totals["vms_restore_proven"] == 1 and totals["vms_restore_unproven"] == 3

    assert hv02["status"] == "failed" and hv02["failed_task"] == "Run the VSS backup" and hv02["step"] == "copy"
    assert [(v["name"], v["status"]) for v in hv02["vms"]] == [("db01", "failed"), ("web01", "ok")]
    assert any("robocopy exit code 8" in e for e in hv02["errors"])
    assert hv02["vms"][0]["errors"] and hv02["expired"] == []

    assert hv03["status"] == "failed" and hv03["vms"] == [] and hv03["generation"] is None
    assert hv03["msg"].startswith("preflight: destination too small")


def test_set_stats_publishes_the_summary_for_awx(fleet_run):
    stats = fleet_run["output"]["global_custom_stats"]["hyperv_backup"]
    report = fleet_run["report"]
    assert stats["status"] == "failed"
    assert stats["failed_hosts"] == ["hv02", "hv03", "hv04", "hv05"]
    assert stats["totals"] == report["totals"]
    assert stats["report_json"] == str(fleet_run["report_dir"] / "backup-report.json")
    assert stats["report_html"] == str(fleet_run["report_dir"] / "backup-report.html")
    assert fleet_run["output"]["custom_stats"] == {}  # per_host: false


def test_the_scripted_hosts_saw_the_calls_of_each_outcome(fleet_run):
    hosts_dir = fleet_run["setup"]["hosts_dir"]
    payloads = {h: [c["payload"] for c in scripted_collection.calls(hosts_dir, h)] for h in ("hv01", "hv02", "hv03")}
    assert scripted_collection.calls(hosts_dir, "hv04") == []  # refused before any call
    assert payloads["hv03"] == ["win_volume_guid_facts", "win_vss_backup_preflight"]  # nothing started
    for host in ("hv01", "hv02"):
        assert payloads[host][:3] == ["win_volume_guid_facts", "win_vss_backup_preflight", "win_vss_backup_start"]
        assert payloads[host][-1] == "win_vss_backup_cleanup"
    facts_call = scripted_collection.calls(hosts_dir, "hv01")[0]
    assert facts_call["parameters"] == {"VmPlacement": True}
    preflight = scripted_collection.calls(hosts_dir, "hv01")[1]
    assert preflight["parameters"]["Destination"] == "E:\\Backups"


def test_html_report_in_headless_chromium(fleet_run):
    if not chromium.binary():
        pytest.fail("chromium is not installed (Debian package 'chromium', bindep test profile)")
    html_path = fleet_run["report_dir"] / "backup-report.html"
    html = html_path.read_text(encoding="utf-8")
    assert html_checks.external_references(html) == []
    seen = chromium.run(html_path, OUTPUT, screenshot="fleet.png")
    assert seen["requests"] == []
    assert seen["screenshot"].stat().st_size > 10_000
    dom = html_checks.parse(seen["dom"])
    report = fleet_run["report"]
    assert [s["host"] for s in dom.sections] == [h["name"] for h in report["hosts"]]
    assert [r["host"] for r in dom.host_rows] == ["hv02", "hv03", "hv04", "hv05", "hv01"]
    for host in report["hosts"]:
        rows = dom.vm_rows.get(host["name"], [])
        assert [r["vm"] for r in rows] == [v["name"] for v in host["vms"]]  # one row per VM
        assert html_checks.failures_first([r["status"] for r in rows])
    assert dom.vm_rows["hv02"][0] == {"vm": "db01", "status": "failed"}
    assert dom.svgs == 1 + sum(1 for h in report["hosts"] if h["vms"])  # fleet chart + one per host with VMs
    # "Last proven restore": date and generation for hv01's web01, "never" (highlighted) for every other VM
    assert "Last proven restore" in dom.column_headers
    proven = report["hosts"][-1]["vms"][1]["last_proven_restore"]
    assert dom.restore_cells[("hv01", "web01")]["restore"] == "proven"
    assert dom.restore_cells[("hv01", "web01")]["text"].startswith(f"{proven['tested_at'][:10]} · 20261120T020000Z")
    others = {key: cell["restore"] for key, cell in dom.restore_cells.items() if key != ("hv01", "web01")}
    assert others == {("hv01", "db01"): "never", ("hv02", "db01"): "never", ("hv02", "web01"): "never"}


def test_a_fleet_where_everything_works_passes(tmp_path):
    # hv05 would fail, but --limit leaves it out: the report play still runs (it targets the same hosts)
    setup, proc, output, report_dir = run_backup(
        tmp_path,
        {"hv01": fleet.successful_host(), "hv04": fleet.successful_host(), "hv05": fleet.host_with_full_destination()},
        "--limit",
        "hv01,hv04",
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    report = json.loads((report_dir / "backup-report.json").read_text(encoding="utf-8"))
    validate(report)
    assert report["status"] == "ok" and report["failed_hosts"] == []
    assert [h["name"] for h in report["hosts"]] == ["hv01", "hv04"]
    assert scripted_collection.calls(setup["hosts_dir"], "hv05") == []
    assert output["global_custom_stats"]["hyperv_backup"]["status"] == "ok"


def test_check_mode_plans_reports_and_changes_nothing(tmp_path):
    # last night's real report is in the report folder; a --check run must leave it alone
    last_night = {
        "backup-report.json": '{"format": 1, "status": "ok", "last": "night", "hosts": []}\n',
        "backup-report.html": "<p>last night</p>\n",
    }
    (tmp_path / "report").mkdir()
    for name, text in last_night.items():
        (tmp_path / "report" / name).write_text(text, encoding="utf-8")
    scenario = fleet.successful_host()
    setup, proc, output, report_dir = run_backup(tmp_path, {"hv01": scenario}, "--check")
    stats = output["global_custom_stats"]["hyperv_backup"]
    assert stats["check_mode"] is True
    assert proc.returncode == 0, proc.stdout[-3000:]
    payloads = [c["payload"] for c in scripted_collection.calls(setup["hosts_dir"], "hv01")]
    assert payloads == ["win_volume_guid_facts", "win_vss_backup_preflight"]  # read-only calls only
    for name, text in last_night.items():
        assert (report_dir / name).read_text(encoding="utf-8") == text  # the real report is untouched
    assert stats["report_json"] == str(report_dir / "backup-report.check.json")
    assert stats["report_html"] == str(report_dir / "backup-report.check.html")
    report = json.loads((report_dir / "backup-report.check.json").read_text(encoding="utf-8"))
    validate(report)
    assert report["check_mode"] is True and report["status"] == "ok"
    (host,) = report["hosts"]
    assert [(v["name"], v["status"]) for v in host["vms"]] == [("db01", "planned"), ("web01", "planned")]
    assert host["vms"][1]["bytes"] == 40 * 1024**3 + 65536 + 1048576
    html = (report_dir / "backup-report.check.html").read_text(encoding="utf-8")
    assert "check mode: planned only" in html and "the same data is in backup-report.check.json" in html


def test_every_host_refused_by_the_role_checks_still_gets_a_failed_report(tmp_path):
    # a typical first run: hyperv_backup_destination is not set anywhere, so the role refuses every host
    scenarios = {"hv01": fleet.successful_host(), "hv02": fleet.successful_host()}
    setup, proc, output, report_dir = run_backup(
        tmp_path, scenarios, host_vars={h: {"hyperv_backup_destination": None} for h in scenarios}
    )
    assert proc.returncode == 2, proc.stdout[-3000:]
    for host in scenarios:
        assert scripted_collection.calls(setup["hosts_dir"], host) == []  # refused before any call
        assert output["stats"][host]["failures"] == 1 and output["stats"][host]["rescued"] == 1
    report = json.loads((report_dir / "backup-report.json").read_text(encoding="utf-8"))
    validate(report)
    assert report["status"] == "failed" and report["failed_hosts"] == ["hv01", "hv02"]
    for host in report["hosts"]:
        assert host["status"] == "failed" and host["vms"] == []
        assert host["msg"].startswith("hyperv_backup_destination is not set"), host["msg"]
        assert host["errors"] and "hyperv_backup_destination" in host["errors"][0]
        assert host["failed_task"] == "Check that hyperv_backup_destination is set"
    html = (report_dir / "backup-report.html").read_text(encoding="utf-8")
    assert "hyperv_backup_destination is not set" in html
    assert output["global_custom_stats"]["hyperv_backup"]["failed_hosts"] == ["hv01", "hv02"]
    (fail_task,) = [
        t for t in output["plays"][-1]["tasks"] if t["task"]["name"].endswith(": Fail the hosts whose backup failed")
    ]
    for host in scenarios:
        msg = fail_task["hosts"][host]["msg"]
        assert msg.startswith(f"Backup of {host} FAILED: ") and "hyperv_backup_destination" in msg


def refused_messages(tmp_path, host_vars, *extra_args):
    """Run the backup playbook with one host per set of variables; every host must be refused before any call."""
    scenarios = {host: fleet.successful_host() for host in host_vars}
    setup, proc, _output, report_dir = run_backup(tmp_path, scenarios, *extra_args, host_vars=host_vars)
    assert proc.returncode == 2, proc.stdout[-3000:]
    report = json.loads((report_dir / "backup-report.json").read_text(encoding="utf-8"))
    for host in scenarios:
        assert scripted_collection.calls(setup["hosts_dir"], host) == [], host  # refused before any call
    return {h["name"]: h["msg"] for h in report["hosts"]}


def test_a_missing_destination_is_one_clear_line(tmp_path):
    (msg,) = refused_messages(tmp_path, {"hv01": {"hyperv_backup_destination": None}}).values()
    assert msg.startswith("hyperv_backup_destination is not set: give the folder that receives the backups"), msg
    assert "\n" not in msg and len(msg) < 400 and "argument_spec" not in msg, msg


def test_role_variables_are_checked_before_any_host_is_contacted_in_their_own_names(tmp_path):
    msgs = refused_messages(
        tmp_path,
        {
            "hv01": {"hyperv_backup_retention": {"keep_daily": -1}},
            "hv02": {"hyperv_backup_retention": {"keep_dayly": 7}},
            "hv03": {"hyperv_backup_copy_threads": 500},
            "hv04": {"hyperv_backup_destination": "\\nas01\\hyperv-backup"},  # what -e key=value leaves of \\nas01
            "hv05": {"hyperv_backup_destination": "backups"},
            "hv06": {"hyperv_backup_retention": {"keep_last": 100001}, "hyperv_backup_copy_threads": 0},
        },
    )
    assert msgs["hv01"] == "hyperv_backup_retention.keep_daily: expected a whole number from 0 to 100000, got -1"
    assert "keep_dayly" in msgs["hv02"] and "hyperv_backup_retention" in msgs["hv02"], msgs["hv02"]
    assert msgs["hv03"] == "hyperv_backup_copy_threads: expected a whole number from 1 to 128, got 500"
    assert msgs["hv04"].startswith(
        "hyperv_backup_destination: expected a local path such as E:\\Backups or a UNC path such as"
        " \\\\nas01\\hyperv-backup, got '\\nas01\\hyperv-backup'. Backslashes look decoded"
    ), msgs["hv04"]
    assert msgs["hv05"].endswith("got 'backups'"), msgs["hv05"]
    assert msgs["hv06"] == (
        "hyperv_backup_retention.keep_last: expected a whole number from 0 to 100000, got 100001; "
        "hyperv_backup_copy_threads: expected a whole number from 1 to 128, got 0"
    )


def test_the_role_accepts_the_bounds_the_module_accepts(tmp_path):
    scenarios = {"hv01": fleet.successful_host()}
    setup, _proc, _output, report_dir = run_backup(
        tmp_path, scenarios,
        host_vars={"hv01": {"hyperv_backup_retention": {"keep_last": 100000, "keep_daily": 0},
                            "hyperv_backup_copy_threads": 128, "hyperv_backup_destination": "\\\\nas01\\hb"}},
    )  # fmt: skip
    report = json.loads((report_dir / "backup-report.json").read_text(encoding="utf-8"))
    assert "hyperv_backup_" not in (report["hosts"][0]["msg"] or ""), report["hosts"][0]["msg"]
    assert scripted_collection.calls(setup["hosts_dir"], "hv01") != []
