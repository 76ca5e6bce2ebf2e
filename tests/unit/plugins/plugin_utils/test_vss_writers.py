"""Tests for the VSS writer listing parser (fixtures in tests/unit/fixtures/vss)."""

from __future__ import annotations

import pathlib

import pytest

from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.writers import (
    WRITER_STATES,
    parse_writers,
    state_name,
)

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "vss"
HYPERV = "66841cd4-6ded-4f4b-8f17-fd23f8ddc3de"


def fixture(name: str) -> str:
    with open(FIXTURES / name, encoding="utf-8", newline="") as handle:
        return handle.read()


def by_name(writers):
    return {w["name"]: w for w in writers}


def test_vssadmin_english():
    writers = parse_writers(fixture("vssadmin_list_writers_en.txt"))
    assert [w["name"] for w in writers] == [
        "Task Scheduler Writer",
        "VSS Metadata Store Writer",
        "Microsoft Hyper-V VSS Writer",
        "System Writer",
        "Registry Writer",
    ]
    hyperv = by_name(writers)["Microsoft Hyper-V VSS Writer"]
    assert hyperv == {
        "name": "Microsoft Hyper-V VSS Writer",
        "id": HYPERV,
        "instance_id": "6162e336-7448-4371-93a7-29581512b103",
        "state": 8,
        "state_name": "VSS_WS_FAILED_AT_PREPARE_SNAPSHOT",
        "failed": True,
        "last_error": "Inconsistent shadow copy",
    }
    system = by_name(writers)["System Writer"]
    assert (system["state"], system["state_name"], system["failed"]) == (
        5,
        "VSS_WS_WAITING_FOR_BACKUP_COMPLETE",
        False,
    )
    # A stable writer with a last error is not failed; the error is still reported.
    registry = by_name(writers)["Registry Writer"]
    assert (registry["failed"], registry["last_error"]) == (False, "Timed out")


def test_vssadmin_german_uses_numbers_and_guids_not_words():
    # vssadmin writes CRLF; the file is stored with LF (sanity tests require it).
    german = parse_writers(fixture("vssadmin_list_writers_de.txt").replace("\n", "\r\n"))
    assert [w["name"] for w in german] == [
        "Task Scheduler Writer",
        "Microsoft Hyper-V VSS Writer",
        "System Writer",
        "WMI Writer",
    ]
    hyperv = by_name(german)["Microsoft Hyper-V VSS Writer"]
    assert hyperv["id"] == HYPERV
    assert hyperv["instance_id"] == "a3d0f5a9-2c4e-4b6d-8f10-1a2b3c4d5e6f"
    assert (hyperv["state"], hyperv["state_name"], hyperv["failed"]) == (9, "VSS_WS_FAILED_AT_FREEZE", True)
    assert hyperv["last_error"] == "Zeitüberschreitung"
    assert by_name(german)["WMI Writer"]["state_name"] == "VSS_WS_STABLE"
    # The same writers parse to the same ids as in the English listing.
    english = by_name(parse_writers(fixture("vssadmin_list_writers_en.txt")))
    for name in ("Task Scheduler Writer", "System Writer"):
        assert by_name(german)[name]["id"] == english[name]["id"]


def test_vssadmin_french_labels_with_apostrophes():
    text = (
        "vssadmin 1.1 - Outil ligne de commande d'administration du service de cliché instantané de volume\n"
        "(C) Copyright 2001-2013 Microsoft Corp.\n"
        "\n"
        "Nom de l'enregistreur : 'System Writer'\n"
        "   Id. de l'enregistreur : {e8132975-6f93-4464-a53e-1050253ae220}\n"
        "   Id. de l'instance de l'enregistreur : {7e631031-c695-4229-9da1-a7de057e64cb}\n"
        "   État : [1] Stable\n"
        "   Dernière erreur : Aucune erreur\n"
        "\n"
        "Nom de l'enregistreur : 'Microsoft Hyper-V VSS Writer'\n"
        "   Id. de l'enregistreur : {66841cd4-6ded-4f4b-8f17-fd23f8ddc3de}\n"
        "   Id. de l'instance de l'enregistreur : {a3d0f5a9-2c4e-4b6d-8f10-1a2b3c4d5e6f}\n"
        "   État : [11] Échec\n"
        "   Dernière erreur : Erreur inattendue\n"
    )
    writers = parse_writers(text)
    assert [(w["name"], w["state"], w["failed"], w["last_error"]) for w in writers] == [
        ("System Writer", 1, False, "Aucune erreur"),
        ("Microsoft Hyper-V VSS Writer", 11, True, "Erreur inattendue"),
    ]
    assert writers[1]["state_name"] == "VSS_WS_FAILED_AT_POST_SNAPSHOT"


def test_diskshadow_list_writers_status():
    writers = parse_writers(fixture("diskshadow_list_writers_status.txt"))
    assert [w["name"] for w in writers] == [
        "System Writer",
        "Microsoft Hyper-V VSS Writer",
        "Shadow Copy Optimization Writer",  # printed without quotes, indented with spaces
        "Registry Writer",
    ]
    hyperv = writers[1]
    assert hyperv == {
        "name": "Microsoft Hyper-V VSS Writer",
        "id": HYPERV,
        "instance_id": "a3d0f5a9-2c4e-4b6d-8f10-1a2b3c4d5e6f",
        "state": 9,
        "state_name": "VSS_WS_FAILED_AT_FREEZE",
        "failed": True,
        "last_error": "0x800423f2 (VSS_E_WRITERERROR_TIMEOUT)",
    }
    assert writers[0]["state"] == 5 and writers[0]["failed"] is False
    assert writers[2]["id"] == "4dc3bdd4-ab48-4d07-adb0-3bee2926fd7f"


