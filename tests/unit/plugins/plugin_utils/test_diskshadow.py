"""Tests for the diskshadow transcript parser (fixtures in tests/unit/fixtures/diskshadow)."""

from __future__ import annotations

import pathlib
import re

import pytest

from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.diskshadow import normalize_guid, parse_output

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "diskshadow"
JOB = r"C:\ProgramData\vaware\jobs\20240115T020000Z"


def fixture(name: str, crlf: bool = False) -> str:
    """A fixture as text; ``crlf`` gives it the CRLF line ends diskshadow writes on Windows.

    The files are stored with LF (the collection's sanity tests require it).
    """
    with open(FIXTURES / name, encoding="ascii", newline="") as handle:
        text = handle.read()
    return text.replace("\n", "\r\n") if crlf else text


EXPECTED_SHADOWS = [
    {
        "id": "a6b1c2d3-e4f5-4678-9abc-def012345678",
        "alias": "G1",
        "set_id": "5c8e1f20-3b7d-4a96-b2c4-d1e0f9a8b7c6",
        "original_volume": "\\\\?\\Volume{9d4c7b2a-1e3f-4a5b-8c6d-7e8f9a0b1c2d}\\",
        "original_mount": "D:\\",
        "device": "\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy41",
        "exposed_as": JOB + "\\mnt\\G1\\",
        "attributes": ["No_Auto_Release", "Persistent", "Differential"],
    },
    {
        "id": "0f1e2d3c-4b5a-4697-8877-665544332211",
        "alias": "G2",
        "set_id": "5c8e1f20-3b7d-4a96-b2c4-d1e0f9a8b7c6",
        "original_volume": "\\\\?\\Volume{3f2b9c1e-7a44-4d0b-9e61-0c5a7d2e8b13}\\",
        "original_mount": "C:\\ClusterStorage\\Data\\",
        "device": "\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy42",
        "exposed_as": JOB + "\\mnt\\G2\\",
        "attributes": ["No_Auto_Release", "Persistent", "Differential"],
    },
]


@pytest.mark.parametrize(
    ("name", "crlf"),
    [("copy_backup_spaces.log", False), ("copy_backup_tabs.log", True), ("copy_backup_tabs.log", False)],
)
def test_successful_copy_backup(name, crlf):
    result = parse_output(fixture(name, crlf))
    assert result["shadow_set_id"] == "5c8e1f20-3b7d-4a96-b2c4-d1e0f9a8b7c6"
    assert result["shadows"] == EXPECTED_SHADOWS
    # The GetRootAndLogicalPrefixPaths COM line is harmless and must not become an error.
    assert "GetRootAndLogicalPrefixPaths" in fixture(name)
    assert result["errors"] == []
    assert result["excluded_writers"] == ["Shadow Copy Optimization Writer", "ASR Writer"]
    assert result["excluded_components"] == [{"component": "\\BCD\\BCD", "writer": "ASR Writer"}]
    assert result["script_failed"] is False
    assert result["exec_exit_code"] == 0  # diskshadow went on to UNEXPOSE after EXEC


def test_tab_fixture_really_differs_in_layout():
    spaces, tabs = fixture("copy_backup_spaces.log"), fixture("copy_backup_tabs.log")
    assert "\t\t- Shadow copy set:" in tabs and "\t" not in spaces
    assert "}\t\t%G1%" in tabs


@pytest.mark.parametrize(
    "transform",
    [
        lambda t: t.replace("\n", "\r\n"),
        lambda t: re.sub(r"(?m)^ +", "\t", t),
        lambda t: re.sub(r"(?m)^ +", "  ", t).replace("\n", "\r\n"),
        lambda t: t.replace("       %", "\t%"),
    ],
    ids=["crlf", "tabs", "two-space-indent-crlf", "tab-before-alias"],
)
def test_layout_variants_parse_alike(transform):
    base = parse_output(fixture("copy_backup_spaces.log"))
    assert parse_output(transform(fixture("copy_backup_spaces.log"))) == base


def test_provider_veto_is_an_error_without_shadows():
    result = parse_output(fixture("provider_veto.log"))
    assert result["errors"] == [{"hresult": "80042306", "text": "VSS_E_PROVIDER_VETO"}]
    assert result["shadows"] == []
    assert result["shadow_set_id"] is None
    assert result["exec_exit_code"] is None
    assert result["script_failed"] is False


