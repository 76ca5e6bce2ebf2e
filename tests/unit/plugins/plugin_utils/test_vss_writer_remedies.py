"""Writer problems and their remedies, from recorded ``vssadmin list writers`` listings (tests/unit/fixtures/vss)."""

from __future__ import annotations

import pathlib
import re

import pytest

from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.writer_remedies import (
    HRESULTS,
    WRITER_SERVICES,
    error_hint,
    explain_error,
    explain_state,
    hosting_service,
    job_problem,
    job_problems,
    listing_problems,
    missing_writer,
    problem_line,
    writer_problems,
)
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.writers import parse_writers

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "vss"
HYPERV = "66841cd4-6ded-4f4b-8f17-fd23f8ddc3de"


def listing(name: str) -> list:
    with open(FIXTURES / name, encoding="utf-8", newline="") as handle:
        return parse_writers(handle.read().replace("\n", "\r\n"))


def by_name(problems):
    return {p["name"]: p for p in problems}


def test_english_failures_each_writer_gets_its_service_and_remedy():
    problems = by_name(writer_problems(listing("vssadmin_list_writers_en_failures.txt")))
    # stable writers are no problem, also the Registry Writer whose last backup timed out
    assert sorted(problems) == [
        "Event Log Writer",
        "Microsoft Exchange Writer",
        "Microsoft Hyper-V VSS Writer",
        "SqlServerWriter",
        "System Writer",
        "WMI Writer",
    ]
    expected = {
        "Microsoft Hyper-V VSS Writer": ("vmms", "failed", 9),
        "SqlServerWriter": ("SQLWriter", "failed", 7),
        "System Writer": ("CryptSvc", "waiting", 5),
        "Microsoft Exchange Writer": ("MSExchangeIS", "failed", 7),
        "WMI Writer": ("Winmgmt", "failed", 8),
        "Event Log Writer": (None, "failed", 11),
    }
    for name, (service, kind, state) in expected.items():
        problem = problems[name]
        assert (problem["service"], problem["problem"], problem["state"]) == (service, kind, state), name
        assert problem["found_by"] == "preflight"
        assert f"'{name}' as [1] Stable" in problem["remedy"]
        if service:
            assert f"Restart-Service -Name {service}" in problem["remedy"]

    hyperv = problems["Microsoft Hyper-V VSS Writer"]
    assert hyperv["id"] == HYPERV
    assert hyperv["state_name"] == "VSS_WS_FAILED_AT_FREEZE"
    assert hyperv["last_error"] == "Timed out"
    assert hyperv["service_display_name"] == "Hyper-V Virtual Machine Management"
    assert "failed at freeze" in hyperv["explanation"]
    assert "VSS_E_WRITERERROR_TIMEOUT (0x800423F2)" in hyperv["explanation"]
    assert "wait ten minutes" in hyperv["remedy"]

    sql = problems["SqlServerWriter"]
    assert "VSS_E_WRITERERROR_NONRETRYABLE" in sql["explanation"]
    assert "Application log" in sql["remedy"]  # restarting alone does not fix a non-retryable error
    assert "inconsistent" not in sql["explanation"].lower()

    waiting = problems["System Writer"]
    assert waiting["remedy"].startswith("if no backup is running on the host, restart the Cryptographic Services")
    assert "waiting for backup complete" in waiting["explanation"]

    # a writer the table does not know: a generic remedy that still names the writer and its id
    unknown = problems["Event Log Writer"]
    assert unknown["service"] is None and unknown["service_display_name"] is None
    assert "restart the service or application that hosts 'Event Log Writer'" in unknown["remedy"]
    assert "{eee8c692-67ed-4250-8d86-390603070d00}" in unknown["remedy"]


def test_german_listing_finds_the_same_services_by_writer_id():
    german = by_name(writer_problems(listing("vssadmin_list_writers_de.txt")))
    assert sorted(german) == ["Microsoft Hyper-V VSS Writer", "System Writer"]
    hyperv = german["Microsoft Hyper-V VSS Writer"]
    assert (hyperv["service"], hyperv["problem"], hyperv["state_name"]) == ("vmms", "failed", "VSS_WS_FAILED_AT_FREEZE")
    assert hyperv["last_error"] == "Zeitüberschreitung"  # kept as printed; the table reads English texts only
    assert "last error" not in hyperv["explanation"]
    assert german["System Writer"]["service"] == "CryptSvc"


def test_the_id_decides_over_a_renamed_writer_and_the_name_is_the_fallback():
    assert hosting_service("{66841CD4-6DED-4F4B-8F17-FD23F8DDC3DE}", "Hyper-V-VSS-Writer (umbenannt)") == {
        "service": "vmms",
        "display_name": "Hyper-V Virtual Machine Management",
    }
    assert hosting_service(None, "sqlserverwriter")["service"] == "SQLWriter"
    assert hosting_service("not-a-guid", "WMI Writer")["service"] == "Winmgmt"
    assert hosting_service("11111111-2222-4333-8444-555555555555", "Some Vendor Writer") is None
    assert hosting_service() is None
    # a writer known only by name wins over an id it may share with another writer
    assert hosting_service("76fe1ac4-15f7-4bcd-987e-8e1acb462fb7", "Microsoft Exchange Replica Writer") == {
        "service": "MSExchangeRepl",
        "display_name": "Microsoft Exchange Replication Service",
    }
    assert hosting_service("76fe1ac4-15f7-4bcd-987e-8e1acb462fb7", "Microsoft Exchange Writer")["service"] == (
        "MSExchangeIS"
    )


