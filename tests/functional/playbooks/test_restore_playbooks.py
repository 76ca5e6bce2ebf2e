"""``ansible-playbook vaware.hyperv.test_restore`` and ``vaware.hyperv.restore`` for real, against scripted hosts.

The Windows side is the scripted host (``scripted_windows_host/``, a TEST-ONLY STAND-IN for
ansible.windows.win_powershell) answering with the recorded outputs of the win_vm_restore action tests;
ansible-playbook, the role, the action plugin, the payload runner and the restore_proofs filter are real.

* hv01: web01 boots and reports its heartbeat; sql01's copy stops right after the start (failed test);
  both copies are removed.
* hv02: the backup destination cannot be read: both VMs fail before anything is imported.
* hv03: no VM list given: the VMs with a complete backup are read (win_vm_restore_info), sql01, app01 and Test01 are
  excluded; a registered VM that was never backed up and a restored copy are not tested; web01 passes.
* hv04: its host folder holds no generation: the host fails before anything is imported.
"""

from __future__ import annotations

import json
import pathlib
import subprocess

import pytest

from ansible_collections.vaware.hyperv.tests.functional.playbooks.scripted_windows_host import scripted_collection
from ansible_collections.vaware.hyperv.tests.support import restore_answers as answers
from ansible_collections.vaware.hyperv.tests.support import restore_samples as samples
from ansible_collections.vaware.hyperv.tests.support.scripted_host import ok

ROOT = pathlib.Path(__file__).resolve().parents[3]
PLAYBOOK_BIN = ROOT / ".venv" / "bin" / "ansible-playbook"
GEN = answers.GEN
TEST_PATH = "E:\\RestoreTest"
SQL_ID = "5a1a5a1a-0000-4000-8000-0000000000aa"
FIXTURES = ROOT / "tests" / "unit" / "fixtures"


def imported_copy(vm, folder, vm_id):
    """The import payload's answer for ``vm`` of generation GEN: its disks copied into ``folder``."""
    manifest = samples.manifest(samples.at(21))
    disks = [
        {
            "path": f"{folder}\\Virtual Hard Disks\\{entry['relative_path'].rsplit(chr(92), 1)[-1]}",
            "size": entry["size"],
        }
        for _path, entry in samples.vm_files(manifest, vm)
        if entry["kind"] == "vhd"
    ]
    return ok(
        {
            "id": vm_id,
            "name": folder.rsplit("\\", 1)[-1],
            "state": "Off",
            "path": folder,
            "disks": disks,
            "adapters": [],
        },
        changed=True,
    )


def hv01_scenario():
    web = f"{TEST_PATH}\\web01-restoretest-{GEN}"
    sql = f"{TEST_PATH}\\sql01-restoretest-{GEN}"
    return {
        "win_vm_restore_generations": [answers.generations(), answers.generations()],
        "win_vm_restore_verify": [answers.verified(folder=web), answers.verified(vm="sql01", folder=sql)],
        "win_vm_restore_import": [imported_copy("web01", web, answers.NEW_ID), imported_copy("sql01", sql, SQL_ID)],
        "win_vm_restore_boot": [answers.boot(heartbeat="OkApplicationsHealthy"), answers.boot(state="Off")],
        "win_vm_restore_remove": [answers.removed(), answers.removed()],
    }


def unreadable_host():
    gone = answers.generations(destination_exists=False, host_path_exists=False, generations=[], hosts=[])
    return {"win_vm_restore_generations": [gone, gone]}


def host_testing_what_was_backed_up():
    """hv03: no VM list given; the backups hold web01, sql01 and app01, the host also runs a VM that was never
    backed up and a restored copy: only the backed-up VMs are candidates (sql01, app01, Test01 excluded)."""
    web = f"{TEST_PATH}\\web01-restoretest-{GEN}"
    registered = [
        answers.live_vm(),
        answers.live_vm("neverbacked", "3b3b3b3b-0000-4000-8000-00000000003b"),
        answers.live_vm(f"web01-restored-{answers.OLD}", "4c4c4c4c-0000-4000-8000-00000000004c", "Off"),
    ]
    return {
        "win_vm_restore_generations": [answers.generations(vms=registered), answers.generations(vms=registered)],
        "win_vm_restore_verify": [answers.verified(folder=web)],
        "win_vm_restore_import": [imported_copy("web01", web, answers.NEW_ID)],
        "win_vm_restore_boot": [answers.boot(heartbeat="OkApplicationsHealthy")],
        "win_vm_restore_remove": [answers.removed()],
    }