def test_diskshadow_ids_before_status():
    text = (
        '* WRITER "Microsoft Hyper-V VSS Writer"\r\n'
        "    - Writer ID   = {66841CD4-6DED-4F4B-8F17-FD23F8DDC3DE}\r\n"
        "    - Writer instance ID = {A3D0F5A9-2C4E-4B6D-8F10-1A2B3C4D5E6F}\r\n"
        "    - Status: 1 (VSS_WS_STABLE)\r\n"
        "    - Writer Failure code: 0x00000000 (S_OK)\r\n"
    )
    [writer] = parse_writers(text)
    assert writer["id"] == HYPERV
    assert writer["instance_id"] == "a3d0f5a9-2c4e-4b6d-8f10-1a2b3c4d5e6f"
    assert writer["state_name"] == "VSS_WS_STABLE" and writer["failed"] is False


@pytest.mark.parametrize("state", range(17))
def test_failed_states(state):
    text = (
        "Writer name: 'W'\n"
        "   Writer Id: {11111111-2222-4333-8444-555555555555}\n"
        "   Writer Instance Id: {66666666-7777-4888-9999-000000000000}\n"
        f"   State: [{state}] whatever the language says\n"
        "   Last error: x\n"
    )
    [writer] = parse_writers(text)
    assert writer["state"] == state
    assert writer["failed"] is (6 <= state <= 15)
    assert writer["state_name"] == WRITER_STATES.get(state)
    if 2 <= state <= 5:
        assert writer["state_name"].startswith("VSS_WS_WAITING_FOR_")
    if 6 <= state <= 15:
        assert writer["state_name"].startswith("VSS_WS_FAILED_AT_")


def test_state_name():
    assert state_name(0) == "VSS_WS_UNKNOWN"
    assert state_name(1) == "VSS_WS_STABLE"
    assert state_name(15) == "VSS_WS_FAILED_AT_BACKUPSHUTDOWN"
    assert state_name(16) is None and state_name(None) is None


def test_noise_is_not_a_writer():
    text = (
        "vssadmin 1.1 - Volume Shadow Copy Service administrative command-line tool\n"
        "(C) Copyright 2001-2013 Microsoft Corp.\n"
        "\n"
        "Error: A Volume Shadow Copy Service component encountered an unexpected error.\n"
        "Check the Application event log for more information.\n"
    )
    assert parse_writers(text) == []
    assert parse_writers("") == []
    with pytest.raises(TypeError):
        parse_writers(None)


def test_diskshadow_metadata_lines_are_not_taken_for_the_last_error():
    text = (
        '* WRITER "System Writer"\n'
        "    - WriterId = {e8132975-6f93-4464-a53e-1050253ae220}\n"
        "    - Writer instance ID = {7e631031-c695-4229-9da1-a7de057e64cb}\n"
        "    - Supports restore events = TRUE\n"
        "    - Writer restore conditions = VSS_WRE_ALWAYS\n"
        "    - Status: 7 (VSS_WS_FAILED_AT_PREPARE_BACKUP)\n"
        "    - Writer Failure code: 0x80042409 (VSS_E_WRITERERROR_NONRETRYABLE)\n"
        '    + Component "System Writer:\\System Files"\n'
        "        - Name: System Files\n"
    )
    [writer] = parse_writers(text)
    assert writer["last_error"] == "0x80042409 (VSS_E_WRITERERROR_NONRETRYABLE)"
    assert (writer["state"], writer["failed"]) == (7, True)
    assert writer["instance_id"] == "7e631031-c695-4229-9da1-a7de057e64cb"


def test_vssadmin_english_failures_and_the_waiting_for_responses_lines():
    writers = parse_writers(fixture("vssadmin_list_writers_en_failures.txt").replace("\n", "\r\n"))
    assert len(writers) == 9
    assert [w["name"] for w in writers if w["failed"]] == [
        "Microsoft Hyper-V VSS Writer",
        "SqlServerWriter",
        "Microsoft Exchange Writer",
        "Event Log Writer",
        "WMI Writer",
    ]
    sql = by_name(writers)["SqlServerWriter"]
    assert (sql["id"], sql["state_name"], sql["last_error"]) == (
        "a65faa63-5ea8-4ebc-9dbd-a0c4db26912a",
        "VSS_WS_FAILED_AT_PREPARE_BACKUP",
        "Non-retryable error",
    )


def test_vssadmin_french_as_current_windows_prints_it():
    # labels of a French Windows 11 host as posted in a public issue (U+2019 apostrophe in "instance")
    text = (
        "vssadmin 1.1 - Outil ligne de commande d\u2019administration du service de clich\u00e9"
        " instantan\u00e9 de volume\r\n"
        "(C) Copyright 2001-2013 Microsoft Corp.\r\n\r\n"
        "Nom du r\u00e9dacteur : 'Task Scheduler Writer'\r\n"
        "   ID du r\u00e9dacteur : {d61d61c8-d73a-4eee-8cdd-f6f9786b7124}\r\n"
        "   ID de l\u2019instance du r\u00e9dacteur : {1bddd48e-5052-49db-9b07-b96f96727e6b}\r\n"
        "   \u00c9tat : [1] Stable\r\n"
        "   Derni\u00e8re erreur : Aucune erreur\r\n"
    )
    [writer] = parse_writers(text)
    assert (writer["name"], writer["id"], writer["instance_id"]) == (
        "Task Scheduler Writer",
        "d61d61c8-d73a-4eee-8cdd-f6f9786b7124",
        "1bddd48e-5052-49db-9b07-b96f96727e6b",
    )
    assert (writer["state_name"], writer["last_error"]) == ("VSS_WS_STABLE", "Aucune erreur")
