from __future__ import annotations

import copy
import datetime
import json
import pathlib

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss import diskshadow, manifest, robocopy
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.manifest import (
    ManifestError,
    build_manifest,
    is_generation_complete,
    retention_entry,
    validate_manifest,
)
from ansible_collections.vaware.hyperv.tests.support.backup_samples import GUID_D, GUID_DATA, NOW, plan

SCHEMA = json.loads((pathlib.Path(__file__).parents[4] / "docs" / "manifest.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
END = NOW + datetime.timedelta(hours=1, minutes=12, seconds=9)
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

TRANSCRIPT = (
    "Alias VAWVOL1 for shadow ID {A9955F48-0D54-427C-B795-6CBF81E8E7CA} set as environment variable.\r\n"
    "Alias VAWVOL2 for shadow ID {b1b1b1b1-0d54-427c-b795-6cbf81e8e7cb} set as environment variable.\r\n"
    "Alias VSS_SHADOW_SET for shadow set ID {c3c3c3c3-1111-2222-3333-444444444444} set as environment variable.\r\n"
    "\r\n"
    "Querying all shadow copies with the shadow copy set ID {c3c3c3c3-1111-2222-3333-444444444444}\r\n"
    "\r\n"
    "\t* Shadow copy ID = {a9955f48-0d54-427c-b795-6cbf81e8e7ca}\t\t%VAWVOL1%\r\n"
    "\t\t- Shadow copy set: {c3c3c3c3-1111-2222-3333-444444444444}\t%VSS_SHADOW_SET%\r\n"
    f"\t\t- Original volume name: \\\\?\\Volume{GUID_D}\\ [D:\\]\r\n"
    "\t\t- Shadow copy device name: \\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy12\r\n"
    "\t\t- Attributes:  No_Auto_Release Persistent Differential\r\n"
    "\t* Shadow copy ID = {b1b1b1b1-0d54-427c-b795-6cbf81e8e7cb}\t\t%VAWVOL2%\r\n"
    "\t\t- Shadow copy set: {c3c3c3c3-1111-2222-3333-444444444444}\t%VSS_SHADOW_SET%\r\n"
    f"\t\t- Original volume name: \\\\?\\Volume{GUID_DATA}\\ [C:\\ClusterStorage\\Data\\]\r\n"
    "\t\t- Shadow copy device name: \\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy13\r\n"
    "\t\t- Attributes:  No_Auto_Release Persistent Differential\r\n"
)


def _plan(**options):
    options.setdefault("include_vms", ["web01", "sql01"])
    return plan(**options)


def _found(p, sha=False):
    """What the host found at the destination: every planned file, sizes equal in the shadow."""
    result = {}
    for n, vm in enumerate(p["vms"]):
        entries = []
        for m, f in enumerate(vm["files"]):
            entry = {"relative_path": f["relative_path"], "size": 1000 * (n + 1) + m, "source_size": 1000 * (n + 1) + m}
            if sha:
                entry["sha256"] = SHA.upper()
            entries.append(entry)
        result[vm["name"]] = entries
    return result


def _sources(p, sha=SHA, skip=(), spaced=False):
    """The copy wrapper's source hash file: certutil's output for every planned VM file in the shadow."""
    lines = [f"begin {p['job_id']}"]
    for vm in p["vms"]:
        for f in vm["files"]:
            if f["relative_path"] in skip:
                continue
            digest = " ".join(sha[i : i + 2] for i in range(0, 64, 2)) if spaced else sha
            lines += [
                f"vaware-file {f['shadow_path']}",
                f"SHA256 hash of {f['shadow_path']}:",
                digest,
                "CertUtil: -hashfile command completed successfully.",
                "vaware-exit 0",
            ]
    return "\r\n".join(lines) + "\r\n"


def _codes(p, failing=None, code=1, finished=True):
    lines = [f"begin {p['job_id']}"]
    worst = 0
    for step in p["steps"]:
        for pass_name in ("large", "small"):
            rc = 8 if step["id"] == failing and pass_name == "small" else code
            worst = max(worst, rc)
            lines.append(f"{step['id']} {pass_name} {rc}")
    if finished:
        lines.append(f"end {1 if worst >= 8 else 0}")
    return "\r\n".join(lines) + "\r\n"


def _build(p, **kwargs):
    kwargs.setdefault("files", _found(p))
    kwargs.setdefault("exit_codes", _codes(p))
    kwargs.setdefault("writer", {"included": True, "state": 1, "state_name": "VSS_WS_STABLE"})
    return build_manifest(p, started_at=NOW, finished_at=END, **kwargs)


def _schema_errors(m):
    return [e.message for e in VALIDATOR.iter_errors(m)]


def test_complete_manifest_is_valid_by_schema_and_by_python():
    p = _plan(extra_paths=["D:\\Scripts"])
    parsed = diskshadow.parse_output(TRANSCRIPT)
    log = (
        "               Total    Copied   Skipped  Mismatch    FAILED    Extras\r\n"
        "    Dirs :         3         3         0         0         0         0\r\n"
        "   Files :         5         5         0         0         0         0\r\n"
        "   Bytes : 64424509440 64424509440         0         0         0         0\r\n"
    )
    m = _build(
        p,
        shadows=parsed["shadows"],
        shadow_set_id=parsed["shadow_set_id"],
        robocopy_summary=robocopy.parse_summary(log),
        extra_totals={"D:\\Scripts": {"files": 12, "bytes": 3400}},
        vm_seconds={"web01": 61.5},
    )
    assert _schema_errors(m) == []
    assert validate_manifest(m) == []
    assert m["status"] == "complete" and is_generation_complete(m)
    assert m["started_at"] == "2026-11-25T02:00:00Z" and m["finished_at"] == "2026-11-25T03:12:09Z"
    assert m["generation"] == "20261125T020000Z" and m["host"] == "HV01" and m["backup_type"] == "copy"
    assert [s["original_volume"] for s in m["shadows"]] == [f"\\\\?\\Volume{GUID_D}\\", f"\\\\?\\Volume{GUID_DATA}\\"]
    assert m["shadow_set_id"] == "c3c3c3c3-1111-2222-3333-444444444444"
    assert m["writer"]["required"] is True and m["writer"]["included"] is True
    web = m["vms"][0]
    assert web["seconds"] == 61.5 and web["file_count"] == 3 and web["bytes"] == 1000 + 1001 + 1002
    assert {f["relative_path"]: f["original_path"] for f in web["files"]}[
        "Virtual Hard Disks\\web01.vhdx"
    ] == "D:\\Hyper-V\\web01\\Virtual Hard Disks\\web01.vhdx"
    assert m["extra_paths"][0]["files"] == 12 and m["extra_paths"][0]["status"] == "complete"
    assert m["robocopy"]["summary"]["bytes"]["copied"] == 64424509440
    assert m["robocopy"]["wrapper_exit_code"] == 0
    # survives the trip through JSON on disk
    assert is_generation_complete(json.loads(json.dumps(m)), "20261125T020000Z")


def test_hash_verification_records_sha256_and_requires_it():
    p = _plan()
    m = _build(p, files=_found(p, sha=True), verify="hash", source_hashes=_sources(p))
    assert _schema_errors(m) == [] and m["status"] == "complete"
    assert all(f["sha256"] == SHA for vm in m["vms"] for f in vm["files"])
    missing = _build(p, verify="hash", source_hashes=_sources(p))
    assert missing["status"] == "failed"
    assert any("no SHA-256 although verify is hash" in problem for problem in missing["vms"][0]["problems"])
    assert "sha256" not in _build(p, verify="size")["vms"][0]["files"][0]


def test_hash_verification_compares_each_copy_with_the_file_in_the_shadow_copy():
    p = _plan()
    spaced = _build(p, files=_found(p, sha=True), verify="hash", source_hashes=_sources(p, spaced=True))
    assert spaced["status"] == "complete"  # older Windows prints the digest in byte pairs

    other = "0" * 63 + "1"
    bad = _build(p, files=_found(p, sha=True), verify="hash", source_hashes=_sources(p, sha=other))
    assert bad["status"] == "failed" and bad["error"] is None
    web = bad["vms"][0]
    assert web["status"] == "failed"
    assert (
        f"Virtual Hard Disks\\web01.vhdx: SHA-256 of the copy {SHA} differs from the shadow copy's {other}"
        in (web["problems"])
    )
    assert {f["sha256"] for f in web["files"]} == {SHA}  # the manifest records what is at the destination
    assert not is_generation_complete(bad)

    # one file whose source digest is missing fails its VM only; the other VM stays complete
    skip = ("Virtual Hard Disks\\web01.vhdx",)
    partial = _build(p, files=_found(p, sha=True), verify="hash", source_hashes=_sources(p, skip=skip))
    assert partial["status"] == "partial"
    assert [v["status"] for v in partial["vms"]] == ["failed", "complete"]
    assert partial["vms"][0]["problems"] == [
        "Virtual Hard Disks\\web01.vhdx: no SHA-256 of the file in the shadow copy"
        " (the copy wrapper recorded no digest for it)"
    ]


def test_a_source_digest_certutil_could_not_make_fails_with_certutil_s_words():
    p = _plan(include_vms=["web01"])
    vhdx = next(f for f in p["vms"][0]["files"] if f["kind"] == "vhd")
    text = _sources(p, skip=(vhdx["relative_path"],)) + (
        f"vaware-file {vhdx['shadow_path']}\r\n"
        "CertUtil: -hashfile command FAILED: 0x80070005 (WIN32: 5 ERROR_ACCESS_DENIED)\r\n"
        "CertUtil: Access is denied.\r\n"
        "vaware-exit -2147024891\r\n"
    )
    m = _build(p, files=_found(p, sha=True), verify="hash", source_hashes=text)
    assert m["status"] == "failed"
    (problem,) = m["vms"][0]["problems"]
    assert problem.startswith("Virtual Hard Disks\\web01.vhdx: no SHA-256 of the file in the shadow copy (certutil")
    assert "ERROR_ACCESS_DENIED" in problem


def test_source_digests_are_ignored_unless_verify_is_hash():
    p = _plan()
    wrong = _sources(p, sha="1" * 64)
    assert _build(p, files=_found(p, sha=True), verify="size", source_hashes=wrong)["status"] == "complete"
    assert _build(p, files=_found(p), verify="none", source_hashes=wrong)["status"] == "complete"


def test_source_hashes_of_the_wrong_type_are_named():
    p = _plan()
    with pytest.raises(ManifestError, match="source_hashes: expected"):
        _build(p, files=_found(p, sha=True), verify="hash", source_hashes={"x": SHA})


def test_one_vm_failing_robocopy_makes_the_generation_partial():
    p = _plan()
    failing = p["vms"][1]["steps"][0]
    m = _build(p, exit_codes=_codes(p, failing=failing))
    assert _schema_errors(m) == [] and validate_manifest(m) == []
    assert [v["status"] for v in m["vms"]] == ["complete", "failed"]
    assert m["status"] == "partial" and not is_generation_complete(m)
    assert any(failing in problem and "exit codes 1, 8" in problem for problem in m["vms"][1]["problems"])
    assert m["robocopy"]["wrapper_exit_code"] == 1


def test_a_source_size_the_host_could_not_read_fails_the_vm_unless_verify_is_none():
    p = _plan()
    found = _found(p)
    del found["sql01"][0]["source_size"]
    found["sql01"][0]["source_size_error"] = "cmd.exe could not read its size in the shadow copy"
    m = _build(p, files=found)
    assert [v["status"] for v in m["vms"]] == ["complete", "failed"]
    rel = found["sql01"][0]["relative_path"]
    assert m["vms"][1]["problems"] == [
        f"{rel}: size in the shadow copy unknown (cmd.exe could not read its size in the shadow copy)"
    ]
    assert _schema_errors(m) == []
    assert _build(p, files=found, verify="none")["vms"][1]["status"] == "complete"


def test_every_vm_failing_makes_the_generation_failed():
    p = _plan()
    m = _build(p, exit_codes=_codes(p, code=16))
    assert m["status"] == "failed" and _schema_errors(m) == []


def test_missing_or_mismatched_files_fail_the_vm():
    p = _plan()
    found = _found(p)
    found["web01"] = found["web01"][1:]
    found["sql01"][0]["size"] = 5
    m = _build(p, files=found)
    assert [v["status"] for v in m["vms"]] == ["failed", "failed"]
    assert "missing at the destination" in " ".join(m["vms"][0]["problems"])
    assert "5 bytes at the destination, 2000 in the shadow copy" in " ".join(m["vms"][1]["problems"])
    assert m["status"] == "failed"
    assert _build(p, files=found, verify="none")["vms"][1]["status"] == "complete"
    found["sql01"].append({"relative_path": "stray.txt", "size": 1})
    assert "VM 'sql01': unexpected file at the destination: stray.txt" in _build(p, files=found)["warnings"]


def test_relative_paths_match_case_insensitively_and_with_either_slash():
    p = _plan(include_vms=["web01"])
    found = _found(p)
    for entry in found["web01"]:
        entry["relative_path"] = entry["relative_path"].upper().replace("\\", "/")
    assert _build(p, files=found)["status"] == "complete"


def test_steps_that_never_ran_or_a_wrapper_that_did_not_finish_are_not_complete():
    p = _plan()
    m = _build(p, exit_codes=None)
    assert m["status"] == "failed" and "did not run" in m["vms"][0]["problems"][0]
    cut = _build(p, exit_codes=_codes(p, finished=False))
    assert cut["status"] == "partial" and "did not finish" in cut["error"]
    assert _schema_errors(cut) == [] and not is_generation_complete(cut)


def test_required_hyperv_writer_that_was_not_included_fails_the_generation():
    p = _plan()
    m = _build(p, writer={"included": False, "state": 8, "last_error": "VSS_E_WRITERERROR_TIMEOUT"})
    assert m["status"] == "failed" and _schema_errors(m) == []
    assert any("not be application-consistent" in w for w in m["warnings"])
    relaxed = _build(_plan(require_hyperv_writer=False), writer={"included": False})
    assert relaxed["status"] == "complete"
    assert any("crash-consistent" in w for w in relaxed["warnings"])


def test_job_error_is_recorded_and_prevents_completion():
    p = _plan()
    m = _build(p, error="diskshadow CREATE failed: VSS_E_PROVIDER_VETO")
    assert m["status"] == "partial" and m["error"].endswith("VSS_E_PROVIDER_VETO")
    assert not is_generation_complete(m)


def test_plan_warnings_are_carried_into_the_manifest():
    p = _plan(destination="D:\\Backups")
    m = _build(p, warnings=["host said hello"])
    assert m["warnings"][0].startswith("destination 'D:\\Backups'") and m["warnings"][-1] == "host said hello"


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"verify": "checksum"}, "verify"),
        ({"started_at": datetime.datetime(2026, 1, 1)}, "started_at"),
        ({"finished_at": NOW - datetime.timedelta(seconds=1)}, "before started_at"),
        ({"files": {"web01": [{"relative_path": "x", "size": -1}]}}, "size"),
        (
            {"files": {"web01": [{"relative_path": "Virtual Hard Disks\\web01.vhdx", "size": 1, "sha256": "zz"}]}},
            "sha256",
        ),
        ({"exit_codes": 5}, "exit_codes"),
        ({"shadows": [{"alias": "x"}]}, "shadows"),
        ({"writer": {"included": "yes"}}, "writer included"),
    ],
)
def test_bad_inputs_are_named(kwargs, pattern):
    p = _plan()
    started = kwargs.pop("started_at", NOW)
    finished = kwargs.pop("finished_at", END)
    kwargs.setdefault("exit_codes", _codes(p))
    with pytest.raises(ManifestError, match=pattern):
        build_manifest(p, started_at=started, finished_at=finished, **kwargs)


