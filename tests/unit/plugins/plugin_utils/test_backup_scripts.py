from __future__ import annotations

import re
import shlex

import pytest
import tree_sitter
import tree_sitter_batch
from hypothesis import event, given, settings
from hypothesis import strategies as st

from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.common import BackupPlanError
from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.scripts import (
    ScriptRenderError,
    parse_exit_codes,
    parse_source_hashes,
    parse_source_sizes,
    render_copy_wrapper,
    render_script,
    wrapper_exit_code,
)
from ansible_collections.vaware.hyperv.tests.support.backup_samples import GUID_DATA, JOB_DIR, plan, vm, vms

HYPERV_WRITER = "{66841cd4-6ded-4f4b-8f17-fd23f8ddc3de}"
RC_FILE = JOB_DIR + "\\robocopy-exit-codes.txt"


def _commands(text):
    return [line for line in text.split("\r\n") if line and not line.startswith("#")]


def _index(commands, prefix):
    return next(i for i, c in enumerate(commands) if c.startswith(prefix))


# ----------------------------------------------------------------------------- diskshadow script


def _plans():
    return [
        plan(),
        plan(backup_type="full"),
        plan(include_vms=["sql01"], require_hyperv_writer=False),
        plan(include_vms=[], extra_paths=["D:\\Scripts"]),
    ]


@pytest.mark.parametrize("p", _plans())
def test_script_is_ascii_with_crlf_line_ends(p):
    for text in (render_script(p), render_copy_wrapper(p)):
        text.encode("ascii")
        assert text.endswith("\r\n")
        assert "\n" not in text.replace("\r\n", "") and "\r" not in text.replace("\r\n", "")


@pytest.mark.parametrize("p", _plans())
def test_script_never_deletes_other_shadows(p):
    text = render_script(p)
    assert not re.search(r"delete\s+shadows\s+(all|volume|oldest|exposed)", text, re.IGNORECASE)
    deletes = [c for c in _commands(text) if c.upper().startswith("DELETE")]
    assert deletes == ["DELETE SHADOWS SET %VSS_SHADOW_SET%"]
    assert _commands(text)[-1] == deletes[0]


def test_script_for_a_copy_backup():
    p = plan(include_vms=["web01", "sql01"])
    assert _commands(render_script(p)) == [
        "SET CONTEXT PERSISTENT",
        f"SET METADATA {JOB_DIR}\\metadata.cab",
        "SET VERBOSE ON",
        f"WRITER VERIFY {HYPERV_WRITER}",
        # app01 and Test01 are not backed up but have files on D: (in the snapshot): the writer leaves them alone
        f"WRITER EXCLUDE {HYPERV_WRITER}:\\A0A0A0A0-0000-4000-8000-0000000000A0",
        f"WRITER EXCLUDE {HYPERV_WRITER}:\\7E570000-0000-4000-8000-000000000001",
        "ADD VOLUME D: ALIAS VAWVOL1",
        f"ADD VOLUME \\\\?\\Volume{GUID_DATA}\\ ALIAS VAWVOL2",
        "CREATE",
        f"EXPOSE %VAWVOL1% {JOB_DIR}\\mnt\\VAWVOL1",
        f"EXPOSE %VAWVOL2% {JOB_DIR}\\mnt\\VAWVOL2",
        f"EXEC {JOB_DIR}\\copy.cmd",
        f"UNEXPOSE {JOB_DIR}\\mnt\\VAWVOL2",
        f"UNEXPOSE {JOB_DIR}\\mnt\\VAWVOL1",
        "DELETE SHADOWS SET %VSS_SHADOW_SET%",
    ]


def test_full_backup_brackets_the_shadow_and_copy_with_begin_and_end_backup():
    copy_text = render_script(plan())
    assert "BEGIN BACKUP" not in copy_text and "END BACKUP" not in copy_text
    commands = _commands(render_script(plan(backup_type="full")))
    begin, end = commands.index("BEGIN BACKUP"), commands.index("END BACKUP")
    assert commands.index(f"WRITER VERIFY {HYPERV_WRITER}") < begin < _index(commands, "ADD VOLUME")
    assert max(i for i, c in enumerate(commands) if c.startswith("UNEXPOSE")) < end
    assert end == len(commands) - 2  # only the deletion of this job's shadow set follows


def test_writer_verify_only_when_vms_are_planned_and_required():
    assert f"WRITER VERIFY {HYPERV_WRITER}" in render_script(plan(include_vms=["web01"]))
    assert "WRITER VERIFY" not in render_script(plan(include_vms=["web01"], require_hyperv_writer=False))
    assert "WRITER VERIFY" not in render_script(plan(include_vms=[], extra_paths=["D:\\Scripts"]))
    # the VMs on the snapshotted D: are still left out of the writer when only extra paths are copied
    assert "WRITER EXCLUDE" in render_script(plan(include_vms=[], extra_paths=["D:\\Scripts"]))