@pytest.mark.parametrize(
    "name, service",
    [
        ("Microsoft Hyper-V VSS Writer", "vmms"),
        ("SqlServerWriter", "SQLWriter"),
        ("System Writer", "CryptSvc"),
        ("Registry Writer", "VSS"),
        ("ASR Writer", "VSS"),
        ("COM+ REGDB Writer", "VSS"),
        ("Shadow Copy Optimization Writer", "VSS"),
        ("WMI Writer", "Winmgmt"),
        ("IIS Config Writer", "AppHostSvc"),
        ("IIS Metabase Writer", "IISADMIN"),
        ("NTDS", "NTDS"),
        ("DFS Replication service writer", "DFSR"),
        ("FRS Writer", "NtFrs"),
        ("Cluster Database", "ClusSvc"),
        ("Task Scheduler Writer", "Schedule"),
        ("BITS Writer", "BITS"),
        ("MSSearch Service Writer", "WSearch"),
        ("Microsoft Exchange Writer", "MSExchangeIS"),
    ],
)
def test_table_by_id_and_by_name_agree(name, service):
    [entry] = [e for e in WRITER_SERVICES if name in e["names"]]
    assert entry["service"] == service
    assert hosting_service(entry["id"], None)["service"] == service
    assert hosting_service(None, name)["service"] == service


def test_table_is_well_formed():
    ids = [e["id"] for e in WRITER_SERVICES if e["id"]]
    assert len(ids) == len(set(ids)), "one entry per writer id"
    names = [n.casefold() for e in WRITER_SERVICES for n in e["names"]]
    assert len(names) == len(set(names)), "one entry per writer name"
    for entry in WRITER_SERVICES:
        if entry["id"]:
            assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", entry["id"]), entry
        assert entry["service"] and " " not in entry["service"] and entry["display_name"]


@pytest.mark.parametrize(
    "text, code, symbol",
    [
        ("Timed out", "0x800423F2", "VSS_E_WRITERERROR_TIMEOUT"),
        ("Retryable error", "0x800423F3", "VSS_E_WRITERERROR_RETRYABLE"),
        ("Non-retryable error", "0x800423F4", "VSS_E_WRITERERROR_NONRETRYABLE"),
        ("Inconsistent shadow copy", "0x800423F0", "VSS_E_WRITERERROR_INCONSISTENTSNAPSHOT"),
        ("0x800423f2 (VSS_E_WRITERERROR_TIMEOUT)", "0x800423F2", "VSS_E_WRITERERROR_TIMEOUT"),
        ("VSS_E_HOLD_WRITES_TIMEOUT (HRESULT 80042314)", "0x80042314", "VSS_E_HOLD_WRITES_TIMEOUT"),
        ("80042313", "0x80042313", "VSS_E_FLUSH_WRITES_TIMEOUT"),
        ("VSS_E_PROVIDER_VETO", "0x80042306", "VSS_E_PROVIDER_VETO"),
        ("ds: VSS_E_UNEXPECTED_PROVIDER_ERROR (HRESULT 8004230F)", "0x8004230F", "VSS_E_UNEXPECTED_PROVIDER_ERROR"),
        ("0x8004231f", "0x8004231F", "VSS_E_INSUFFICIENT_STORAGE"),
        # a number the table does not know: the symbol decides
        ("0x80042409 (VSS_E_WRITERERROR_NONRETRYABLE)", "0x800423F4", "VSS_E_WRITERERROR_NONRETRYABLE"),
    ],
)
def test_explain_error(text, code, symbol):
    explained = explain_error(text)
    assert (explained["code"], explained["symbol"]) == (code, symbol)
    assert explained["meaning"] and explained["action"]


def test_timeouts_and_vetoes_have_their_own_explanations():
    hold, flush = explain_error("0x80042314"), explain_error("0x80042313")
    assert "hold" in hold["meaning"] and "flush" in flush["meaning"]
    veto, unexpected = explain_error("80042306"), explain_error("8004230F")
    assert "refused" in veto["meaning"] and "vssadmin list providers" in veto["action"]
    assert "unexpected" in unexpected["meaning"]
    assert "shadowstorage" in explain_error("8004231F")["action"]
    assert len({m for _s, m, _a in HRESULTS.values()}) == len(HRESULTS)


@pytest.mark.parametrize(
    "text", [None, "", "No error", "Kein Fehler", "Aucune erreur", "0x00000000 (S_OK)", "Zeitüberschreitung", "x"]
)
def test_explain_error_nothing_to_say(text):
    assert explain_error(text) is None


