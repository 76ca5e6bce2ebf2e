"""Set up the scripted Windows host (a TEST-ONLY STAND-IN) for real ``ansible-playbook`` runs.

:func:`build` makes, in a temporary folder:

* ``collections/ansible_collections/ansible/windows``: a copy of the installed ansible.windows made of
  symbolic links, except ``plugins/modules/win_powershell.*``, replaced by the stand-in module
  ``win_powershell.py`` of this folder. This path goes FIRST in ANSIBLE_COLLECTIONS_PATH; the checkout's
  ``.tmp/collections`` (vaware.hyperv itself) follows.
* ``hosts/<host>/scenario.json`` per host: the scenario of :class:`ScriptedHost`
  (``tests/support/scripted_host.py``) in JSON form, see :func:`scenario_to_json`.
* ``bin/python-<host>``: the host's "interpreter", which sets ``VAWARE_SCRIPTED_HOST`` and runs the
  controller's Python, so the stand-in knows which host a module call is for (all hosts use
  ``ansible_connection=local``).
* ``inventory.yml`` with the hosts in group ``hyperv_hosts``.
* ``payloads/<name>.ps1``: every payload as the collection sends it (``load_payload``: the file with its
  ``#vaware:include`` libraries spliced in), which the stand-in compares a script with to name it.

Nothing here talks to a network: every host is this machine, through the local connection.
"""

from __future__ import annotations

import json
import os
import pathlib
import sys
from typing import Any, Dict, List, Mapping

import yaml
from ansible.errors import AnsibleConnectionFailure

from ansible_collections.vaware.hyperv.plugins.plugin_utils import _payload

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[3]
UNREACHABLE = "__unreachable__"


def real_ansible_windows() -> pathlib.Path:
    import ansible_collections.ansible.windows as pkg  # the collection bundled with the ansible package

    return pathlib.Path(next(iter(pkg.__path__)))


def scenario_to_json(scenario: Mapping[str, List[Any]]) -> Dict[str, List[Any]]:
    """ScriptedHost scenario -> JSON: answers stay win_powershell results; a connection failure becomes a marker."""
    out: Dict[str, List[Any]] = {}
    for payload, answers in scenario.items():
        out[payload] = []
        for answer in answers:
            if isinstance(answer, AnsibleConnectionFailure):
                out[payload].append({UNREACHABLE: str(answer.message)})
            elif isinstance(answer, BaseException):
                raise TypeError(f"scenario {payload}: only connection failures can go to a file, not {answer!r}")
            else:
                out[payload].append(answer)
    return out


def _mirror(src: pathlib.Path, dst: pathlib.Path, replace: Mapping[str, pathlib.Path]) -> None:
    """Recreate ``src`` at ``dst`` with symlinks, descending only where a replacement lives."""
    dst.mkdir(parents=True, exist_ok=True)
    for entry in src.iterdir():
        rel = entry.name
        inside = {k[len(rel) + 1 :]: v for k, v in replace.items() if k.startswith(rel + "/")}
        if inside:
            _mirror(entry, dst / rel, inside)
        elif rel in replace or any(rel.startswith(k + ".") for k in replace if "/" not in k):
            continue
        else:
            os.symlink(entry, dst / rel)
    for name, source in replace.items():
        if "/" not in name:
            os.symlink(source, dst / (name + ".py"))


def build(tmp: pathlib.Path, scenarios: Mapping[str, Mapping[str, List[Any]]], host_vars=None) -> Dict[str, Any]:
    """Create the stand-in collection, per-host scenarios and an inventory; return paths and environment."""
    tmp = pathlib.Path(tmp)
    collections = tmp / "collections"
    _mirror(
        real_ansible_windows(),
        collections / "ansible_collections" / "ansible" / "windows",
        {"plugins/modules/win_powershell": HERE / "win_powershell.py"},
    )
    payloads = tmp / "payloads"
    payloads.mkdir(parents=True, exist_ok=True)
    for name in _payload.available_payloads():
        (payloads / f"{name}.ps1").write_text(_payload.load_payload(name), encoding="utf-8")
    hosts_dir = tmp / "hosts"
    bin_dir = tmp / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    hosts: Dict[str, Any] = {}
    for host, scenario in scenarios.items():
        folder = hosts_dir / host
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "scenario.json").write_text(json.dumps(scenario_to_json(scenario), indent=1), encoding="utf-8")
        (folder / "calls.jsonl").write_text("", encoding="utf-8")
        wrapper = bin_dir / f"python-{host}"
        wrapper.write_text(f'#!/bin/sh\nVAWARE_SCRIPTED_HOST={host} exec {sys.executable} "$@"\n', encoding="utf-8")
        wrapper.chmod(0o755)
        hosts[host] = {
            "ansible_connection": "local",
            "ansible_python_interpreter": str(wrapper),
            **(host_vars or {}).get(host, {}),
        }
    inventory = tmp / "inventory.yml"
    inventory.write_text(
        yaml.safe_dump({"all": {"children": {"hyperv_hosts": {"hosts": hosts}}}}, sort_keys=False), encoding="utf-8"
    )
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_COLLECTIONS_PATH": f"{collections}:{ROOT / '.tmp' / 'collections'}",
            "VAWARE_SCRIPTED_HOST_DIR": str(hosts_dir),
            "VAWARE_SCRIPTED_PAYLOAD_DIR": str(payloads),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_HOST_KEY_CHECKING": "false",
            "ANSIBLE_RETRY_FILES_ENABLED": "false",
            "ANSIBLE_LOCAL_TEMP": str(tmp / "ansible-local"),
            "ANSIBLE_REMOTE_TEMP": str(tmp / "ansible-remote"),
        }
    )
    return {"inventory": inventory, "collections": collections, "hosts_dir": hosts_dir, "env": env}


def calls(hosts_dir: pathlib.Path, host: str) -> List[Dict[str, Any]]:
    """The payload calls the scripted host received, in order."""
    text = (pathlib.Path(hosts_dir) / host / "calls.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]