@pytest.mark.parametrize("p", _plans())
def test_every_volume_is_added_with_an_alias_and_exposed_on_its_job_folder(p):
    commands = _commands(render_script(p))
    create, exec_at = commands.index("CREATE"), _index(commands, "EXEC ")
    for volume in p["volumes"]:
        add = f"ADD VOLUME {volume['add_as']} ALIAS {volume['alias']}"
        expose = f"EXPOSE %{volume['alias']}% {volume['mount_folder']}"
        unexpose = f"UNEXPOSE {volume['mount_folder']}"
        assert commands.index(add) < create < commands.index(expose) < exec_at < commands.index(unexpose)
        assert volume["mount_folder"].startswith(JOB_DIR + "\\mnt\\")
    exposed = [c.split(" ", 2)[2] for c in commands if c.startswith("EXPOSE")]
    assert not any(re.fullmatch(r"[A-Za-z]:\\?", target) for target in exposed)


@pytest.mark.parametrize(
    ("job_dir", "bad"),
    [
        ("C:\\Program Data\\jobs\\j1", "space"),
        ("C:\\Daten\\Sicherung\u00e4\\j1", "non-ASCII"),
        ("C:\\jobs%TEMP%\\j1", "%"),
        ("C:\\job's\\j1", "quote"),
    ],
)
def test_paths_diskshadow_cannot_express_are_refused_before_anything_runs(job_dir, bad):
    with pytest.raises(ScriptRenderError, match="diskshadow cannot express") as err:
        plan(job_dir=job_dir)
    assert f"'{job_dir}\\metadata.cab'" in str(err.value)


def test_render_refuses_a_tampered_plan():
    p = plan()
    p["volumes"][0]["add_as"] = "D: ALIAS X\r\nDELETE SHADOWS ALL"
    with pytest.raises(ScriptRenderError, match="diskshadow cannot express"):
        render_script(p)
    p = plan()
    p["volumes"][0]["alias"] = "VSS_SHADOW_SET"
    with pytest.raises(ScriptRenderError, match="alias"):
        render_script(p)
    p = plan()
    p["job_id"] = "j1\nDELETE SHADOWS ALL"
    with pytest.raises(ScriptRenderError, match="job_id"):
        render_script(p)
    with pytest.raises(ScriptRenderError, match="job_id"):
        render_copy_wrapper(p)


def test_a_line_break_at_the_end_of_a_value_is_not_overlooked():
    with pytest.raises(BackupPlanError, match="job_id"):
        plan(job_id="j1\n")
    with pytest.raises(BackupPlanError, match="does not allow"):
        plan(job_dir=JOB_DIR + "\nDELETE SHADOWS ALL")
    assert plan(job_dir=JOB_DIR + "\n")["job_dir"] == JOB_DIR  # surrounding white space is trimmed


# ---------------------------------------------------------------------------------- copy wrapper


def _robocopy_lines(text):
    return [c for c in _commands(text) if c.startswith("robocopy ")]


def _args(line):
    return shlex.split(line, posix=False)


def test_wrapper_runs_robocopy_with_the_safe_flags_on_every_line():
    p = plan(copy_threads=16, retry=3, wait=10, extra_paths=["D:\\Scripts"])
    lines = _robocopy_lines(render_copy_wrapper(p))
    assert len(lines) == 2 * len(p["steps"])
    for line in lines:
        args = _args(line)
        for flag in ("/B", "/COPY:DAT", "/DCOPY:T", "/R:3", "/W:10", "/MT:16", "/NP", "/BYTES", "/XJ"):
            assert flag in args, (flag, line)
        assert f'/UNILOG+:"{JOB_DIR}\\robocopy.log"' in args
        assert not any(a.upper() in ("/V", "/MIR", "/PURGE", "/MOV", "/MOVE", "/ZB") for a in args)


def test_vm_steps_name_their_files_and_extra_paths_copy_trees():
    p = plan(include_vms=["sql01"], extra_paths=["D:\\Scripts"])
    lines = _robocopy_lines(render_copy_wrapper(p))
    vm_line, extra_line = lines[0], lines[-1]
    args = _args(vm_line)
    assert args[1:3] == [
        f'"{JOB_DIR}\\mnt\\VAWVOL1\\sql01\\Virtual Machines"',
        '"\\\\nas01\\backups\\HV01\\20261125T020000Z\\sql01\\Virtual Machines"',
    ]
    assert args[3] == '"77AA0000-0000-4000-8000-000000000077.vmcx"'
    assert "/E" not in args
    assert "/E" in _args(extra_line)


def test_unbuffered_io_splits_each_step_into_large_and_small_passes():
    lines = _robocopy_lines(render_copy_wrapper(plan(include_vms=["web01"], unbuffered_min_size=1000)))
    large, small = _args(lines[0]), _args(lines[1])
    assert "/J" in large and "/MIN:1000" in large and not any(a.startswith("/MAX") for a in large)
    assert "/J" not in small and "/MAX:999" in small and not any(a.startswith("/MIN") for a in small)


