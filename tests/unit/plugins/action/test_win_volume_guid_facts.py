"""Action plugin win_volume_guid_facts against recorded win_powershell results (no live host)."""

from __future__ import annotations

import json
import pathlib

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.vaware.hyperv.plugins.action.win_volume_guid_facts import ActionModule
from ansible_collections.vaware.hyperv.tests.support.scripted_host import (
    ScriptedHost,
    check_mode_skipped,
    make_action,
    module_failure,
    ok,
    ps_error,
    unreachable,
)

PAYLOAD = "win_volume_guid_facts"
ROOT = pathlib.Path(__file__).resolve().parents[4]
FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "win_volume_guid_facts"


def recorded(name):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def run(answers, args=None, check_mode=False):
    host = ScriptedHost({PAYLOAD: list(answers)})
    action = host.install(make_action(ActionModule, args, check_mode=check_mode))
    result = action.run(task_vars={"inventory_hostname": "hv01"})
    host.assert_all_answered()
    return host, result


def guids(result):
    return [v["guid"] for v in result["ansible_facts"]["win_volumes"]]


def test_facts_are_set_from_one_payload_call():
    host, result = run([ok(recorded("hyperv_host.json"))])
    assert not result.get("failed")
    assert result["changed"] is False
    volumes = result["ansible_facts"]["win_volumes"]
    assert len(volumes) == 9
    assert volumes[0]["drive_letter"] == "C:" and volumes[0]["label"] == "OS"
    assert all("vms" not in v for v in volumes)
    assert "hyperv_installed" not in result
    (call,) = host.calls
    assert call.parameters == {"VmPlacement": False}
    assert call.module_name == "ansible.windows.win_powershell"


def test_check_mode_runs_the_read_only_payload():
    host, result = run([ok(recorded("single_volume.json"))], check_mode=True)
    assert not result.get("failed")
    assert guids(result) == ["{6d6d6d6d-9999-4d99-9999-999999999999}"]
    assert len(host.calls) == 1
    # the payload declares SupportsShouldProcess, which is what makes win_powershell run it in check mode
    assert "[CmdletBinding(SupportsShouldProcess)]" in host.calls[0].script


def test_check_mode_skip_by_win_powershell_is_a_clear_failure():
    result = run([check_mode_skipped()], check_mode=True)[1]
    assert result["failed"] is True
    assert "check mode" in result["msg"] and PAYLOAD in result["msg"]
    assert "ansible_facts" not in result


def test_without_drive_letter_only():
    result = run([ok(recorded("hyperv_host.json"))], {"without_drive_letter_only": True})[1]
    assert guids(result) == [
        "{c0ffee00-3333-4c33-a333-333333333333}",
        "{a1b2c3d4-5e6f-4a1b-8c2d-3e4f5a6b7c8d}",
        "{f2f2f2f2-6666-4f66-9666-666666666666}",
    ]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("vm*", ["{b7e1c0de-2222-4b22-9222-222222222222}"]),  # label "VM Storage", any case
        ("C:\\ClusterStorage\\*", ["{c0ffee00-3333-4c33-a333-333333333333}"]),  # a mount point
        ("*F2F2F2F2*", ["{f2f2f2f2-6666-4f66-9666-666666666666}"]),  # the GUID path
        ("Données*", ["{f2f2f2f2-6666-4f66-9666-666666666666}"]),
        ("nothing-matches", []),
    ],
)
def test_filter_glob(pattern, expected):
    result = run([ok(recorded("hyperv_host.json"))], {"filter": pattern})[1]
    assert guids(result) == expected


def test_vm_placement_with_filter_places_before_filtering():
    host, result = run([ok(recorded("hyperv_host.json"))], {"vm_placement": True, "without_drive_letter_only": True})
    assert host.calls[0].parameters == {"VmPlacement": True}
    assert result["hyperv_installed"] is True
    fast = result["ansible_facts"]["win_volumes"][0]
    assert [vm["name"] for vm in fast["vms"]] == ["Web 01"]
    # the SQL log disk sits on a file share: reported, not silently dropped
    assert any("\\\\fs01\\vmstore\\sql-log.vhdx" in w and "SQL-Prod" in w for w in result["warnings"])


