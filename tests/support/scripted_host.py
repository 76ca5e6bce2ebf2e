"""A scripted Windows host for unit tests of action plugins that run payloads.

The only thing replaced is ``ActionBase._execute_module``, the boundary where Ansible would send
``ansible.windows.win_powershell`` to the host. Everything above it (the action plugin, the payload
runner in ``plugins/plugin_utils/_payload.py``, the shaping code) runs for real.

Usage::

    from ansible_collections.vaware.hyperv.tests.support.scripted_host import (
        ScriptedHost, make_action, ok, ps_error, module_failure, unreachable, check_mode_skipped)

    host = ScriptedHost({
        "win_volume_guid_facts": [ok({"volumes": [...], "mount_points": [...]})],
        "some_other_payload": [ps_error("Access is denied", line=12), unreachable()],
    })
    action = make_action(ActionModule, args={"filter": "Data*"}, check_mode=True)
    host.install(action)
    result = action.run(task_vars={})
    assert host.calls[0].payload == "win_volume_guid_facts"
    assert host.calls[0].parameters == {...}
    host.assert_all_answered()

A scenario maps a payload name (the file stem in ``plugins/payloads``) to the answers for its calls, in
order. An answer is either a dict, returned as the module result (use :func:`ok` & co. to build one in
the recorded win_powershell shape), or an exception instance, raised (:func:`unreachable` gives the
``AnsibleConnectionFailure`` a dead WinRM connection raises). A call with no answer left, or a script
that is not a payload file, or a parameter the payload's ``param()`` block does not declare (which
win_powershell would reject on the host), fails the test with a clear message.

The payload is recognised by comparing the script text with each payload as the collection ships it:
the file on disk with its ``#vaware:include`` libraries spliced in (``_payload.load_payload``), so a test
also proves that the script was sent exactly as shipped (no value formatted into it).
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Union

from ansible.errors import AnsibleConnectionFailure
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task
from ansible.template import Templar

from ansible_collections.vaware.hyperv.plugins.plugin_utils import _payload

Answer = Union[Dict[str, Any], BaseException]


@dataclass
class ScriptedCall:
    """One recorded call of ``_execute_module``."""

    payload: Optional[str]
    module_name: str
    module_args: Dict[str, Any]
    task_vars: Any

    @property
    def script(self) -> str:
        return self.module_args.get("script", "")

    @property
    def parameters(self) -> Dict[str, Any]:
        return self.module_args.get("parameters") or {}

    @property
    def sensitive_parameters(self) -> List[Dict[str, Any]]:
        return self.module_args.get("sensitive_parameters") or []


@dataclass
class ScriptedHost:
    """Answers payload calls from ``scenario`` and records every call in ``calls``."""

    #: per payload a list of answers, taken in order, or a function ``(ScriptedCall) -> answer`` that answers every
    #: call (a stand-in that does what the payload would, such as running the real restic)
    scenario: Mapping[str, Union[List[Answer], Callable[[ScriptedCall], Answer]]]
    calls: List[ScriptedCall] = field(default_factory=list)
    check_parameters: bool = True  # False only for tests of the runner itself with made-up names

    def __post_init__(self) -> None:
        self._pending = {name: list(answers) for name, answers in self.scenario.items() if not callable(answers)}
        self._handlers = {name: answers for name, answers in self.scenario.items() if callable(answers)}

    def install(self, action: Any) -> Any:
        """Replace ``action._execute_module`` with this host; returns ``action``."""
        action._execute_module = self.execute_module
        return action

    @staticmethod
    def payload_for_script(script: str) -> Optional[str]:
        """The payload whose composed text (file plus spliced libraries, ``load_payload``) is ``script``."""
        for name in _payload.available_payloads():
            if _payload.load_payload(name) == script:
                return name
        return None

    @staticmethod
    def declared_parameters(script: str) -> List[str]:
        """Names declared in the script's top-level ``param()`` block."""
        match = re.search(r"^\s*param\s*\(", script, re.IGNORECASE | re.MULTILINE)
        if not match:
            return []
        depth, start = 0, match.end() - 1
        for index in range(start, len(script)):
            if script[index] == "(":
                depth += 1
            elif script[index] == ")":
                depth -= 1
                if depth == 0:
                    block = script[start : index + 1]
                    break
        else:
            raise AssertionError("scripted host: the payload's param() block is not closed")
        return re.findall(r"(?:\]|^|,|\()\s*\$(\w+)", block, re.MULTILINE)

    def execute_module(self, module_name=None, module_args=None, task_vars=None, **kwargs):
        module_args = copy.deepcopy(module_args or {})
        payload = self.payload_for_script(module_args.get("script", ""))
        self.calls.append(ScriptedCall(payload, module_name, module_args, task_vars))
        if module_name != _payload.WIN_POWERSHELL:
            raise AssertionError(f"scripted host: unexpected module {module_name!r}")
        if payload is None:
            raise AssertionError(
                "scripted host: the script sent is not the composed text of any payload in plugins/payloads"
            )
        declared = {name.lower() for name in self.declared_parameters(module_args["script"])}
        sent = list(module_args.get("parameters") or {}) + [
            e["name"] for e in module_args.get("sensitive_parameters") or []
        ]
        unknown = [name for name in sent if name.lower() not in declared]
        if unknown and self.check_parameters:
            raise AssertionError(f"scripted host: payload {payload!r} declares no parameter {unknown}")
        if payload in self._handlers:
            answer = self._handlers[payload](self.calls[-1])
            if isinstance(answer, BaseException):
                raise answer
            return copy.deepcopy(answer)
        answers = self._pending.get(payload)
        if not answers:
            raise AssertionError(f"scripted host: no answer left for payload {payload!r} (call #{len(self.calls)})")
        answer = answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return copy.deepcopy(answer)

    def calls_to(self, payload: str) -> List[ScriptedCall]:
        return [c for c in self.calls if c.payload == payload]

    def assert_all_answered(self) -> None:
        left = {k: len(v) for k, v in self._pending.items() if v}
        if left:
            raise AssertionError(f"scripted host: answers never asked for: {left}")