@pytest.mark.parametrize(("size", "unbuffered"), [(0, True), (None, False)])
def test_unbuffered_io_for_every_file_or_none_uses_one_pass(size, unbuffered):
    p = plan(include_vms=["web01"], unbuffered_min_size=size)
    lines = _robocopy_lines(render_copy_wrapper(p))
    assert len(lines) == len(p["steps"])
    for line in lines:
        args = _args(line)
        assert ("/J" in args) is unbuffered
        assert not any(a.startswith(("/MIN", "/MAX")) for a in args)


def test_long_file_lists_are_split_over_several_robocopy_lines():
    names = [f"D:\\Big\\{'d' * 40}{n:04d}.avhdx" for n in range(400)]
    p = plan([vm("big", *names)], unbuffered_min_size=None)
    lines = _robocopy_lines(render_copy_wrapper(p))
    assert len(lines) > 1 and all(len(line) < 8000 for line in lines)
    listed = [a.strip('"') for line in lines for a in _args(line)[3:] if not a.startswith("/")]
    assert listed == [n.rsplit("\\", 1)[1] for n in names]


# A small interpreter for exactly the batch subset the wrapper uses. Any other line fails the test,
# so the wrapper cannot grow constructs these tests do not understand.
class FakeCmd:
    def __init__(self, robocopy_codes, sizes=None):
        self.codes = list(robocopy_codes)
        self.sizes = dict(sizes or {})  # path in the shadow copy -> size (absent: cmd prints no size)
        self.env = {}
        self.files = {}
        self.robocopy_calls = []
        self.errorlevel = 0

    def expand(self, text):
        def var(match):
            name = match.group(1)
            if name.upper() == "ERRORLEVEL" and "ERRORLEVEL" not in self.env:
                return str(self.errorlevel)
            return self.env.get(name.upper(), "")

        return re.sub(r"%([A-Za-z_][A-Za-z0-9_]*)%", var, text)

    def run(self, text):
        for raw in text.split("\r\n"):
            line = self.expand(raw)
            if not line or line == "@echo off" or line.startswith("rem ") or line.startswith("setlocal "):
                continue
            if m := re.fullmatch(r'set "([A-Za-z_]+)=(.*)"', line):
                if m.group(2):
                    self.env[m.group(1).upper()] = m.group(2)
                else:
                    self.env.pop(m.group(1).upper(), None)
            elif line.startswith("robocopy "):
                self.robocopy_calls.append(line)
                self.errorlevel = self.codes.pop(0)
            elif m := re.fullmatch(r'for %%F in \("([^"]+)"\) do >>"([^"]+)" echo (\S+) %%~zF', line):
                size = self.sizes.get(m.group(1))
                value = "" if size is None else str(size)
                self.files[m.group(2)] = self.files.get(m.group(2), "") + f"{m.group(3)} {value}".rstrip() + "\r\n"
            elif m := re.fullmatch(r'(>>?)"([^"]+)" echo (.*)', line):
                previous = self.files.get(m.group(2), "") if m.group(1) == ">>" else ""
                self.files[m.group(2)] = previous + m.group(3) + "\r\n"
            elif m := re.fullmatch(r'if (-?\d+) GEQ (\d+) set "([A-Za-z_]+)=(.*)"', line):
                if int(m.group(1)) >= int(m.group(2)):
                    self.env[m.group(3).upper()] = m.group(4)
            elif line.startswith("attrib "):
                self.errorlevel = 0
            elif m := re.fullmatch(r"exit /b (\d+)", line):
                return int(m.group(1))
            else:
                raise AssertionError(f"the copy wrapper uses a construct the test does not know: {raw!r}")
        raise AssertionError("the copy wrapper ended without exit /b")


def _run_wrapper(p, codes):
    fake = FakeCmd(codes)
    exit_code = fake.run(render_copy_wrapper(p))
    assert not fake.codes, "every planned robocopy run must happen"
    return exit_code, fake


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        ([0, 0, 0, 0], 0),
        ([1, 0, 1, 0], 0),
        ([3, 7, 2, 5], 0),
        ([1, 8, 1, 0], 1),
        ([16, 0, 0, 0], 1),
        ([1, 1, 1, 9], 1),
    ],
)
def test_wrapper_maps_robocopy_codes_and_records_the_real_ones(codes, expected):
    p = plan(include_vms=["web01"])  # two steps, two passes each
    exit_code, fake = _run_wrapper(p, codes)
    assert exit_code == expected == wrapper_exit_code(codes)
    recorded = parse_exit_codes(fake.files[RC_FILE])
    assert [r["code"] for r in recorded["runs"]] == codes
    assert [(r["step"], r["pass"]) for r in recorded["runs"]] == [
        ("s001", "large"),
        ("s001", "small"),
        ("s002", "large"),
        ("s002", "small"),
    ]
    assert recorded["finished"] and recorded["exit_code"] == expected
    assert recorded["steps"] == {"s001": max(codes[:2]), "s002": max(codes[2:])}
    assert fake.files[RC_FILE].startswith(f"begin {p['job_id']}\r\n")