def test_exec_failure_aborts_and_leaves_the_shadow_exposed():
    result = parse_output(fixture("exec_failed.log"))
    assert result["script_failed"] is True
    assert result["exec_exit_code"] == 1
    assert result["errors"] == []
    [shadow] = result["shadows"]
    assert shadow["id"] == "c0ffee00-1234-4abc-9def-00112233aabb"
    assert shadow["exposed_as"] == r"C:\ProgramData\vaware\jobs\20240630T230000Z\mnt\G1" + "\\"
    assert shadow["original_mount"] == "F:\\"


def test_hyperv_writer_silently_excluded_is_reported():
    result = parse_output(fixture("hyperv_writer_excluded.log"))
    assert "Microsoft Hyper-V VSS Writer" in result["excluded_writers"]
    assert result["excluded_components"] == [
        {"component": "\\A1B2C3D4-E5F6-4711-8899-AABBCCDDEEFF", "writer": "Microsoft Hyper-V VSS Writer"},
        {"component": "\\0F0E0D0C-0B0A-4909-8807-060504030201", "writer": "Microsoft Hyper-V VSS Writer"},
        {"component": "\\BCD\\BCD", "writer": "ASR Writer"},
    ]
    assert result["errors"] == []
    assert [s["exposed_as"] for s in result["shadows"]] == [None]


def test_partial_transcript_keeps_what_was_printed():
    result = parse_output(fixture("partial_cut_in_block.log"))
    first, second = result["shadows"]
    assert first == {**EXPECTED_SHADOWS[0], "exposed_as": None}
    assert second["id"] == EXPECTED_SHADOWS[1]["id"]
    assert second["set_id"] == EXPECTED_SHADOWS[1]["set_id"]
    assert second["original_volume"] is None and second["device"] is None and second["attributes"] == []
    assert result["exec_exit_code"] is None
    assert result["script_failed"] is False


@pytest.mark.parametrize("name", ["copy_backup_spaces.log", "exec_failed.log"])
def test_every_line_prefix_agrees_with_the_whole_transcript(name):
    lines = fixture(name).splitlines(keepends=True)
    full = parse_output("".join(lines))
    by_id = {s["id"]: s for s in full["shadows"]}
    for cut in range(len(lines) + 1):
        result = parse_output("".join(lines[:cut]))
        # What a cut-off transcript reports is what the whole one reports, or still unknown.
        for shadow in result["shadows"]:
            for key, value in shadow.items():
                if value not in (None, []):
                    assert value == by_id[shadow["id"]][key], (cut, key)
        assert set(result["excluded_writers"]) <= set(full["excluded_writers"])
        assert result["shadow_set_id"] in (None, full["shadow_set_id"])
        assert result["exec_exit_code"] in (None, full["exec_exit_code"])


def test_exclusion_wrapped_at_another_place():
    text = (
        'Component "\\11111111-2222-4333-8444-555555555555" from writer\n'
        '"Microsoft Hyper-V VSS Writer" is excluded from backup, because it requires volume\n'
        "\\\\?\\Volume{77778888-9999-4aaa-bbbb-ccccddddeeee}\\ which is not in the shadow copy set.\n"
        'The writer "Microsoft Hyper-V VSS Writer" is now entirely excluded\n'
        'from the backup because the top-level non selectable component "\\X" is excluded.\n'
    )
    result = parse_output(text)
    assert result["excluded_components"] == [
        {"component": "\\11111111-2222-4333-8444-555555555555", "writer": "Microsoft Hyper-V VSS Writer"}
    ]
    assert result["excluded_writers"] == ["Microsoft Hyper-V VSS Writer"]


def test_failure_without_hresult_and_lower_case_hresult():
    text = (
        "-> CREATE\n"
        "The last operation failed.\n"
        "\n"
        "-> CREATE\n"
        "The last operation failed.\n"
        "    - Returned HRESULT: 0x8004230f\n"
        "    - Error text: VSS_E_UNEXPECTED_PROVIDER_ERROR\n"
    )
    assert parse_output(text)["errors"] == [
        {"hresult": None, "text": "The last operation failed."},
        {"hresult": "8004230F", "text": "VSS_E_UNEXPECTED_PROVIDER_ERROR"},
    ]