def host_without_generations():
    return {"win_vm_restore_generations": [answers.generations([])]}


def run_playbook(tmp, scenarios, playbook, *extra_args, host_vars=None):
    setup = scripted_collection.build(tmp, scenarios, host_vars=host_vars)
    env = setup["env"]
    env.update({"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_LOG_PATH": str(tmp / "ansible.log")})
    proc = subprocess.run(
        [str(PLAYBOOK_BIN), playbook, "-i", str(setup["inventory"]), *extra_args],
        env=env, cwd=tmp, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.stdout.lstrip().startswith("{"), proc.stdout[-3000:] + proc.stderr[-3000:]
    return setup, proc, json.loads(proc.stdout)


@pytest.fixture(scope="module")
def test_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("test_restore")
    proofs_dir = tmp / "proofs"
    setup, proc, output = run_playbook(
        tmp,
        {
            "hv01": hv01_scenario(),
            "hv02": unreadable_host(),
            "hv03": host_testing_what_was_backed_up(),
            "hv04": host_without_generations(),
        },
        "vaware.hyperv.test_restore",
        "-e", json.dumps({
            "hyperv_restore_destination": samples.DESTINATION,
            "hyperv_restore_path": TEST_PATH,
            "hyperv_restore_poll_interval": 1,
            "hyperv_restore_proofs_dir": str(proofs_dir),
        }),
        host_vars={
            "hv01": {"hyperv_restore_test_vms": ["web01", "sql01"]},
            "hv02": {"hyperv_restore_test_vms": ["web01", "sql01"]},
            "hv03": {"hyperv_restore_test_exclude_vms": ["sql01", "app01", "Test01"]},
        },
    )  # fmt: skip
    proofs = json.loads((proofs_dir / "restore-proofs.json").read_text(encoding="utf-8"))
    return {"setup": setup, "proc": proc, "output": output, "proofs": proofs}


def failure_messages(output):
    """``{host: msg}`` of the failed tasks of the last play."""
    found = {}
    for task in output["plays"][-1]["tasks"]:
        for host, res in task["hosts"].items():
            if res.get("failed") and not res.get("skipped"):
                found[host] = res["msg"]
    return found


def test_every_vm_is_tested_and_the_run_fails_at_the_end(test_run):
    proc, output = test_run["proc"], test_run["output"]
    assert proc.returncode == 2, proc.stderr[-2000:]
    stats = output["stats"]
    # every host with a failed test fails on its own recap line, after the proofs were written
    assert all(stats[host]["failures"] == 1 for host in ("hv01", "hv02", "hv04"))
    assert stats["hv03"]["failures"] == 0
    assert "localhost" not in stats
    msgs = failure_messages(output)
    assert sorted(msgs) == ["hv01", "hv02", "hv04"]
    assert msgs["hv01"].startswith("Test restore FAILED on hv01: hv01/sql01.")
    assert msgs["hv02"].startswith("Test restore FAILED on hv02: hv02/web01, hv02/sql01.")
    assert msgs["hv04"].startswith("Test restore FAILED on hv04: No complete backup of any VM in")
    assert "Failed in this run: hv01/sql01, hv02/web01, hv02/sql01;" in msgs["hv04"]
    assert "hosts with an error or no result: hv04." in msgs["hv01"]


def test_only_vms_with_a_complete_backup_are_tested(test_run):
    calls = scripted_collection.calls(test_run["setup"]["hosts_dir"], "hv03")
    assert [c["parameters"]["Name"] for c in calls if c["payload"] == "win_vm_restore_import"] == [
        f"web01-restoretest-{GEN}"
    ]
    assert [c["payload"] for c in scripted_collection.calls(test_run["setup"]["hosts_dir"], "hv04")] == [
        "win_vm_restore_generations"
    ]


def test_with_limit_the_proofs_are_written_and_a_failed_test_fails_the_run(tmp_path):
    """--limit hv01 (as the playbook's header suggests) neither skips the proofs nor hides a failed test."""
    proofs_dir = tmp_path / "proofs"
    _setup, proc, output = run_playbook(
        tmp_path,
        {"hv01": hv01_scenario(), "hv02": {}},
        "vaware.hyperv.test_restore",
        "--limit", "hv01",
        "-e", json.dumps({
            "hyperv_restore_destination": samples.DESTINATION,
            "hyperv_restore_path": TEST_PATH,
            "hyperv_restore_poll_interval": 1,
            "hyperv_restore_proofs_dir": str(proofs_dir),
            "hyperv_restore_test_vms": ["web01", "sql01"],
        }),
    )  # fmt: skip
    assert proc.returncode == 2, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert sorted(output["stats"]) == ["hv01"]
    assert output["stats"]["hv01"]["failures"] == 1
    assert failure_messages(output)["hv01"].startswith("Test restore FAILED on hv01: hv01/sql01.")
    proofs = json.loads((proofs_dir / "restore-proofs.json").read_text(encoding="utf-8"))
    assert sorted((e["host"], e["vm"]) for e in proofs["vms"]) == [("hv01", "sql01"), ("hv01", "web01")]


def test_with_limit_a_run_whose_tests_pass_succeeds(tmp_path):
    proofs_dir = tmp_path / "proofs"
    _setup, proc, output = run_playbook(
        tmp_path,
        {"hv01": hv01_scenario(), "hv02": {}},
        "vaware.hyperv.test_restore",
        "--limit", "hv01",
        "-e", json.dumps({
            "hyperv_restore_destination": samples.DESTINATION,
            "hyperv_restore_path": TEST_PATH,
            "hyperv_restore_proofs_dir": str(proofs_dir),
            "hyperv_restore_test_vms": ["web01"],
        }),
    )  # fmt: skip
    assert proc.returncode == 0, json.dumps(failure_messages(output))
    proofs = json.loads((proofs_dir / "restore-proofs.json").read_text(encoding="utf-8"))
    assert [(e["host"], e["vm"], e["last_test"]["passed"]) for e in proofs["vms"]] == [("hv01", "web01", True)]


def test_both_test_copies_were_removed(test_run):
    calls = scripted_collection.calls(test_run["setup"]["hosts_dir"], "hv01")
    removes = [c["parameters"] for c in calls if c["payload"] == "win_vm_restore_remove"]
    assert removes == [
        {"VmId": answers.NEW_ID, "VmFolder": f"{TEST_PATH}\\web01-restoretest-{GEN}"},
        {"VmId": SQL_ID, "VmFolder": f"{TEST_PATH}\\sql01-restoretest-{GEN}"},
    ]
    assert all(c["parameters"].get("ConnectNetwork") is False for c in calls if c["payload"] == "win_vm_restore_import")
    unreadable = scripted_collection.calls(test_run["setup"]["hosts_dir"], "hv02")
    assert [c["payload"] for c in unreadable] == ["win_vm_restore_generations"] * 2


def test_proofs_record_the_last_proven_restore(test_run):
    proofs = {(e["host"], e["vm"]): e for e in test_run["proofs"]["vms"]}
    assert sorted(proofs) == [
        ("hv01", "sql01"),
        ("hv01", "web01"),
        ("hv02", "sql01"),
        ("hv02", "web01"),
        ("hv03", "web01"),
    ]
    assert proofs[("hv03", "web01")]["last_passed"]["generation"] == GEN
    web = proofs[("hv01", "web01")]
    assert web["last_passed"]["generation"] == GEN and web["last_passed"]["check"] == "heartbeat"
    assert proofs[("hv01", "sql01")]["last_passed"] is None
    assert "not running" in proofs[("hv01", "sql01")]["last_test"]["reason"]
    assert "cannot be read from the host" in proofs[("hv02", "web01")]["last_test"]["reason"]


def test_restore_playbook_restores_one_vm_on_the_host_given(tmp_path):
    folder = f"{answers.RESTORE}\\web01-restored-{answers.OLD}"
    scenario = {
        "win_vm_restore_generations": [answers.generations()],
        "win_vm_restore_verify": [answers.verified(samples.manifest(samples.at(20)), folder=folder)],
        "win_vm_restore_import": [answers.imported(f"web01-restored-{answers.OLD}", folder)],
    }
    setup, proc, output = run_playbook(
        tmp_path, {"hv01": scenario, "hv02": {}}, "vaware.hyperv.restore",
        "-l", "hv01", "-e", "vm=web01", "-e", f"generation={answers.OLD}", "-e", "connect_network=true",
        "-e", json.dumps({"restore_path": answers.RESTORE, "destination": samples.DESTINATION}),
    )  # fmt: skip
    assert proc.returncode == 0, json.dumps(output["plays"][-1]["tasks"][-1])[-2000:]
    (call,) = [
        c for c in scripted_collection.calls(setup["hosts_dir"], "hv01") if c["payload"] == "win_vm_restore_import"
    ]
    assert call["parameters"]["Name"] == f"web01-restored-{answers.OLD}"
    assert call["parameters"]["ConnectNetwork"] is True  # -e connect_network=true reaches the module


def test_restore_playbook_refuses_more_than_one_host(tmp_path):
    _setup, proc, output = run_playbook(
        tmp_path, {"hv01": {}, "hv02": {}}, "vaware.hyperv.restore", "-e", "vm=web01",
    )  # fmt: skip
    assert proc.returncode == 2
    assert "pick the host with -l HOST" in json.dumps(output)


def test_a_vm_without_integration_services_is_tested_with_its_own_check(tmp_path):
    """hyperv_restore_test_check_vms: {sql01: running}: sql01 never reports a heartbeat (NoContact) and passes by
    staying running, while web01 is still held to its heartbeat; a value other than heartbeat/running fails the host
    before anything is restored."""
    web = f"{TEST_PATH}\\web01-restoretest-{GEN}"
    sql = f"{TEST_PATH}\\sql01-restoretest-{GEN}"
    scenario = dict(
        hv01_scenario(),
        win_vm_restore_boot=[
            answers.boot(heartbeat="OkApplicationsHealthy"),
            answers.boot(heartbeat="NoContact", uptime=0),
            answers.boot(heartbeat="NoContact", uptime=30),
        ],
    )
    proofs_dir = tmp_path / "proofs"
    common = {
        "hyperv_restore_destination": samples.DESTINATION,
        "hyperv_restore_path": TEST_PATH,
        "hyperv_restore_poll_interval": 1,
        "hyperv_restore_stable_seconds": 20,
        "hyperv_restore_proofs_dir": str(proofs_dir),
        "hyperv_restore_test_vms": ["web01", "sql01"],
    }
    setup, proc, output = run_playbook(
        tmp_path / "good", {"hv01": scenario}, "vaware.hyperv.test_restore",
        "-e", json.dumps(dict(common, hyperv_restore_test_check_vms={"SQL01": "running"})),
    )  # fmt: skip
    assert proc.returncode == 0, json.dumps(failure_messages(output))
    proofs = {e["vm"]: e["last_test"] for e in json.loads((proofs_dir / "restore-proofs.json").read_text())["vms"]}
    assert proofs["sql01"]["passed"] is True and proofs["sql01"]["check"] == "running"
    assert proofs["web01"]["passed"] is True and proofs["web01"]["check"] == "heartbeat"
    removes = [
        c for c in scripted_collection.calls(setup["hosts_dir"], "hv01") if c["payload"] == "win_vm_restore_remove"
    ]
    assert [c["parameters"]["VmFolder"] for c in removes] == [web, sql]

    setup, proc, output = run_playbook(
        tmp_path / "bad", {"hv01": hv01_scenario()}, "vaware.hyperv.test_restore",
        "-e", json.dumps(dict(common, hyperv_restore_test_check_vms={"sql01": "ping"})),
    )  # fmt: skip
    assert proc.returncode == 2
    msg = failure_messages(output)["hv01"]
    assert "hyperv_restore_test_check_vms maps a VM name to heartbeat or running" in msg and "ping" in msg
    assert scripted_collection.calls(setup["hosts_dir"], "hv01") == []


def test_restore_playbook_takes_the_role_variable_names_like_test_restore(tmp_path):
    """playbooks/restore.yml reads hyperv_restore_* (the names playbooks/test_restore.yml takes); a short name of an
    earlier version does not override the hyperv_restore_* one given beside it."""
    folder = f"{answers.RESTORE}\\web01-restored-{answers.OLD}"
    scenario = {
        "win_vm_restore_generations": [answers.generations()],
        "win_vm_restore_verify": [answers.verified(samples.manifest(samples.at(20)), folder=folder)],
        "win_vm_restore_import": [answers.imported(f"web01-restored-{answers.OLD}", folder)],
    }
    setup, proc, output = run_playbook(
        tmp_path, {"hv01": scenario}, "vaware.hyperv.restore", "-l", "hv01",
        "-e", json.dumps({
            "hyperv_restore_vm": "web01", "vm": "sql01", "hyperv_restore_generation": answers.OLD,
            "hyperv_restore_connect_network": True, "hyperv_restore_path": answers.RESTORE,
            "hyperv_restore_destination": samples.DESTINATION,
        }),
    )  # fmt: skip
    assert proc.returncode == 0, json.dumps(output["plays"][-1]["tasks"][-1])[-2000:]
    (call,) = [
        c for c in scripted_collection.calls(setup["hosts_dir"], "hv01") if c["payload"] == "win_vm_restore_import"
    ]
    assert call["parameters"]["Name"] == f"web01-restored-{answers.OLD}"
    assert call["parameters"]["ConnectNetwork"] is True


@pytest.mark.parametrize("key", ["vm", "hyperv_restore_vm"])
def test_a_vm_given_as_a_number_is_refused_with_a_clear_message(tmp_path, key):
    setup, proc, output = run_playbook(
        tmp_path, {"hv01": {}}, "vaware.hyperv.restore", "-l", "hv01",
        "-e", json.dumps({key: 42, "hyperv_restore_path": answers.RESTORE,
                          "hyperv_restore_destination": samples.DESTINATION}),
    )  # fmt: skip
    assert proc.returncode == 2
    text = json.dumps(output)
    assert "hyperv_restore_vm: expected the name of a VM (a string), got 42 (int)" in text, text[-3000:]
    assert scripted_collection.calls(setup["hosts_dir"], "hv01") == []


def test_a_share_whose_backslashes_were_decoded_is_shown_as_it_arrived(tmp_path):
    """-e hyperv_restore_destination=\\\\nas01\\backups arrives as \\nas01<backspace>ackups: the error shows that value
    as it arrived (one backslash, the control character escaped; a Python repr would double the backslash and look
    right) and says how to pass it."""
    setup, proc, output = run_playbook(
        tmp_path, {"hv01": {}}, "vaware.hyperv.restore", "-l", "hv01", "-e", "hyperv_restore_vm=web01",
        "-e", "hyperv_restore_destination=\\\\nas01\\backups", "-e", json.dumps({"hyperv_restore_path": "E:\\R"}),
    )  # fmt: skip
    assert proc.returncode == 2
    (msg,) = [r["msg"] for t in output["plays"][0]["tasks"] for r in t["hosts"].values() if r.get("failed")]
    assert "got '\\nas01\\u0008ackups'." in msg, msg
    assert "Backslashes look decoded" in msg and "-e @vars.yml" in msg
    assert scripted_collection.calls(setup["hosts_dir"], "hv01") == []
