"""Scenarios of a small Hyper-V fleet for the playbook tests, built with the unit tests' scripted-host helpers.

Every answer is a win_powershell result in the recorded shape (``scripted_host.ok`` & co.) built by
``tests/support/vss_backup_host.py`` (host HV01: web01 on D:, db01 on a GUID-only volume,
destination E:\\Backups), so the playbook runs exercise the same recorded outputs as the action tests.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any, Dict, List

from ansible_collections.vaware.hyperv.tests.functional.playbooks.scripted_windows_host import scripted_collection
from ansible_collections.vaware.hyperv.tests.support import vss_backup_host as hv
from ansible_collections.vaware.hyperv.tests.support.scripted_host import ok, unreachable

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "unit" / "fixtures"  # tests/unit/fixtures
VOLUME_FACTS = FIXTURES / "win_volume_guid_facts" / "hyperv_host.json"


def _tokens(scenario: Dict[str, List[Any]]) -> Dict[str, List[Any]]:
    """Recorded outputs name job HV.JOB_ID; the stand-in puts in the job the plugin really started."""
    text = json.dumps(scenario)
    text = text.replace(hv.JOB_ID, "@JOB_ID@").replace(hv.GENERATION, "@GENERATION@")
    return json.loads(text)


def volume_facts() -> Dict[str, Any]:
    return ok(json.loads(VOLUME_FACTS.read_text(encoding="utf-8")))


def successful_host() -> Dict[str, List[Any]]:
    """Both VMs copied; one older generation expires (keep_last 2)."""
    return _tokens(
        {
            "win_volume_guid_facts": [volume_facts()],
            "win_vss_backup_preflight": [hv.preflight()],
            "win_vss_backup_start": [hv.start_ok()],
            "win_vss_backup_status": [
                hv.status("diskshadow"),
                hv.status("awaiting_verdict"),
                hv.final_status(expired_deleted=[hv.HOST_PATH + "\\20261123T020000Z"]),
            ],
            "win_vss_backup_collect": [hv.collect()],
            "win_vss_backup_signal": [hv.signal_ok()],
            "win_vss_backup_cleanup": [hv.cleanup_ok()],
        }
    )


def host_with_failing_vm() -> Dict[str, List[Any]]:
    """robocopy exit 8 on db01's disk: web01 is complete, db01 failed, the module fails with partial results."""
    leftover = hv.shadow(hv.SHADOW_FAST, hv.SET_ID, exposed=hv.JOB_DIR + "\\mnt\\VAWVOL2\\", volume=hv.GUID_FAST)
    return _tokens(
        {
            "win_volume_guid_facts": [volume_facts()],
            "win_vss_backup_preflight": [hv.preflight()],
            "win_vss_backup_start": [hv.start_ok()],
            "win_vss_backup_status": [
                hv.status("diskshadow"),
                hv.status("awaiting_verdict"),
                hv.final_status(
                    shadows_deleted=["{" + hv.SHADOW_D.upper() + "}"],
                    mount_folders_left=[{"path": hv.JOB_DIR + "\\mnt\\VAWVOL2"}],
                ),
            ],
            "win_vss_backup_collect": [
                hv.collect(
                    transcript_name="diskshadow_exec_failed.txt",
                    copy=hv.copy_outputs(fail_step="s004", fail_code=8),
                    files=hv.listing(missing=("db01.vhdx",)),
                    shadows=[leftover],
                    status_fields={"shadows_deleted": ["{" + hv.SHADOW_D.upper() + "}"]},
                )
            ],
            "win_vss_backup_signal": [hv.signal_ok()],
            "win_vss_backup_cleanup": [hv.cleanup_ok(shadows_deleted=["{" + hv.SHADOW_FAST.upper() + "}"])],
        }
    )


def host_with_full_destination() -> Dict[str, List[Any]]:
    """The destination has 50 GiB free for a 60 GiB backup: the module fails in preflight, nothing starts."""
    return {
        "win_volume_guid_facts": [volume_facts()],
        "win_vss_backup_preflight": [hv.preflight(free_bytes=50 * hv.GIB)],
    }


def unreachable_host() -> Dict[str, List[Any]]:
    """WinRM cannot reach the host: the first call fails as a dead connection does."""
    lost = unreachable("ssl: HTTPSConnectionPool(host='hv05', port=5986): Read timed out.")
    return scripted_collection.scenario_to_json({"win_volume_guid_facts": [lost]})
