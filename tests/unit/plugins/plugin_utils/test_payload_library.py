"""Payload libraries: ``#vaware:include <library>`` lines that ``load_payload`` replaces with shared functions."""

from __future__ import annotations

import importlib.util
import pathlib
import re

import pytest
import tree_sitter
import tree_sitter_pwsh

from ansible_collections.vaware.hyperv.plugins.plugin_utils import _payload
from ansible_collections.vaware.hyperv.plugins.plugin_utils._payload import load_payload
from ansible_collections.vaware.hyperv.tests.support.scripted_host import ScriptedHost, ok

ROOT = pathlib.Path(__file__).resolve().parents[4]
PAYLOADS = pathlib.Path(_payload.PAYLOAD_DIR)
LIBRARIES = sorted((PAYLOADS / "lib").glob("*.ps1"))
VSS_PAYLOADS = sorted(p.stem for p in PAYLOADS.glob("win_vss_backup_*.ps1"))
INCLUDE_LINE = re.compile(r"^#vaware:include (\S+)\n", re.MULTILINE)
DELETE_ALL = re.compile(r"delete\s+shadows\s+all", re.IGNORECASE)
FUNCTION = re.compile(r"^\s*function\s+([\w-]+)", re.IGNORECASE | re.MULTILINE)
PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_pwsh.language()))


