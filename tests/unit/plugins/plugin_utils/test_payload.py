"""Tests of the payload runner against a scripted win_powershell (the remote boundary only)."""

from __future__ import annotations

import json
import pathlib

import pytest
from ansible.errors import AnsibleError

from ansible_collections.vaware.hyperv.plugins.plugin_utils import _payload
from ansible_collections.vaware.hyperv.plugins.plugin_utils._payload import (
    PayloadError,
    load_payload,
    payload_error_result,
    run_payload,
)
from ansible_collections.vaware.hyperv.tests.support.scripted_host import (
    ScriptedHost,
    check_mode_skipped,
    module_failure,
    ok,
    ps_error,
    script_failed,
    unreachable,
)

PAYLOAD = "win_volume_guid_facts"
HOSTILE = "x'; Remove-Item C:\\ -Recurse; '"
PAYLOAD_FILE = pathlib.Path(_payload.PAYLOAD_DIR) / f"{PAYLOAD}.ps1"


class _Action:
    """Stands in for the running action plugin: the runner only uses ``_execute_module``."""


def run(answer, parameters=None, **kwargs):
    # The runner is tested with made-up parameter names; action plugin tests keep the check on.
    host = ScriptedHost({PAYLOAD: [answer]}, check_parameters=False)
    action = host.install(_Action())
    return host, run_payload(action, PAYLOAD, parameters or {}, {"inventory_hostname": "hv01"}, **kwargs)


def run_failing(answer, **kwargs):
    with pytest.raises(PayloadError) as info:
        run(answer, **kwargs)
    return info.value


def test_load_payload_returns_the_file_text():
    assert load_payload(PAYLOAD) == PAYLOAD_FILE.read_text(encoding="utf-8-sig")


@pytest.mark.parametrize("name", ["no_such_payload", "../etc/passwd", "Win_Volume", "", "a b"])
def test_load_payload_rejects_unknown_or_malformed_names(name):
    with pytest.raises(ValueError, match="payload") as info:
        load_payload(name)
    assert PAYLOAD in str(info.value)  # the message lists what exists


def test_values_travel_only_as_parameters_and_script_is_the_file():
    host, value = run(ok({"volumes": []}), parameters={"VmName": HOSTILE, "VmPlacement": True})
    (call,) = host.calls
    assert call.module_name == "ansible.windows.win_powershell"
    assert call.payload == PAYLOAD
    assert call.script == PAYLOAD_FILE.read_text(encoding="utf-8-sig")
    assert HOSTILE not in call.script
    assert call.parameters == {"VmName": HOSTILE, "VmPlacement": True}
    assert call.module_args["error_action"] == "stop"
    assert call.task_vars == {"inventory_hostname": "hv01"}
    assert value == {"volumes": []}


def test_sensitive_parameters_become_win_powershell_entries():
    host = run(
        ok({"done": True}),
        sensitive_parameters={"Key": "s3cret!", "Cred": {"username": "CORP\\svc", "password": "pa$$"}},
    )[0]
    call = host.calls[0]
    assert call.parameters == {}
    assert call.sensitive_parameters == [
        {"name": "Key", "value": "s3cret!"},
        {"name": "Cred", "username": "CORP\\svc", "password": "pa$$"},
    ]
    assert "s3cret!" not in call.script


def test_bad_sensitive_parameter_is_refused_before_anything_runs():
    host = ScriptedHost({PAYLOAD: []})
    with pytest.raises(ValueError, match="'Cred'"):
        run_payload(host.install(_Action()), PAYLOAD, {}, {}, sensitive_parameters={"Cred": {"user": "x"}})
    assert host.calls == []


def test_structured_result_is_accepted():
    value = run(ok({"a": [1, 2]}, encode=False))[1]
    assert value == {"a": [1, 2]}


def test_non_ascii_json_result_is_decoded():
    value = run(ok({"label": "Données — 日本"}))[1]
    assert value == {"label": "Données — 日本"}