def _mutations():
    def status_lies(m):
        m["vms"][1]["status"] = "failed"

    def bad_generation(m):
        m["generation"] = "yesterday"

    def local_time(m):
        m["started_at"] = "2026-11-25T03:00:00+01:00"

    def bad_hash(m):
        m["vms"][0]["files"][0]["sha256"] = "ABC"

    def unknown_format(m):
        m["format"] = 2

    def bad_status(m):
        m["status"] = "done"

    def no_vms(m):
        del m["vms"]

    def negative_size(m):
        m["vms"][0]["files"][0]["size"] = -3

    def hash_with_newline(m):
        m["vms"][0]["files"][0]["sha256"] += "\n"

    def complete_with_error(m):
        m["error"] = "diskshadow failed"

    def extra_path_not_an_object(m):
        m["extra_paths"] = ["D:\\Scripts"]

    return [
        status_lies,
        bad_generation,
        local_time,
        bad_hash,
        unknown_format,
        bad_status,
        no_vms,
        negative_size,
        hash_with_newline,
        complete_with_error,
        extra_path_not_an_object,
    ]


@pytest.mark.parametrize("mutate", _mutations(), ids=lambda f: f.__name__)
def test_python_validation_and_schema_reject_the_same_broken_manifests(mutate):
    p = _plan()
    m = copy.deepcopy(_build(p, files=_found(p, sha=True), verify="hash", source_hashes=_sources(p)))
    assert is_generation_complete(m)
    mutate(m)
    assert validate_manifest(m), "python validation accepted a broken manifest"
    assert _schema_errors(m), "the schema accepted a broken manifest"
    assert not is_generation_complete(m)