def test_hresult_with_translated_labels_still_counts():
    text = (
        "Fehler beim letzten Vorgang.\n"
        "\t- Zurückgegebenes HRESULT: 80042317\n"
        "\t- Fehlertext: VSS_E_MAXIMUM_NUMBER_OF_SNAPSHOTS_REACHED\n"
    )
    assert parse_output(text)["errors"] == [
        {"hresult": "80042317", "text": "VSS_E_MAXIMUM_NUMBER_OF_SNAPSHOTS_REACHED"}
    ]


def test_other_com_call_lines_alone_are_not_errors():
    text = 'COM call "lvssObject4->GetRootAndLogicalPrefixPaths" failed.\nSomething else failed.\n'
    assert parse_output(text)["errors"] == []


def test_expose_by_guid_and_interactive_prompt():
    text = (
        "DISKSHADOW> create\n"
        "Alias VSS_SHADOW_SET for shadow set ID {AAAAAAAA-1111-4222-8333-444444444444} set as environment variable.\n"
        "Alias G7 for shadow ID {BBBBBBBB-1111-4222-8333-444444444444} set as environment variable.\n"
        "Alias G8 for shadow ID {CCCCCCCC-1111-4222-8333-444444444444} set as environment variable.\n"
        "DISKSHADOW> expose {cccccccc-1111-4222-8333-444444444444} C:\\mnt\\g8\n"
        "The shadow copy was successfully exposed as C:\\mnt\\g8\\.\n"
    )
    result = parse_output(text)
    assert result["shadow_set_id"] == "aaaaaaaa-1111-4222-8333-444444444444"
    assert [(s["id"], s["alias"], s["exposed_as"]) for s in result["shadows"]] == [
        ("bbbbbbbb-1111-4222-8333-444444444444", "G7", None),
        ("cccccccc-1111-4222-8333-444444444444", "G8", "C:\\mnt\\g8\\"),
    ]


def test_exec_as_last_command_has_unknown_exit_code():
    assert parse_output("-> EXEC C:\\job\\copy.cmd\n")["exec_exit_code"] is None
    assert parse_output("-> EXEC C:\\job\\copy.cmd\n-> UNEXPOSE C:\\mnt\\g1\n")["exec_exit_code"] == 0


def test_guid_form_is_lower_case_without_braces():
    assert normalize_guid("{A6B1C2D3-E4F5-4678-9ABC-DEF012345678}") == "a6b1c2d3-e4f5-4678-9abc-def012345678"
    result = parse_output(fixture("copy_backup_spaces.log"))
    guids = [result["shadow_set_id"]] + [s["id"] for s in result["shadows"]] + [s["set_id"] for s in result["shadows"]]
    for guid in guids:
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", guid)


def test_empty_and_wrong_type():
    assert parse_output("") == {
        "shadow_set_id": None,
        "shadows": [],
        "errors": [],
        "excluded_writers": [],
        "excluded_components": [],
        "script_failed": False,
        "exec_exit_code": None,
    }
    with pytest.raises(TypeError, match="expects the transcript as str"):
        parse_output(b"-> CREATE")


def test_hresult_forms_equal_sign_0x_and_no_dash():
    text = (
        'COM call "m_pVssObject->BackupComplete(&pAsync)" failed.\n'
        "- Returned HRESULT = 0x80042301\n"
        "- Error text: VSS_E_BAD_STATE\n"
        "\n"
        "The last operation failed.\n"
        "Returned HRESULT: 80042316\n"
        "Error text: VSS_E_SNAPSHOT_SET_IN_PROGRESS\n"
    )
    assert parse_output(text)["errors"] == [
        {"hresult": "80042301", "text": "VSS_E_BAD_STATE"},
        {"hresult": "80042316", "text": "VSS_E_SNAPSHOT_SET_IN_PROGRESS"},
    ]


def test_hex_looking_host_name_in_a_shadow_block_is_not_an_error():
    text = fixture("copy_backup_spaces.log").replace("HV01.corp.example.test", "DB000001")
    result = parse_output(text)
    assert result["errors"] == []
    assert result["shadows"] == EXPECTED_SHADOWS