def test_wrapper_keeps_copying_the_other_vms_after_a_failure():
    p = plan(include_vms=["web01", "sql01"], unbuffered_min_size=None)
    codes = [8, 16] + [1] * (len(p["steps"]) - 2)
    exit_code, fake = _run_wrapper(p, codes)
    assert exit_code == 1
    assert len(fake.robocopy_calls) == len(p["steps"])
    steps = parse_exit_codes(fake.files[RC_FILE])["steps"]
    assert [steps[s] for s in p["vms"][1]["steps"]] == [1] * len(p["vms"][1]["steps"])


def test_wrapper_ignores_an_inherited_errorlevel_variable():
    fake = FakeCmd([8])
    fake.env["ERRORLEVEL"] = "0"  # a user variable would otherwise hide robocopy's code
    assert fake.run(render_copy_wrapper(plan([vm("v", "D:\\V\\v.vhdx")], unbuffered_min_size=None))) == 1


def test_parse_exit_codes_tolerates_a_cut_off_file_and_noise():
    parsed = parse_exit_codes("begin j\r\ns001 large 1\ngarbage line\ns001 small 9\r\ns002 all")
    assert parsed == {
        "runs": [{"step": "s001", "pass": "large", "code": 1}, {"step": "s001", "pass": "small", "code": 9}],
        "steps": {"s001": 9},
        "finished": False,
        "exit_code": None,
    }
    assert parse_exit_codes("")["steps"] == {}


def test_copies_of_a_volume_root_lose_the_hidden_attribute_robocopy_gives_them():
    p = plan(include_vms=[], extra_paths=["E:\\"], destination="\\\\nas01\\b")
    commands = _commands(render_copy_wrapper(p))
    assert 'attrib -H -S "\\\\nas01\\b\\HV01\\20261125T020000Z\\_extra_paths\\E"' in commands
    p = plan([vm("rooted", "E:\\rooted.vhdx"), vm("deep", "E:\\VMs\\deep.vhdx")], destination="\\\\nas01\\b")
    attribs = [c for c in _commands(render_copy_wrapper(p)) if c.startswith("attrib")]
    assert attribs == ['attrib -H -S "\\\\nas01\\b\\HV01\\20261125T020000Z\\rooted"']


HOSTILE = ["x & del /q C:\\*", "50%off", "caret^x", "bang!", "Caf\u00e9", "tab\u2028x"]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_vm_names_are_refused_with_the_name(name):
    with pytest.raises(BackupPlanError) as err:
        plan(vms(vm(name, "D:\\VMs\\x.vhdx")), include_vms=[name])
    shown = name.replace("\u2028", "\\u2028")  # unprintable characters are shown escaped
    assert f"'{shown}'" in str(err.value)


@pytest.mark.parametrize("name", ["a&b.vhdx", "a%PATH%.vhdx", "a^b.vhdx", "a!b.vhdx", "\u00fcber.vhdx"])
def test_hostile_file_names_are_refused(name):
    with pytest.raises(ScriptRenderError, match="hostile01"):
        plan([vm("hostile01", "D:\\VMs\\" + name)])


@pytest.mark.parametrize("path", ["D:\\R&D", "D:\\100%", "D:\\Gr\u00fc\u00dfe"])
def test_hostile_extra_paths_and_destinations_are_refused(path):
    with pytest.raises(ScriptRenderError):
        plan(include_vms=[], extra_paths=[path])
    with pytest.raises(ScriptRenderError):
        plan(include_vms=["web01"], destination=path.replace("D:", "E:"))


@pytest.mark.parametrize("char", list('%^&|<>"!'))
def test_every_cmd_special_character_is_refused_in_a_tampered_plan(char):
    p = plan(include_vms=["web01"])
    p["steps"][0]["destination_dir"] += char
    with pytest.raises(ScriptRenderError, match=r"cmd\.exe would interpret"):
        render_copy_wrapper(p)


# ------------------------------------------------------------------ property: nothing hostile renders

_SAFE_CHARS = "abcXYZ019 -_.'()[]{};=,~#@$+"
CMD_SPECIALS = list('%^&|<>"!')  # written out here, not taken from the code under test
_HOSTILE = CMD_SPECIALS + list(":?*/\t") + ["\u00e9", "\u00fc", "\u2028", "\x00"]


def _maybe_hostile(parts):
    text, bad, at = parts
    return text if bad is None else text[:at] + bad + text[at:]


_NAMES = st.tuples(
    st.text(st.sampled_from(_SAFE_CHARS), min_size=1, max_size=8),
    st.none() | st.none() | st.sampled_from(_HOSTILE),
    st.integers(0, 8),
).map(_maybe_hostile)
_SAFE_PERCENT = re.compile(r"%(VAW_RC|VAW_HRC|VAW_EXIT|ERRORLEVEL|VSS_SHADOW_SET|VAWVOL\d+)%")
# The one fixed redirection the hashing lines carry (certutil's errors go to the hash file too).
_CERTUTIL_STDERR = re.compile(r'^(>>"[^"]+") 2>&1 (certutil -hashfile "[^"]+" SHA256)$')
# The one for loop (cmd.exe reads a file's size in the shadow copy): its fixed %%F / %%~zF and its
# redirection after "do" are the wrapper's own; the path is checked like any other value.
_SIZE_FOR = re.compile(r'^for %%F in \(("[^"]+")\) do (>>"[^"]+") echo vaware-size %%~zF$')


