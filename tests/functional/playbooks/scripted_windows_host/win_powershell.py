# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""TEST-ONLY STAND-IN for ansible.windows.win_powershell: a scripted Windows host for playbook tests.

Not a plugin of the collection (it lives under ``tests/`` and Ansible never loads it from there); only
``scripted_collection.py`` puts it to use, as
``ansible_collections/ansible/windows/plugins/modules/win_powershell.py`` in a temporary collections path
that comes FIRST in ANSIBLE_COLLECTIONS_PATH (the rest of that ansible.windows copy links to the real
collection), so the real ``ansible-playbook`` runs the collection's action plugins unchanged while each
payload call is answered here, on this Linux machine, with ``ansible_connection=local``.

It is the file form of ``tests/support/scripted_host.py``'s ScriptedHost: a scenario maps a
payload name (file stem in ``plugins/payloads``) to the win_powershell results for its calls, in order,
in the recorded shapes of that module (built with the same helpers). A script is named by comparing it
with the payloads in ``VAWARE_SCRIPTED_PAYLOAD_DIR``, where ``scripted_collection.py`` writes each
payload as the collection sends it (``load_payload``: the file with its libraries spliced in). Per host
(``VAWARE_SCRIPTED_HOST``, set by the host's interpreter wrapper) under ``VAWARE_SCRIPTED_HOST_DIR``:

* ``<host>/scenario.json``: ``{payload: [answer, ...]}``; an answer ``{"__unreachable__": msg}`` stands for
  a dead connection (the module answers ``unreachable``, as the connection plugin would make it).
* ``<host>/calls.jsonl``: every call, appended (payload, parameters with sensitive values masked, check mode).
* ``@JOB_ID@`` and ``@GENERATION@`` in answers are replaced by the job id and generation the action plugin
  sent in its ``win_vss_backup_start`` call (the recorded outputs name a fixed job; the plugin makes a new one).

Like the real module, a script without ``[CmdletBinding(SupportsShouldProcess)]`` is skipped in check mode.
"""

from __future__ import annotations

import json
import os
import sys

from ansible.module_utils.basic import AnsibleModule


def _payload_name(script, payload_dir):
    for entry in sorted(os.listdir(payload_dir)):
        if entry.endswith(".ps1"):
            with open(os.path.join(payload_dir, entry), encoding="utf-8-sig") as handle:
                if handle.read() == script:
                    return entry[:-4]
    return None


def _read_json(path, default):
    if not os.path.exists(path):
        return default
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def main():
    module = AnsibleModule(
        argument_spec={
            "script": {"type": "str", "required": True},
            "parameters": {"type": "dict"},
            "sensitive_parameters": {"type": "list", "elements": "dict", "no_log": True},
            "error_action": {"type": "str", "default": "continue"},
            "executable": {"type": "str"},
            "arguments": {"type": "list", "elements": "str"},
            "chdir": {"type": "str"},
            "creates": {"type": "str"},
            "removes": {"type": "str"},
            "depth": {"type": "int", "default": 2},
            "path": {"type": "str"},
            "remote_src": {"type": "bool"},
        },
        supports_check_mode=True,
    )
    host = os.environ.get("VAWARE_SCRIPTED_HOST")
    base = os.environ.get("VAWARE_SCRIPTED_HOST_DIR")
    payload_dir = os.environ.get("VAWARE_SCRIPTED_PAYLOAD_DIR")
    if not (host and base and payload_dir):
        module.fail_json(msg="scripted host: set VAWARE_SCRIPTED_HOST, _HOST_DIR and _PAYLOAD_DIR")
    folder = os.path.join(base, host)
    script = module.params["script"]
    payload = _payload_name(script, payload_dir)
    masked = [
        {k: ("********" if k in ("value", "password") else v) for k, v in entry.items()}
        for entry in module.params["sensitive_parameters"] or []
    ]
    record = {
        "payload": payload,
        "parameters": module.params["parameters"] or {},
        "sensitive_parameters": masked,
        "check_mode": module.check_mode,
    }
    with open(os.path.join(folder, "calls.jsonl"), "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")

    if payload is None:
        module.fail_json(msg="scripted host: the script sent is not the composed text of any payload")
    if module.check_mode and "SupportsShouldProcess" not in script:
        module.exit_json(changed=True, msg="skipped, running in check mode", result={})

    bindings = _read_json(os.path.join(folder, "bindings.json"), {})
    if payload == "win_vss_backup_start":
        lock = json.loads((module.params["parameters"] or {}).get("LockText") or "{}")
        bindings = {"@JOB_ID@": lock.get("job_id"), "@GENERATION@": lock.get("generation")}
        with open(os.path.join(folder, "bindings.json"), "w", encoding="utf-8") as handle:
            json.dump(bindings, handle)

    calls = []
    with open(os.path.join(folder, "calls.jsonl"), encoding="utf-8") as handle:
        calls = [json.loads(line) for line in handle if line.strip()]
    index = sum(1 for c in calls if c["payload"] == payload) - 1
    answers = _read_json(os.path.join(folder, "scenario.json"), {}).get(payload) or []
    if index >= len(answers):
        module.fail_json(msg=f"scripted host {host}: no answer left for payload {payload!r} (call {index + 1})")
    text = json.dumps(answers[index])
    for token, value in bindings.items():
        if value:
            text = text.replace(token, value)
    answer = json.loads(text)
    if "__unreachable__" in answer:
        answer = {"unreachable": True, "msg": answer["__unreachable__"]}
    # The recorded result goes out as it is (exit_json would add keys the real module does not send).
    print(json.dumps(answer))
    sys.exit(0)


if __name__ == "__main__":
    main()