def test_completeness_needs_a_manifest_of_the_same_generation():
    m = _build(_plan())
    assert is_generation_complete(m, "20261125T020000Z")
    assert not is_generation_complete(m, "20261124T020000Z")
    assert not is_generation_complete(None)
    assert not is_generation_complete(["not", "a", "manifest"])


def test_retention_entries():
    m = _build(_plan())
    assert retention_entry("20261125T020000Z", m) == {"id": "20261125T020000Z", "finished_at": END, "complete": True}
    assert retention_entry("20261124T020000Z-01", None) == {
        "id": "20261124T020000Z-01",
        "finished_at": datetime.datetime(2026, 11, 24, 2, tzinfo=datetime.timezone.utc),
        "complete": False,
    }
    with pytest.raises(ManifestError, match="not a generation id"):
        retention_entry("photos", None)


def test_manifest_path_is_at_the_generation_root():
    assert manifest.manifest_path(_plan()) == "\\\\nas01\\backups\\HV01\\20261125T020000Z\\manifest.json"


def test_impossible_dates_are_a_problem_not_a_crash():
    m = _build(_plan())
    m["finished_at"] = "2026-13-45T99:00:00Z"
    assert any("not a real date" in problem for problem in validate_manifest(m))
    assert not is_generation_complete(m)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(
    base_key=st.sampled_from(["format", "status", "vms", "extra_paths", "writer", "started_at", "error", "generation"]),
    value=_JSON,
)
def test_validation_never_crashes_on_a_damaged_manifest(base_key, value):
    m = _build(_plan(extra_paths=["D:\\Scripts"]))
    m[base_key] = value
    problems = validate_manifest(m)
    assert isinstance(problems, list)
    if not problems:  # whatever Python accepts, the schema accepts too
        assert _schema_errors(m) == []


def test_a_vm_the_hyperv_writer_excluded_is_not_complete_when_the_writer_is_required():
    p = _plan()
    sql_id = p["vms"][1]["id"]
    writer = {"included": True, "state": 1, "excluded_components": ["{" + sql_id.upper() + "}"]}
    m = _build(p, writer=writer)
    assert [v["status"] for v in m["vms"]] == ["complete", "failed"]
    assert "crash-consistent" in m["vms"][1]["problems"][0]
    assert m["status"] == "partial" and _schema_errors(m) == []
    relaxed = _build(_plan(require_hyperv_writer=False), writer={"included": True, "excluded_components": ["web01"]})
    assert relaxed["status"] == "complete"
    assert any("'web01'" in w and "crash-consistent" in w for w in relaxed["warnings"])
    with pytest.raises(ManifestError, match="excluded_components"):
        _build(p, writer={"included": True, "excluded_components": "sql01"})