def test_error_record_names_step_payload_message_and_line():
    err = run_failing(ps_error("Access is denied.", line=17), step="read volumes")
    assert err.step == "read volumes"
    assert "read volumes" in str(err) and PAYLOAD in str(err)
    assert "Access is denied." in str(err) and "line 17" in str(err)
    assert err.details["error"][0]["exception"]["message"] == "Access is denied."
    assert not err.unreachable and not err.skipped


def test_error_details_message_is_preferred():
    err = run_failing(ps_error("Generic", details_message="The volume is locked"))
    assert "The volume is locked" in str(err)


def test_script_failed_flag_is_a_failure_with_the_reason_it_gave():
    err = run_failing(script_failed({"reason": "destination E:\\Backups is not writable", "code": 5}))
    assert PAYLOAD in str(err) and "$Ansible.Failed" in str(err)
    assert "destination E:\\Backups is not writable" in str(err)
    assert err.details["result"] == {"reason": "destination E:\\Backups is not writable", "code": 5}


def test_script_failed_flag_without_result():
    err = run_failing(script_failed())
    assert "$Ansible.Failed" in str(err) and "result" not in err.details


def test_module_failure_reports_exit_code_and_stderr():
    err = run_failing(module_failure(rc=3, stderr="powershell.exe: out of memory"))
    assert "exit code 3" in str(err) and "out of memory" in str(err)
    assert err.details["rc"] == 3


def test_unreachable_host_is_a_payload_error():
    err = run_failing(unreachable("winrm: connection refused"))
    assert err.unreachable
    assert "unreachable" in str(err) and "connection refused" in str(err) and PAYLOAD in str(err)


def test_controller_side_ansible_error_is_a_payload_error():
    err = run_failing(
        AnsibleError("The module ansible.windows.win_powershell was not found in configured module paths")
    )
    assert not err.unreachable
    assert "could not run payload" in str(err) and "was not found" in str(err)


def test_check_mode_skip_is_reported_not_returned_as_empty():
    err = run_failing(check_mode_skipped())
    assert err.skipped
    assert "check mode" in str(err) and "SupportsShouldProcess" in str(err)


@pytest.mark.parametrize("value", ["not json {", "   "])
def test_non_json_result_is_an_error(value):
    err = run_failing(ok(value, encode=False))
    assert PAYLOAD in str(err)


def test_result_never_set_is_an_error():
    err = run_failing(ok({}, encode=False))
    assert "did not set $Ansible.Result" in str(err)


def test_secrets_are_masked_in_errors():
    answer = ps_error("Login failed for password hunter2-secret")
    answer["host_err"] = "echo hunter2-secret"
    err = run_failing(answer, sensitive_parameters={"Password": "hunter2-secret"})
    assert "hunter2-secret" not in str(err)
    assert "hunter2-secret" not in json.dumps(err.details)
    assert "hunter2-secret" not in json.dumps(payload_error_result(err))


def test_payload_error_result_shape():
    err = run_failing(unreachable())
    result = payload_error_result(err, ansible_facts={})
    assert result["failed"] is True and result["changed"] is False
    assert result["host_unreachable"] is True
    assert result["msg"] == str(err)
    assert result["ansible_facts"] == {}


def test_scripted_host_refuses_scripts_that_are_not_payload_files():
    host = ScriptedHost({PAYLOAD: [ok({})]})
    with pytest.raises(AssertionError, match="not the composed text of any payload"):
        host.execute_module(module_name="ansible.windows.win_powershell", module_args={"script": "Get-Date"})


def test_scripted_host_refuses_parameters_the_payload_does_not_declare():
    host = ScriptedHost({PAYLOAD: [ok({"volumes": []})]})
    action = host.install(_Action())
    with pytest.raises(AssertionError, match=r"declares no parameter \['VmPlacment'\]"):
        run_payload(action, PAYLOAD, {"VmPlacment": True}, {})
    assert run_payload(action, PAYLOAD, {"vmplacement": True}, {}) == {"volumes": []}  # PowerShell ignores case