@settings(max_examples=150, deadline=None)
@given(
    name=_NAMES,
    folder=_NAMES,
    file_name=_NAMES,
)
def test_a_plan_either_is_refused_or_renders_without_anything_cmd_or_diskshadow_would_interpret(
    name, folder, file_name
):
    try:
        p = plan([vm(name, f"D:\\{folder}\\{file_name}")])
    except BackupPlanError:
        event("refused")
        return
    event("rendered")
    wrapper, script = render_copy_wrapper(p), render_script(p)
    hashing = render_copy_wrapper(p, hash_sources=True)
    certutil_lines = [line for line in hashing.split("\r\n") if "certutil -hashfile" in line]
    assert len(certutil_lines) == 1 and _CERTUTIL_STDERR.match(certutil_lines[0])
    hashing = "\r\n".join(_CERTUTIL_STDERR.sub(r"\1 \2", line) for line in hashing.split("\r\n"))
    for text in (wrapper, hashing):
        assert len([line for line in text.split("\r\n") if _SIZE_FOR.match(line)]) == 1
        assert len([line for line in text.split("\r\n") if line.startswith("for ")]) == 1
    wrapper, hashing = (
        "\r\n".join(_SIZE_FOR.sub(r"\2 echo vaware-size \1", line) for line in text.split("\r\n"))
        for text in (wrapper, hashing)
    )
    for text in (wrapper, script, hashing):
        text.encode("ascii")
        assert not re.search(r"[&|<^!]", text)
        assert "%" not in _SAFE_PERCENT.sub("", text)
    for text in (wrapper, hashing):
        for line in text.split("\r\n"):
            assert line.count('"') % 2 == 0, line
            assert ">" not in line.lstrip(">")
        assert len(re.findall(r"(?m)^robocopy ", text)) == 2


# ------------------------------------------------------------------ syntax gate (tree-sitter-batch)

_BATCH = tree_sitter.Parser(tree_sitter.Language(tree_sitter_batch.language()))
_ALLOWED_STATEMENTS = {
    "echo_off",
    "comment",
    "setlocal_stmt",
    "variable_assignment",
    "redirect_stmt",
    "cmd",
    "if_stmt",
    "exit_stmt",
    "for_stmt",
}


def _walk(node):
    yield node
    for child in node.children:
        yield from _walk(child)


def _check_wrapper_syntax(p, hash_sources=False):
    """The wrapper parses cleanly and holds only the statements it is meant to hold."""
    text = render_copy_wrapper(p, hash_sources=hash_sources)
    # tree-sitter-batch ends a for set at a ')' even inside quotes, which cmd.exe does not: the quoted
    # path of the size loop is masked for the parser (the path itself is checked like every other value)
    masked, count = re.subn(r'(?m)^(for %%F in \(")[^"%\r\n]+("\) do )', r"\1X\2", text)
    assert count == len(re.findall(r"(?mi)^\s*for\b", text))
    root = _BATCH.parse(masked.encode("ascii")).root_node
    broken = [n for n in _walk(root) if n.type == "ERROR" or n.is_missing]
    assert not broken, [(n.start_point, n.text) for n in broken]
    assert {c.type for c in root.children} <= _ALLOWED_STATEMENTS
    forbidden = {"command_sep", "pipe_stmt", "cond_exec", "call_stmt", "for_stmt", "goto_stmt", "fd_redirect"}
    for statement in root.children:
        found = {n.type for n in _walk(statement) if n.type in forbidden}
        names = {n.text.decode().lower() for n in _walk(statement) if n.type == "command_name"}
        if hash_sources and names == {"certutil"}:
            # the one exception: certutil's stderr joins its stdout in the hash file (2>&1)
            assert [n.text for n in _walk(statement) if n.type == "fd_redirect"] == [b"2>&1"]
            found.discard("fd_redirect")
        if statement.type == "for_stmt":
            # the one for loop: cmd.exe reads a file's size in the shadow copy into the size file
            assert re.fullmatch(
                rb'for %%F in \("X"\) do >>"[^"]+source-sizes\.txt" echo vaware-size %%~zF', statement.text
            ), statement.text
            found.discard("for_stmt")
        assert not found, (statement.text, found)
    names = {n.text.decode().lower() for n in _walk(root) if n.type == "command_name"}
    assert names <= {"robocopy", "attrib", "echo", *(["certutil"] if hash_sources else [])}, names
    targets = {n.text.decode() for n in _walk(root) if n.type == "redirect_target"}
    expected = {f'"{p["job_files"]["exit_codes"]}"', f'"{p["job_files"]["source_sizes"]}"'}
    if hash_sources:
        expected.add(f'"{p["job_files"]["source_hashes"]}"')
    assert targets == expected


