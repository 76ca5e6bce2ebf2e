"""win_volume_guid_facts on real hosts: the system drive by the GUID path mountvol prints, every volume keyed by a
GUID path, read-only (the same checks as the ansible-test target win_volume_guid_facts, without the test VHDX)."""

from __future__ import annotations

import re

from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.volumes import volume_for_path
from ansible_collections.vaware.hyperv.tests.integration.windows_pytest.conftest import every_host, run

GUID = re.compile(r"^\{[0-9a-f-]{36}\}$")


def test_the_system_drive_is_found_by_the_guid_path_mountvol_reports(windows):
    mountvol = {
        host: r["stdout"].strip().lower()
        for host, r in run(windows, "ansible.windows.win_command", cmd="mountvol.exe C:\\ /L").items()
    }

    def check(host, result):
        assert result.is_changed is False
        volumes = result["ansible_facts"]["win_volumes"]
        system = volume_for_path(volumes, "c:/windows/system32")
        assert system["path"].lower() == mountvol[host], host
        assert system["drive_letter"] == "C:" and "C:\\" in system["mount_points"]
        assert system["file_system"] in ("NTFS", "ReFS")
        assert system["capacity_bytes"] > system["free_bytes"] >= 0

    every_host(run(windows, "vaware.hyperv.win_volume_guid_facts"), check)


def test_every_volume_has_a_guid_path(windows):
    def check(host, result):
        for volume in result["ansible_facts"]["win_volumes"]:
            assert GUID.match(volume["guid"]), (host, volume)
            assert volume["path"] == "\\\\?\\Volume" + volume["guid"] + "\\", (host, volume)
            assert "vms" not in volume  # only with vm_placement

    every_host(run(windows, "vaware.hyperv.win_volume_guid_facts"), check)


def test_vm_placement_names_the_volume_of_every_vm_file(windows):
    def check(host, result):
        for volume in result["ansible_facts"]["win_volumes"]:
            for vm in volume.get("vms", []):
                assert vm["name"] and vm["files"], (host, vm)

    every_host(run(windows, "vaware.hyperv.win_volume_guid_facts", vm_placement=True), check)