def test_vm_placement_without_hyperv_role_warns_not_fails():
    result = run([ok(recorded("single_volume.json"))], {"vm_placement": True})[1]
    assert not result.get("failed")
    assert result["hyperv_installed"] is False
    assert result["ansible_facts"]["win_volumes"][0]["vms"] == []
    assert any("Hyper-V role is not installed" in w for w in result["warnings"])


def test_vm_placement_access_denied_keeps_the_volume_facts_and_warns():
    """Hyper-V namespace present but not readable: the payload reports hyperv_error instead of failing."""
    result = run([ok(recorded("hyperv_access_denied.json"))], {"vm_placement": True})[1]
    assert not result.get("failed"), result.get("msg")
    volumes = result["ansible_facts"]["win_volumes"]
    assert len(volumes) == 9 and all(v["vms"] == [] for v in volumes)
    denied = [w for w in result["warnings"] if "could not be read" in w]
    assert len(denied) == 1 and "Access denied" in denied[0] and "root\\virtualization\\v2" in denied[0], result
    assert not any("not installed" in w for w in result["warnings"])


def test_payload_reports_hyperv_errors_instead_of_failing():
    """The Msvm queries sit inside try/catch that sets hyperv_error, which the result carries."""
    text = (ROOT / "plugins" / "payloads" / f"{PAYLOAD}.ps1").read_text(encoding="utf-8")
    body = text[text.index("if ($VmPlacement) {") :]
    try_at, catch_at = body.index("try {"), body.index("catch {")
    for query in ("Msvm_VirtualSystemSettingData", "Msvm_StorageAllocationSettingData", "'__NAMESPACE'"):
        assert try_at < body.index(query) < catch_at, query
    assert "$hyperVError = " in body[catch_at:] and "hyperv_error = $hyperVError" in text


def test_payload_error_record_becomes_failed_result():
    result = run(
        [ps_error("Access denied", line=21, exception_type="Microsoft.Management.Infrastructure.CimException")]
    )[1]
    assert result["failed"] is True
    assert result["step"] == "read volumes"
    assert "read volumes" in result["msg"] and PAYLOAD in result["msg"]
    assert "Access denied" in result["msg"] and "line 21" in result["msg"]
    assert "ansible_facts" not in result


def test_non_zero_exit_becomes_failed_result():
    result = run([module_failure(rc=2, stderr="The term 'Get-CimInstance' is not recognized")])[1]
    assert result["failed"] is True
    assert "exit code 2" in result["msg"] and "Get-CimInstance" in result["msg"]


def test_unreachable_host_becomes_failed_result():
    result = run([unreachable("winrm: connection refused")])[1]
    assert result["failed"] is True
    assert result["host_unreachable"] is True
    assert "unreachable" in result["msg"] and "connection refused" in result["msg"]


def test_result_without_volumes_is_a_clear_failure():
    result = run([ok({"unexpected": 1})])[1]
    assert result["failed"] is True and "'volumes'" in result["msg"]


def test_malformed_volume_data_is_a_clear_failure():
    result = run([ok({"volumes": [{"DeviceID": "C:\\"}], "mount_points": []})])[1]
    assert result["failed"] is True
    assert result["step"] == "shape volumes"
    assert "DeviceID" in result["msg"] and "'C:\\\\'" in result["msg"]


def test_unknown_or_bad_option_fails_before_the_host_is_contacted():
    host = ScriptedHost({PAYLOAD: []})
    for args in ({"vm_placment": True}, {"vm_placement": "sometimes"}):
        action = host.install(make_action(ActionModule, args))
        with pytest.raises(AnsibleActionFail):
            action.run(task_vars={})
    assert host.calls == []