def test_explain_state():
    assert explain_state(1).startswith("stable")
    assert explain_state(5).startswith("waiting for backup complete")
    assert explain_state(12).startswith("failed at backup complete")
    assert explain_state(0).startswith("unstable") and explain_state(None).startswith("unstable")
    for state in range(6, 16):
        assert explain_state(state).startswith("failed at ")


def test_unknown_state_is_an_unstable_writer():
    [problem] = writer_problems(
        [{"name": "WMI Writer", "id": "a6ad56c2-b509-4e6c-bb19-49d8f43532f0", "state": 0, "last_error": "No error"}]
    )
    assert (problem["problem"], problem["state_name"], problem["service"]) == ("unstable", "VSS_WS_UNKNOWN", "Winmgmt")
    assert writer_problems([{"name": "W", "state": None}, {"name": "V", "state": 1, "last_error": "Timed out"}]) == []


def test_missing_hyperv_writer_is_its_own_case():
    problem = missing_writer(HYPERV, "Microsoft Hyper-V VSS Writer")
    assert (problem["problem"], problem["state"], problem["service"]) == ("missing", None, "vmms")
    assert problem["remedy"].startswith("start the Hyper-V Virtual Machine Management service (vmms)")
    assert "role or application is installed" in problem["remedy"]
    assert problem_line(problem).startswith(
        "VSS writer 'Microsoft Hyper-V VSS Writer' is not listed by `vssadmin list writers`: start the"
    )
    generic = missing_writer("11111111-2222-4333-8444-555555555555", "Vendor Writer")
    assert generic["service"] is None and "'Vendor Writer'" in generic["remedy"]


def test_job_problem_of_the_hyperv_writer():
    before = {"name": "Microsoft Hyper-V VSS Writer", "id": HYPERV, "state": 1, "state_name": "VSS_WS_STABLE"}
    problem = job_problem(before, "VSS_E_HOLD_WRITES_TIMEOUT (HRESULT 80042314)")
    assert (problem["found_by"], problem["service"], problem["state"]) == ("job", "vmms", 1)
    assert "diskshadow excluded it or failed: VSS_E_HOLD_WRITES_TIMEOUT" in problem["explanation"]
    assert "could not hold the volumes' writes" in problem["explanation"]
    assert "Restart-Service -Name vmms" in problem["remedy"] and "wait ten minutes" in problem["remedy"]
    excluded = job_problem(None, None)
    assert excluded["state"] is None and excluded["explanation"].endswith("(diskshadow excluded it)")


def test_problem_line():
    problems = by_name(writer_problems(listing("vssadmin_list_writers_en.txt")))
    line = problem_line(problems["Microsoft Hyper-V VSS Writer"])
    assert line.startswith(
        "VSS writer 'Microsoft Hyper-V VSS Writer' is in state 8 (VSS_WS_FAILED_AT_PREPARE_SNAPSHOT),"
        " last error: Inconsistent shadow copy: restart the Hyper-V Virtual Machine Management service (vmms)"
        " on the host (`Restart-Service -Name vmms`), then `vssadmin list writers` must show"
        " 'Microsoft Hyper-V VSS Writer' as [1] Stable"
    )
    assert line.endswith("(for a VM: configuration, disks and checkpoints)")


def test_listing_problems_add_the_missing_hyperv_writer_only_when_vms_are_backed_up():
    german = listing("vssadmin_list_writers_de.txt")
    assert [p["name"] for p in listing_problems(german, True)] == ["Microsoft Hyper-V VSS Writer", "System Writer"]
    without = [w for w in german if w["id"] != HYPERV]
    assert [p["problem"] for p in listing_problems(without, True)] == ["missing", "waiting"]
    assert [p["problem"] for p in listing_problems(without, False)] == ["waiting"]
    assert [p["problem"] for p in listing_problems([], True)] == ["missing"]


def test_job_problems_only_for_a_required_writer_left_out():
    errors = [{"text": "VSS_E_FLUSH_WRITES_TIMEOUT", "hresult": "80042313"}]
    writer = {"included": False, "state": 1, "state_name": "VSS_WS_STABLE", "last_error": "No error"}
    [problem] = job_problems(writer, True, errors)
    assert problem["last_error"] == "VSS_E_FLUSH_WRITES_TIMEOUT (HRESULT 80042313)"
    assert "flush" in problem["explanation"]
    assert job_problems(writer, False, errors) == []
    assert job_problems({**writer, "included": True}, True, errors) == []
    assert job_problems({**writer, "included": None}, True, errors) == []
    [unknown_before] = job_problems({"included": False}, True, [])
    assert unknown_before["state"] is None and unknown_before["last_error"] is None


def test_error_hint():
    assert error_hint("VSS_E_INSUFFICIENT_STORAGE 8004231F").startswith(
        "; VSS_E_INSUFFICIENT_STORAGE (0x8004231F): a volume has too little free space"
    )
    assert error_hint("VSS_E_SOMETHING_ELSE 80042399") == ""
