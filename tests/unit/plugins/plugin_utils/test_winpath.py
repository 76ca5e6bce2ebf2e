"""Windows paths and timestamps on the controller: the one copy the plan, restore, restic and actions use."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.vaware.hyperv.plugins.plugin_utils import _winpath as w


@pytest.mark.parametrize(
    "path, drive, unc",
    [
        ("D:\\", True, False),
        ("d:\\VMs\\web01", True, False),
        ("D:", False, False),
        ("D:VMs", False, False),
        ("\\\\nas01\\share", False, True),
        ("\\\\nas01\\share\\sub", False, True),
        ("\\\\nas01", False, False),
        ("\\\\?\\Volume{0d6c2b1e-0000-0000-0000-100000000000}\\", False, False),
        ("\\\\.\\PhysicalDrive0", False, False),
        ("\\nas01\\share", False, False),
        ("relative\\path", False, False),
    ],
)
def test_path_forms(path, drive, unc):
    assert w.is_drive_path(path) is drive
    assert w.is_unc_path(path) is unc
    assert w.is_absolute(path) is (drive or unc)


def test_join_drops_empty_parts_and_keeps_a_drive_root():
    assert w.join("D:\\", "VMs", "web01") == "D:\\VMs\\web01"
    assert w.join("D:", "") == "D:\\"
    assert w.join("\\\\nas\\share\\", "\\host\\", "20261120T020000Z") == "\\\\nas\\share\\host\\20261120T020000Z"
    assert w.join("E:\\restore", "", "a.vhdx") == "E:\\restore\\a.vhdx"


def test_parent_and_is_under():
    assert w.parent("D:\\VMs\\web01\\disk.vhdx") == "D:\\VMs\\web01"
    assert w.is_under("d:\\vms\\WEB01\\x", "D:\\VMs\\web01")
    assert w.is_under("D:\\VMs", "D:\\VMs\\")
    assert not w.is_under("D:\\VMs2", "D:\\VMs")


def test_quote_value_keeps_backslashes_and_escapes_unprintables():
    assert w.quote_value("D:\\VMs\\a b.vhdx") == "'D:\\VMs\\a b.vhdx'"
    assert w.quote_value("x\u2028y\tz") == "'x\\u2028y\\u0009z'"
    assert w.quote_value(None) == "None"


def test_damaged_path_hint_only_for_decoded_backslashes():
    assert "Backslashes look decoded" in w.damaged_path_hint("\\nas01\\share")
    assert "Backslashes look decoded" in w.damaged_path_hint("E:\new")
    assert w.damaged_path_hint("\\\\nas01\\share") == ""
    assert w.damaged_path_hint(42) == ""


def test_utc_text_and_parse_time_round_trip():
    moment = datetime.datetime(2026, 11, 25, 3, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
    assert w.utc_text(moment) == "2026-11-25T02:00:00Z"
    assert w.parse_time("2026-11-25T02:00:00Z") == moment
    # .NET round-trip format: 7 fractional digits
    assert w.parse_time("2026-11-25T02:00:00.1234567Z").microsecond == 123456
    # no zone: UTC
    assert w.parse_time("2026-11-25T02:00:00").tzinfo == datetime.timezone.utc
    assert w.parse_time("2026-11-25T03:00:00+01:00") == moment
    assert w.parse_time("yesterday") is None
    assert w.parse_time("") is None