def _syntax_problems():
    spec = importlib.util.spec_from_file_location("check_ps1_syntax", ROOT / "scripts" / "check_ps1_syntax.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.syntax_problems


syntax_problems = _syntax_problems()


def raw(name: str) -> str:
    return (PAYLOADS / f"{name}.ps1").read_text(encoding="utf-8-sig")


def top_level(text: str):
    return [n for n in PARSER.parse(text.encode("utf-8")).root_node.children if n.type != "comment"]


@pytest.fixture
def payload_dir(tmp_path, monkeypatch):
    """An empty payload folder with a lib folder, in place of the collection's."""
    (tmp_path / "lib").mkdir()
    monkeypatch.setattr(_payload, "PAYLOAD_DIR", str(tmp_path))
    monkeypatch.setattr(_payload, "_cache", {})
    return tmp_path


# ---------------------------------------------------------------------------------- the shipped payloads


#: the libraries each payload that includes any takes, in order (every win_vss_backup payload takes vss_common)
INCLUDES = {
    **{name: ["vss_common"] for name in VSS_PAYLOADS},
    "win_vss_backup_start": ["vss_common", "job_task"],
    "win_vm_file_restore_mount": ["vss_common", "file_restore"],
    "win_vm_file_restore_start": ["vss_common", "file_restore", "job_task"],
    "win_vm_file_restore_status": ["vss_common", "file_restore"],
    "win_vm_file_restore_cleanup": ["vss_common", "file_restore"],
    "win_vm_file_restore_runner": ["vss_common"],
    "win_vm_restore_generations": ["vss_common"],
    "win_vm_restore_verify": ["vss_common"],
    "win_restic_read": ["vss_common", "job_task"],
    "win_vm_restore_restic_start": ["vss_common", "file_restore", "job_task"],
    "win_vm_restore_restic_runner": ["vss_common"],
}


def test_the_libraries_exist_and_each_payload_includes_its_own_right_after_its_param_block():
    assert [p.name for p in LIBRARIES] == ["file_restore.ps1", "job_task.ps1", "vss_common.ps1"]
    assert len(VSS_PAYLOADS) == 7, VSS_PAYLOADS
    for name in _payload.available_payloads():
        text = raw(name)
        wanted = INCLUDES.get(name, [])
        assert INCLUDE_LINE.findall(text) == wanted, name
        if not wanted:
            continue
        # the payload's own param() block stays the script's first statement; the include lines follow it
        first = top_level(text)[0]
        assert first.type == "param_block", name
        after = text.encode("utf-8")[first.end_byte :].decode("utf-8")
        assert after.startswith("\n" + "".join(f"#vaware:include {lib}\n" for lib in wanted)), name


@pytest.mark.parametrize("name", _payload.available_payloads())
def test_every_composed_payload_parses_and_keeps_its_param_block_first(name):
    composed = load_payload(name)
    assert syntax_problems(composed.encode("utf-8")) == [], name
    nodes = top_level(composed)
    assert nodes[0].type == "param_block", name
    assert ScriptedHost.declared_parameters(composed) == ScriptedHost.declared_parameters(raw(name))
    assert "#vaware:include" not in composed


def test_syntax_check_of_a_composed_payload_can_fail(payload_dir):
    (payload_dir / "lib" / "broken.ps1").write_text("function F {\n    if ($a) { 1 }\n", encoding="utf-8")
    (payload_dir / "p.ps1").write_text("param([string]$A)\n#vaware:include broken\n$x = 1\n", encoding="utf-8")
    assert syntax_problems((payload_dir / "p.ps1").read_bytes()) == []
    assert syntax_problems(load_payload("p").encode("utf-8")) != []


def test_no_composed_payload_or_library_deletes_every_shadow_copy():
    texts = {name: load_payload(name) for name in _payload.available_payloads()}
    texts.update({str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in LIBRARIES})
    assert [name for name, text in texts.items() if DELETE_ALL.search(text)] == []
    assert DELETE_ALL.search("vssadmin Delete\t Shadows  ALL /quiet")  # the check can fail


def test_composed_text_is_the_file_with_the_library_in_place_of_the_include_line():
    library = (PAYLOADS / "lib" / "vss_common.ps1").read_text(encoding="utf-8")
    for name in VSS_PAYLOADS:
        if INCLUDES[name] != ["vss_common"]:
            continue
        text = raw(name)
        expected = text.replace(
            "#vaware:include vss_common\n",
            "# ---- begin plugins/payloads/lib/vss_common.ps1 ----\n"
            + library
            + "# ---- end plugins/payloads/lib/vss_common.ps1 ----\n",
        )
        assert expected != text
        assert load_payload(name) == expected, name


def test_the_library_holds_functions_only():
    for path in LIBRARIES:
        nodes = top_level(path.read_text(encoding="utf-8"))
        assert [n.type for n in nodes] == ["statement_list"], path.name
        assert {n.type for n in nodes[0].children} == {"function_statement"}, path.name
    # the check can fail: a statement at the top runs when the payload starts
    nodes = top_level("function F { 1 }\n$x = 1\n")
    assert {n.type for n in nodes[0].children} != {"function_statement"}


def test_one_place_for_each_function_of_the_vss_payloads():
    library = set(FUNCTION.findall((PAYLOADS / "lib" / "vss_common.ps1").read_text(encoding="utf-8")))
    assert {"Invoke-Tool", "Remove-ShadowCopiesById", "Test-PathUnder", "Read-JsonFile"} <= library
    seen = {}
    for name in VSS_PAYLOADS:
        for function in FUNCTION.findall(raw(name)):
            assert function not in library, f"{name} defines {function} again; it is in lib/vss_common.ps1"
            assert function not in seen, f"{function} is defined in {seen.get(function)} and {name}"
            seen[function] = name


def test_shadow_copies_are_deleted_by_id_in_one_place_only():
    deleting = [name for name in VSS_PAYLOADS if re.search(r"Remove-CimInstance|'delete', 'shadows'", raw(name))]
    assert deleting == []
    library = (PAYLOADS / "lib" / "vss_common.ps1").read_text(encoding="utf-8")
    body = library[library.index("function Remove-ShadowCopiesById") :]
    body = body[: body.index("\n}\n")]
    assert "[guid]::TryParse(" in body and "Win32_ShadowCopy" in body
    assert "@('delete', 'shadows', \"/shadow=$braced\", '/quiet')" in body
    for name in ("win_vss_backup_cleanup", "win_vss_backup_runner"):
        assert "Remove-ShadowCopiesById -Ids" in raw(name), name


def test_the_scripted_host_names_a_payload_by_its_composed_text_only():
    host = ScriptedHost({"win_vss_backup_status": [ok({})]})
    with pytest.raises(AssertionError, match="not the composed text"):
        host.execute_module(module_name=_payload.WIN_POWERSHELL, module_args={"script": raw("win_vss_backup_status")})
    host.execute_module(
        module_name=_payload.WIN_POWERSHELL,
        module_args={"script": load_payload("win_vss_backup_status"), "parameters": {"JobId": "x"}},
    )
    assert host.calls[-1].payload == "win_vss_backup_status"


# ---------------------------------------------------------------------------------- bad includes


def test_unknown_library_fails_naming_payload_library_and_what_exists(payload_dir):
    (payload_dir / "lib" / "common.ps1").write_text("function F { 1 }\n", encoding="utf-8")
    (payload_dir / "p.ps1").write_text("param()\n#vaware:include nosuch\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"payload 'p' includes unknown library 'nosuch'; available libraries: common"):
        load_payload("p")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("param()\n#vaware:include common\n#vaware:include common\n", "includes library 'common' twice"),
        ("param()\n#vaware:include\n", "malformed include line"),
        ("param()\n  #vaware:include common\n", "malformed include line"),
        ("param()\n#vaware:include common extra\n", "malformed include line"),
        ("param()\n#vaware:include ../common\n", "unknown library '../common'"),
        ("param()\n#vaware:include nested\n", "libraries do not include others"),
    ],
)
def test_bad_includes_fail_clearly(payload_dir, text, message):
    (payload_dir / "lib" / "common.ps1").write_text("function F { 1 }\n", encoding="utf-8")
    (payload_dir / "lib" / "nested.ps1").write_text("#vaware:include common\nfunction G { 1 }\n", encoding="utf-8")
    (payload_dir / "p.ps1").write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(message)):
        load_payload("p")


def test_a_library_is_not_a_payload(payload_dir):
    (payload_dir / "lib" / "common.ps1").write_text("function F { 1 }\n", encoding="utf-8")
    (payload_dir / "p.ps1").write_text("param()\n#vaware:include common\nF\n", encoding="utf-8")
    assert _payload.available_payloads() == ["p"]
    assert _payload.available_libraries() == ["common"]
    with pytest.raises(ValueError, match="unknown payload 'common'"):
        load_payload("common")
    assert load_payload("p") == (
        "param()\n# ---- begin plugins/payloads/lib/common.ps1 ----\nfunction F { 1 }\n"
        "# ---- end plugins/payloads/lib/common.ps1 ----\nF\n"
    )