@pytest.mark.parametrize("hash_sources", [False, True])
@pytest.mark.parametrize("p", _plans())
def test_wrapper_passes_the_batch_syntax_gate(p, hash_sources):
    _check_wrapper_syntax(p, hash_sources)


def test_syntax_gate_catches_a_broken_wrapper():
    broken = _BATCH.parse(b'@echo off\r\nif %VAW_RC% GEQ (\r\nset "VAW_EXIT=1\r\n').root_node
    assert [n for n in _walk(broken) if n.type == "ERROR" or n.is_missing]
    chained = _BATCH.parse(b'robocopy "a" "b" & del /q C:\\x\r\n').root_node
    assert "command_sep" in {n.type for n in _walk(chained)}


@settings(max_examples=100, deadline=None)
@given(name=_NAMES, folder=_NAMES, file_name=_NAMES)
def test_every_renderable_plan_passes_the_batch_syntax_gate(name, folder, file_name):
    try:
        p = plan([vm(name, f"D:\\{folder}\\{file_name}")], extra_paths=[f"E:\\{folder}"])
    except BackupPlanError:
        return
    _check_wrapper_syntax(p)
    _check_wrapper_syntax(p, hash_sources=True)


# ------------------------------------------------------------ verify: hash, source hashes in the shadow

EMPTY_SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
VHDX_SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def _spaced(digest):
    """The digest as certutil on older Windows prints it: byte pairs separated by spaces."""
    return " ".join(digest[i : i + 2] for i in range(0, 64, 2))


def _certutil_ok(path, digest, spaced=False):
    return [
        f"SHA256 hash of {path}:",
        _spaced(digest) if spaced else digest,
        "CertUtil: -hashfile command completed successfully.",
    ]


def _record(path, output, code):
    return [f"vaware-file {path}", *output, *([] if code is None else [f"vaware-exit {code}"])]


def test_hashing_wrapper_hashes_every_planned_vm_file_in_the_shadow_after_its_copy():
    p = plan(extra_paths=["D:\\Scripts"])
    text = render_copy_wrapper(p, hash_sources=True)
    commands = _commands(text)
    hashed = re.findall(r'(?m)^>>"[^"]+" 2>&1 certutil -hashfile "([^"]+)" SHA256$', text.replace("\r\n", "\n"))
    planned = [f["shadow_path"] for v in p["vms"] for f in v["files"]]
    assert sorted(hashed) == sorted(planned) and len(hashed) == len(set(hashed))
    extra_source = next(s["source_dir"] for s in p["steps"] if s["kind"] == "extra")
    assert not [h for h in hashed if h.startswith(extra_source + "\\")]  # extra paths: not enumerated, not hashed
    for step in p["steps"]:
        for name in step["files"] or []:
            where = _index(
                commands, f'>>"{JOB_DIR}\\source-hashes.txt" 2>&1 certutil -hashfile "{step["source_dir"]}\\{name}"'
            )
            last_copy = max(i for i, c in enumerate(commands) if c.startswith(f'robocopy "{step["source_dir"]}" '))
            assert where > last_copy  # hashed once the step's copy ran
            assert (
                commands[where - 1] == f'>>"{JOB_DIR}\\source-hashes.txt" echo vaware-file {step["source_dir"]}\\{name}'
            )
            assert commands[where + 1 : where + 3] == [
                'set "VAW_HRC=%ERRORLEVEL%"',
                f'>>"{JOB_DIR}\\source-hashes.txt" echo vaware-exit %VAW_HRC%',
            ]
    assert f'>"{JOB_DIR}\\source-hashes.txt" echo begin {p["job_id"]}' in commands
    # a failing certutil never changes what the wrapper returns (a non-zero EXEC aborts diskshadow)
    assert not [c for c in commands if "VAW_HRC" in c and "VAW_EXIT" in c]
    assert commands[-1] == "exit /b %VAW_EXIT%"
    # the robocopy part is the wrapper without hashing, unchanged
    plain = _commands(render_copy_wrapper(p))
    assert [c for c in commands if "source-hashes" not in c and "VAW_HRC" not in c and "certutil" not in c] == plain
    assert "certutil" not in render_copy_wrapper(p) and "source-hashes" not in render_copy_wrapper(p)


def test_hashing_needs_a_hash_file_in_the_plan():
    p = plan(include_vms=["web01"])
    del p["job_files"]["source_hashes"]
    render_copy_wrapper(p)  # without hashing nothing is missing
    with pytest.raises(ScriptRenderError, match="source_hashes"):
        render_copy_wrapper(p, hash_sources=True)