# ---- recorded win_powershell result shapes (see win_powershell RETURN) -----------------------------


def _base(changed: bool = False) -> Dict[str, Any]:
    return {
        "changed": changed,
        "result": {},
        "host_out": "",
        "host_err": "",
        "output": [],
        "error": [],
        "warning": [],
        "verbose": [],
        "debug": [],
        "information": [],
    }


def ok(value: Any, *, changed: bool = False, encode: bool = True, **extra: Any) -> Dict[str, Any]:
    """A successful run whose payload set ``$Ansible.Result`` to ``value`` (compressed JSON if ``encode``)."""
    result = _base(changed)
    result["result"] = json.dumps(value, separators=(",", ":"), ensure_ascii=False) if encode else value
    result.update(extra)
    return result


def error_record(
    message: str,
    *,
    line: int = 1,
    exception_type: str = "System.Management.Automation.RuntimeException",
    details_message: Optional[str] = None,
    category: str = "OperationStopped",
) -> Dict[str, Any]:
    """One error record as win_powershell reports it."""
    return {
        "output": f"{message}\nAt line:{line} char:5\n+ CategoryInfo          : {category}: (:) [], "
        f"{exception_type.rsplit('.', 1)[-1]}\n+ FullyQualifiedErrorId : {message}",
        "error_details": {"message": details_message, "recommended_action": ""} if details_message else None,
        "exception": {
            "message": message,
            "type": exception_type,
            "help_link": None,
            "source": "System.Management.Automation",
            "hresult": -2146233087,
            "inner_exception": None,
        },
        "target_object": None,
        "category_info": {
            "category": category,
            "category_id": 14,
            "activity": "",
            "reason": exception_type.rsplit(".", 1)[-1],
            "target_name": "",
            "target_type": "",
        },
        "fully_qualified_error_id": message,
        "script_stack_trace": f"at <ScriptBlock>, <No file>: line {line}",
        "pipeline_iteration_info": [],
    }


def ps_error(message: str, *, line: int = 1, **kwargs: Any) -> Dict[str, Any]:
    """A run stopped by an error (throw or ``error_action: stop``): ``failed`` plus one error record."""
    result = _base(changed=True)
    result["failed"] = True
    result["error"] = [error_record(message, line=line, **kwargs)]
    return result


def script_failed(value: Any = None) -> Dict[str, Any]:
    """A run where the payload set ``$Ansible.Failed = $true`` (and optionally a result)."""
    result = ok(value) if value is not None else _base()
    result["failed"] = True
    return result


def module_failure(rc: int = 1, stderr: str = "", stdout: str = "") -> Dict[str, Any]:
    """What ``_execute_module`` returns when the module process itself died (non-zero exit, no JSON)."""
    return {
        "failed": True,
        "msg": "MODULE FAILURE\nSee stdout/stderr for the exact error",
        "module_stdout": stdout,
        "module_stderr": stderr,
        "rc": rc,
        "_ansible_no_log": False,
        "changed": False,
    }


def check_mode_skipped() -> Dict[str, Any]:
    """win_powershell in check mode with a script that does not declare SupportsShouldProcess."""
    return {"changed": True, "msg": "skipped, running in check mode", "result": {}}


def unreachable(message: str = "ssl: HTTPSConnectionPool(host='hv01', port=5986): Max retries exceeded"):
    """The exception a connection plugin raises when the host cannot be reached."""
    return AnsibleConnectionFailure(message)


# ---- building an action plugin without a play ---------------------------------------------------------


class _Shell:
    tmpdir = None


class _Connection:
    """Just enough of a connection for ActionBase; reaching past ``_execute_module`` fails loudly."""

    _shell = _Shell()
    transport = "winrm"

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"scripted host: the action used connection.{name}; only _execute_module is scripted")


def make_action(action_cls: type, args: Optional[Dict[str, Any]] = None, *, check_mode: bool = False, action_name=None):
    """Instantiate ``action_cls`` for a task with ``args`` (and check mode) using real Ansible objects."""
    task = Task()
    task.action = action_name or "vaware.hyperv." + action_cls.__module__.rsplit(".", 1)[-1]
    task.args = dict(args or {})
    task.check_mode = check_mode
    play_context = PlayContext()
    play_context.check_mode = check_mode
    loader = DataLoader()
    return action_cls(
        task=task,
        connection=_Connection(),
        play_context=play_context,
        loader=loader,
        templar=Templar(loader=loader),
        shared_loader_obj=None,
    )
