"""``ansible-playbook vaware.hyperv.volume_facts`` for real, against scripted hosts (the group hyperv_hosts).

The Windows side is the scripted host (``scripted_windows_host/``, a TEST-ONLY STAND-IN for
ansible.windows.win_powershell); the playbook, the action plugin and the payload runner are real.
"""

from __future__ import annotations

import pathlib
import subprocess

from ansible_collections.vaware.hyperv.tests.functional.playbooks import fleet
from ansible_collections.vaware.hyperv.tests.functional.playbooks.scripted_windows_host import scripted_collection

ROOT = pathlib.Path(__file__).resolve().parents[3]
PLAYBOOK_BIN = ROOT / ".venv" / "bin" / "ansible-playbook"


def run(tmp, host_vars, *extra_args):
    scenarios = {host: {"win_volume_guid_facts": [fleet.volume_facts()]} for host in host_vars}
    setup = scripted_collection.build(tmp, scenarios, host_vars=host_vars)
    proc = subprocess.run(
        [str(PLAYBOOK_BIN), "vaware.hyperv.volume_facts", "-i", str(setup["inventory"]), *extra_args],
        env=setup["env"], cwd=tmp, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    sent = {}
    for host in host_vars:
        (call,) = scripted_collection.calls(setup["hosts_dir"], host)
        sent[host] = call["parameters"]
    return proc, sent


def test_targets_hyperv_hosts_and_reads_vm_placement_per_host(tmp_path):
    """The inventory's volume_facts_vm_placement: false on one host is what that host gets (play vars used to
    override it); the other hosts keep the default, true."""
    proc, sent = run(tmp_path, {"hv01": {}, "hv02": {"volume_facts_vm_placement": False}})
    assert sent["hv01"]["VmPlacement"] is True
    assert sent["hv02"]["VmPlacement"] is False
    assert "SQL-Prod" in proc.stdout  # the table of a host read with placement names its VMs


def test_extra_vars_set_it_for_every_host(tmp_path):
    _proc, sent = run(tmp_path / "e", {"hv01": {}, "hv02": {}}, "-e", "volume_facts_vm_placement=false")
    assert [p["VmPlacement"] for p in sent.values()] == [False, False]