def test_parse_source_hashes_reads_certutil_as_windows_prints_it():
    a = "C:\\ProgramData\\vaware.hyperv\\jobs\\j\\mnt\\VAWVOL1\\Hyper-V\\web01\\Virtual Hard Disks\\web01.vhdx"
    b = "C:\\ProgramData\\vaware.hyperv\\jobs\\j\\mnt\\VAWVOL1\\Hyper-V\\web01\\Virtual Machines\\X.vmcx"
    c = "C:\\ProgramData\\vaware.hyperv\\jobs\\j\\mnt\\VAWVOL2\\db01\\db01.vhdx"
    lines = [
        "begin 20261125T020000Z-0123abcd",
        *_record(a, _certutil_ok(a, VHDX_SHA.upper()), 0),  # upper case is read as lower case
        *_record(b, _certutil_ok(b, EMPTY_SHA, spaced=True), 0),  # older Windows: byte pairs with spaces
        *_record(
            c,
            [
                "CertUtil: -hashfile command FAILED: 0x80070005 (WIN32: 5 ERROR_ACCESS_DENIED)",
                "CertUtil: Access is denied.",
            ],
            -2147024891,
        ),
    ]
    records = parse_source_hashes("\r\n".join(lines) + "\r\n")
    assert [r["path"] for r in records] == [a, b, c]
    assert records[0] == {"path": a, "sha256": VHDX_SHA, "exit_code": 0, "error": None}
    assert records[1]["sha256"] == EMPTY_SHA and records[1]["error"] is None
    assert records[2]["sha256"] is None and records[2]["exit_code"] == -2147024891
    assert "ERROR_ACCESS_DENIED" in records[2]["error"] and "Access is denied." in records[2]["error"]


def test_parse_source_hashes_anchors_on_the_digest_line_not_on_words():
    # German Windows, OEM code page read as UTF-8 (the umlaut arrives as a replacement character); the
    # file name itself is 64 hex digits, which must not be taken for the digest.
    name = "C:\\jobs\\j\\mnt\\VAWVOL1\\vms\\" + "ab" * 32
    text = "\n".join(
        _record(
            name,
            [
                f"SHA256-Hash von {name}:",
                VHDX_SHA,
                "CertUtil: -hashfile-Befehl wurde erfolgreich ausgef\ufffdhrt.",
            ],
            0,
        )
    )
    (record,) = parse_source_hashes(text)
    assert record["sha256"] == VHDX_SHA and record["path"] == name


def test_parse_source_hashes_reads_utf16_text_decoded_byte_by_byte():
    path = "C:\\jobs\\j\\mnt\\VAWVOL1\\a.vhdx"
    utf16 = "\r\n".join(_record(path, _certutil_ok(path, VHDX_SHA), 0)).encode("utf-16-le")
    (record,) = parse_source_hashes(utf16.decode("latin-1"))
    assert record["sha256"] == VHDX_SHA and record["path"] == path


@pytest.mark.parametrize(
    ("output", "code", "reason"),
    [
        (_certutil_ok("x", VHDX_SHA), None, r"did not finish"),  # wrapper stopped before the exit line
        (_certutil_ok("x", VHDX_SHA), 1, r"exit code 1"),  # a digest without success does not count
        (["SHA256 hash of x:", "CertUtil: -hashfile command completed successfully."], 0, r"no digest line"),
        ([VHDX_SHA, EMPTY_SHA], 0, r"more than one digest line"),
        (["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0"], 0, r"no digest line"),  # 63 digits
        ([VHDX_SHA + "0"], 0, r"no digest line"),  # 65 digits
        ([], None, r"did not finish"),
    ],
)
def test_parse_source_hashes_gives_no_digest_unless_certutil_succeeded_with_exactly_one(output, code, reason):
    (record,) = parse_source_hashes("\r\n".join(_record("C:\\m\\a.vhdx", output, code)))
    assert record["sha256"] is None
    assert re.search(reason, record["error"]), record["error"]


def test_parse_source_hashes_of_nothing_and_of_a_cut_off_file():
    assert parse_source_hashes(None) == [] and parse_source_hashes("") == []
    assert parse_source_hashes("begin x\r\nnoise\r\n" + VHDX_SHA + "\r\n") == []  # no record started
    cut = "\r\n".join(_record("C:\\m\\a.vhdx", _certutil_ok("a", VHDX_SHA), 0) + _record("C:\\m\\b.vhdx", [], None))
    first, second = parse_source_hashes(cut)
    assert first["sha256"] == VHDX_SHA and second["sha256"] is None and second["exit_code"] is None


def test_what_the_wrapper_writes_is_what_the_parser_reads():
    """Run the hashing lines of a rendered wrapper the way cmd.exe would and read the result back."""
    p = plan()
    out = []
    digests = {}
    for line in render_copy_wrapper(p, hash_sources=True).split("\r\n"):
        echo = re.match(r'^>{1,2}"[^"]+source-hashes\.txt" echo (.*)$', line)
        run = re.match(r'^>>"[^"]+" 2>&1 certutil -hashfile "([^"]+)" SHA256$', line)
        if echo:
            out.append(echo.group(1).replace("%VAW_HRC%", "0"))
        elif run:
            digests[run.group(1)] = format(len(digests) + 1, "064x")
            out.extend(_certutil_ok(run.group(1), digests[run.group(1)]))
    records = parse_source_hashes("\r\n".join(out) + "\r\n")
    assert {r["path"]: r["sha256"] for r in records} == digests
    assert set(digests) == {f["shadow_path"] for v in p["vms"] for f in v["files"]}


# ---------------------------------------------------------------- source sizes in the shadow copy


def test_wrapper_records_the_size_of_every_planned_vm_file_in_the_shadow_after_its_copy():
    p = plan(extra_paths=["D:\\Scripts"])
    text = render_copy_wrapper(p)
    commands = _commands(text)
    sized = re.findall(
        r'(?m)^for %%F in \("([^"]+)"\) do >>"[^"]+" echo vaware-size %%~zF$', text.replace("\r\n", "\n")
    )
    planned = [f["shadow_path"] for v in p["vms"] for f in v["files"]]
    assert sorted(sized) == sorted(planned) and len(sized) == len(set(sized))
    extra_source = next(s["source_dir"] for s in p["steps"] if s["kind"] == "extra")
    assert not [x for x in sized if x.startswith(extra_source + "\\")]  # extra paths are not enumerated
    for step in p["steps"]:
        for name in step["files"] or []:
            path = f"{step['source_dir']}\\{name}"
            where = _index(commands, f'for %%F in ("{path}") do')
            last_copy = max(i for i, c in enumerate(commands) if c.startswith(f'robocopy "{step["source_dir"]}" '))
            assert where > last_copy
            assert commands[where - 1] == f'>>"{JOB_DIR}\\source-sizes.txt" echo vaware-file {path}'
    assert f'>"{JOB_DIR}\\source-sizes.txt" echo begin {p["job_id"]}' in commands
    assert commands[-1] == "exit /b %VAW_EXIT%"


def test_sizes_the_wrapper_writes_are_what_the_parser_reads_and_a_missing_size_is_not_fatal():
    """The wrapper run the way cmd.exe would: one file's size cannot be read (cmd prints nothing)."""
    p = plan()
    planned = [f["shadow_path"] for v in p["vms"] for f in v["files"]]
    sizes = {path: 5 * 1024**3 + n for n, path in enumerate(planned)}
    unreadable = planned[1]
    del sizes[unreadable]
    fake = FakeCmd([1] * 20, sizes=sizes)
    assert fake.run(render_copy_wrapper(p)) == 0
    records = parse_source_sizes(fake.files[p["job_files"]["source_sizes"]])
    assert [r["path"] for r in records] == planned
    assert {r["path"]: r["size"] for r in records if r["size"] is not None} == sizes
    (bad,) = [r for r in records if r["size"] is None]
    assert bad["path"] == unreadable and "could not read its size" in bad["error"]


def test_parse_source_sizes_of_a_cut_off_file_and_of_nothing():
    assert parse_source_sizes(None) == [] and parse_source_sizes("") == []
    text = "begin j\r\nvaware-file C:\\m\\a.vhdx\r\nvaware-size 42\r\nvaware-file C:\\m\\b.vhdx\r\n"
    first, second = parse_source_sizes(text)
    assert first == {"path": "C:\\m\\a.vhdx", "size": 42, "error": None}
    assert second["size"] is None and "stopped" in second["error"]
    (odd,) = parse_source_sizes("vaware-file C:\\m\\c.vhdx\r\nvaware-size 1.5\r\n")
    assert odd["size"] is None and "1.5" in odd["error"]


def test_excluded_vms_are_left_out_of_the_writer_only_when_they_have_files_on_a_snapshotted_volume():
    p = plan(include_vms=["sql01"])  # only the GUID-only Data volume is snapshotted
    # app01 has a disk there; web01 and Test01 live on D: alone, which the writer leaves out by itself
    assert p["writer_excluded_components"] == [
        {
            "vm": "app01",
            "id": "A0A0A0A0-0000-4000-8000-0000000000A0",
            "component": "\\A0A0A0A0-0000-4000-8000-0000000000A0",
        }
    ]
    excludes = [c for c in _commands(render_script(p)) if c.startswith("WRITER EXCLUDE")]
    assert excludes == [f"WRITER EXCLUDE {HYPERV_WRITER}:\\A0A0A0A0-0000-4000-8000-0000000000A0"]
    commands = _commands(render_script(p))
    assert commands.index(excludes[0]) < _index(commands, "ADD VOLUME")
    assert not [c for c in _commands(render_script(plan())) if c.startswith("WRITER EXCLUDE")]  # nothing excluded


def test_an_excluded_vm_without_an_id_on_a_snapshotted_volume_is_a_warning():
    odd = vm("odd01", "D:\\Hyper-V\\odd01\\odd01.vhdx", vm_id="not-a-guid")
    p = plan(vms(odd), include_vms=["web01"])
    assert "odd01" not in [c["vm"] for c in p["writer_excluded_components"]]
    assert any("odd01" in w and "cannot be told to leave it out" in w for w in p["warnings"])


def test_a_writer_component_that_is_not_a_vm_id_is_refused():
    p = plan(include_vms=["web01"])
    p["writer_excluded_components"] = [{"vm": "x", "component": '\\x" & del C:'}]
    with pytest.raises(ScriptRenderError, match="writer component of excluded VM"):
        render_script(p)
