"""ad_constrained_delegation with ``accounts`` (batch mode) against a real Samba AD DC.

Read-back is independent of the module: ``ldbsearch`` on the DC's database (``AD.delegation_of``) and
``samba-tool delegation show``; writes are counted where python-ldap sends them and as uSNChanged on the DC.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import textwrap
import time
import uuid

import pytest
import samba_dc

pytestmark = pytest.mark.samba

PYTHON = sys.executable
RUNNER = str(pathlib.Path(samba_dc.__file__).with_name("run_module.py"))
MODULE = "ad_constrained_delegation"
CIFS_FS01 = {"service": "cifs", "host": "fs01"}
FS01_SPNS = sorted(["cifs/FS01", "cifs/fs01.corp.example.test"], key=str.lower)
WORKSTATION = 0x1000
PROTOCOL_TRANSITION = 0x1000000
DONT_EXPIRE_PASSWORD = 0x10000
RIGHTS = "allowedAttributesEffective"
BASE, SUBTREE = 0, 2  # LDAP search scopes
BOB = {"server": samba_dc.DC_FQDN, "username": "bob", "password": "B0b!plain-user"}


def _searches(log):
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_batch_cold_then_warm_one_session_few_searches(ad):
    """40 accounts, shared defaults and per-entry settings: the cold run writes each once, the warm run nothing."""
    names = [f"BAT{i:02d}" for i in range(40)]
    accounts = [{"computer": name} for name in names]
    accounts[1] = {"computer": "BAT01", "services": [CIFS_FS01, "HOST/fs02"]}  # its own list
    accounts[2] = {"computer": "bat02.corp.example.test", "protocol_transition": False}  # DNS name, Kerberos only
    accounts[3] = {  # resource-based, written on FSB1 instead of BAT03
        "computer": "BAT03$",
        "services": [{"service": "cifs", "host": "fsb1"}],
        "mode": "resource_based",
    }
    args = {"accounts": accounts, "services": [CIFS_FS01], "protocol_transition": True}
    # chunks of 7 names and pages of 5 entries: the lookups need several OR-filter searches and several pages
    log = ad.dc.workdir / f"batch-searches-{uuid.uuid4().hex}.jsonl"
    env = {"VAWARE_LDAP_SEARCH_LOG": str(log), "VAWARE_TEST_LDAP_OR_CHUNK": "7", "VAWARE_TEST_LDAP_PAGE_SIZE": "5"}

    cold = ad.run(args, env=env)
    assert not cold.failed, cold.msg
    assert cold.result["changed"] is True
    assert cold.result["summary"] == {"accounts": 40, "changed": 40, "failed": 0, "unchanged": 0}
    entries = cold.result["accounts"]
    assert [e["computer"] for e in entries] == [a["computer"] for a in accounts], "results in the order given"
    assert all(e["changed"] and not e["failed"] for e in entries)

    state = ad.delegation_of("BAT")
    for name in names:
        got = state[name + "$"]
        if name == "BAT01":
            assert got["spns"] == sorted([*FS01_SPNS, "HOST/fs02"], key=str.lower)
        elif name == "BAT03":
            assert got["spns"] == [] and got["uac"] == WORKSTATION | PROTOCOL_TRANSITION
        else:
            assert got["spns"] == FS01_SPNS, (name, got)
        expected_uac = WORKSTATION if name == "BAT02" else WORKSTATION | PROTOCOL_TRANSITION
        assert got["uac"] == expected_uac, (name, got)
    bat03_dn = "CN=BAT03,CN=Computers,DC=corp,DC=example,DC=test"
    assert ad.dc.delegation_show("FSB1$")["resource_based"] == [bat03_dn]
    assert entries[3]["resource_based_targets"] == ["FSB1$"]
    # one modify per classic account (SPNs and flag together), the resource-based one on FSB1 plus its own flag
    modified = [w["dn"] for w in cold.writes]
    assert len(modified) == 41 and modified.count(bat03_dn) == 1, modified
    assert "CN=FSB1,CN=Computers,DC=corp,DC=example,DC=test" in modified

    cold_searches = _searches(log)
    rights = [s for s in cold_searches if RIGHTS in s["attrs"] and not s.get("cookie")]  # first pages: one per search
    lookups = [s for s in cold_searches if s["filter"].startswith("(|") and RIGHTS not in s["attrs"]]
    assert lookups and all(s["paged"] for s in lookups)
    # 40 accounts + 2 target hosts in chunks of 7 names (6 searches), the raw HOST/fs02's holders (1): never one each
    assert len({s["filter"] for s in lookups}) == 7, [s["filter"] for s in lookups]
    assert not [s for s in cold_searches if s["filter"] == "(sAMAccountName=BAT05$)"]
    # the rights of the 40 accounts and 2 target hosts: read in chunks of 7 when the first of each is written
    assert len(rights) == 6 and all(s["scope"] == SUBTREE and s["filter"].startswith("(|(objectSid=") for s in rights)

    log.unlink()
    usn = {name: got["usn"] for name, got in state.items()}
    warm = ad.run(args, env=env)
    assert not warm.failed, warm.msg
    assert warm.result["changed"] is False
    assert warm.result["summary"] == {"accounts": 40, "changed": 0, "failed": 0, "unchanged": 40}
    assert warm.writes == [], "a warm batch must not write"
    assert {name: got["usn"] for name, got in ad.delegation_of("BAT").items()} == usn
    # warm: the lookups, the rootDSE, the classic accounts' no-op plans need nothing more;
    # only the resource-based entry reads its target's descriptor
    warm_searches = _searches(log)
    per_account = [s for s in warm_searches if not s["filter"].startswith("(|") and s["base"] != ""]
    assert len(per_account) <= 2, per_account
    assert not [s for s in warm_searches if RIGHTS in s["attrs"]], "nothing to write: no rights to read"


def test_batch_with_bad_accounts_configures_the_others_and_fails_at_the_end(ad):
    good = [f"BMS{i:02d}" for i in range(6)]
    accounts = [{"computer": name} for name in good]
    accounts.insert(2, {"computer": "NOSUCH42"})
    accounts.insert(4, {"computer": "DUP"})
    accounts.insert(6, {"computer": "HVGROUP"})
    accounts.append({"computer": "UNCON"})  # unconstrained delegation: refused for that entry only
    args = {"accounts": accounts, "services": [CIFS_FS01], "protocol_transition": True}

    run = ad.run(args)
    assert run.failed
    assert run.msg.startswith("4 of 10 accounts failed: "), run.msg
    by_name = {e["computer"]: e for e in run.result["accounts"]}
    assert by_name["NOSUCH42"]["failed"] is True
    assert by_name["NOSUCH42"]["msg"].startswith("accounts[2] (NOSUCH42): computer 'NOSUCH42' was not found")
    assert "accounts[4] (DUP): computer 'DUP' is ambiguous, it matches 2 objects" in by_name["DUP"]["msg"]
    assert "accounts[6] (HVGROUP): 'HVGROUP' resolves to a group" in by_name["HVGROUP"]["msg"]
    assert "accounts[9] (UNCON): UNCON$" in by_name["UNCON"]["msg"] and "unconstrained" in by_name["UNCON"]["msg"]
    for name in ("NOSUCH42", "DUP", "HVGROUP", "UNCON"):
        assert name in run.msg
    assert run.result["summary"] == {"accounts": 10, "changed": 6, "failed": 4, "unchanged": 0}
    assert run.result["changed"] is True, "a failed batch still reports what it changed"
    state = ad.delegation_of("BMS")
    for name in good:
        assert by_name[name]["failed"] is False and by_name[name]["changed"] is True
        assert state[name + "$"]["spns"] == FS01_SPNS
        assert state[name + "$"]["uac"] == WORKSTATION | PROTOCOL_TRANSITION
    assert ad.show("DUP")["allowed_to_delegate_to"] == []
    assert not [w for w in run.writes if w["dn"].upper().startswith(("CN=UNCON,", "CN=DUP,"))], run.writes

    # told not to fail: the same entries carry their errors, the task succeeds
    lenient = ad.run(dict(args, fail_on_account_error=False))
    assert not lenient.failed, lenient.msg
    assert lenient.result["changed"] is False
    assert [e["computer"] for e in lenient.result["accounts"] if e["failed"]] == ["NOSUCH42", "DUP", "HVGROUP", "UNCON"]
    assert lenient.writes == []


def test_batch_malformed_entry_fails_before_connecting(ad):
    accounts = [{"computer": "BMS06"}, {"computer": "BMS07", "services": ["cifs"]}]
    run = ad.run({"accounts": accounts}, connection={"server": "127.0.0.1", "port": 9})
    assert run.failed and "accounts[1].services[0]: SPN 'cifs' is malformed" in run.msg, run.msg
    run = ad.run({"accounts": [{"computer": " "}]}, connection={"server": "127.0.0.1", "port": 9})
    assert run.failed and "accounts[0].computer is empty" in run.msg, run.msg
    run = ad.run(
        {"accounts": [{"computer": "BMS06", "exclusive": True, "state": "absent"}]},
        connection={"server": "127.0.0.1", "port": 9},
    )
    assert run.failed and "accounts[0].exclusive: true only goes with state: present" in run.msg, run.msg
    both = ad.run({"computer": "BMS06", "accounts": [{"computer": "BMS07"}]})
    assert both.failed and "mutually exclusive" in both.msg, both.msg
    assert ad.show("BMS06")["allowed_to_delegate_to"] == [] and ad.show("BMS07")["allowed_to_delegate_to"] == []


def test_batch_check_mode_and_diff_change_nothing(ad):
    names = [f"BCK{i:02d}" for i in range(5)]
    before = ad.delegation_of("BCK")
    run = ad.run(
        {"accounts": [{"computer": n} for n in names], "services": [CIFS_FS01], "protocol_transition": True},
        check_mode=True,
        diff=True,
    )
    assert not run.failed, run.msg
    assert run.result["changed"] is True and run.result["summary"]["changed"] == 5
    assert run.writes == []
    assert ad.delegation_of("BCK") == before
    first = run.result["accounts"][0]
    assert first["allowed_to_delegate_to"] == FS01_SPNS and first["protocol_transition"] is True
    assert first["diff"]["before"]["allowed_to_delegate_to"] == []
    assert [d["before_header"] for d in run.result["diff"]] == [f"{n}$" for n in names]
    assert run.result["diff"][0]["after"]["allowed_to_delegate_to"] == FS01_SPNS


def test_batch_concurrent_writer_on_one_account_loses_nothing(ad):
    """Between the batch's read of BCONC and its write, another administrator changes BCONC.

    The batch's first write is held at a barrier (tests/support/run_module.py) until the other change is
    made; its delete-old-value/add-new-value modify is then refused, BCONC is read again and planned anew.
    Both the batch's values and the other writer's survive.
    """
    barrier = ad.dc.workdir / f"barrier-{uuid.uuid4().hex[:6]}"
    barrier.mkdir()
    log = ad.dc.workdir / f"bconc-{uuid.uuid4().hex[:6]}.jsonl"
    args = dict(
        ad.connection,
        accounts=[{"computer": "BCONC"}, {"computer": "BCK05", "services": ["HOST/fs01"]}],
        services=[CIFS_FS01],
        protocol_transition=True,
    )
    proc = subprocess.Popen(
        ad.dc.command([PYTHON, RUNNER, MODULE]),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ad.dc.env(
            ccache=f"FILE:{ad.dc.workdir / ('bconc-' + uuid.uuid4().hex[:6] + '.cc')}",
            extra={"VAWARE_LDAP_WRITE_LOG": str(log), "VAWARE_LDAP_WRITE_BARRIER": f"{barrier}:2"},
        ),
    )
    proc.stdin.write(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    proc.stdin.close()
    deadline = time.monotonic() + 60
    while not list(barrier.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(barrier.iterdir()), "the batch never reached its first write"
    ldif = ad.dc.workdir / "bconc-other.ldif"
    ldif.write_text(
        "dn: CN=BCONC,CN=Computers,DC=corp,DC=example,DC=test\nchangetype: modify\n"
        f"replace: userAccountControl\nuserAccountControl: {WORKSTATION | DONT_EXPIRE_PASSWORD}\n-\n"
        "add: msDS-AllowedToDelegateTo\nmsDS-AllowedToDelegateTo: cifs/other.corp.example.test\n"
    )
    ad.dc.run(["ldbmodify", "-H", str(ad.dc.workdir / "dc" / "private" / "sam.ldb"), str(ldif)])
    (barrier / "other-writer").touch()
    out = proc.stdout.read()
    proc.wait(timeout=120)
    result = json.loads(out.strip().splitlines()[-1])
    assert not result.get("failed"), result
    state = ad.delegation_of("BCONC")["BCONC$"]
    assert state["uac"] == WORKSTATION | DONT_EXPIRE_PASSWORD | PROTOCOL_TRANSITION, f"a change was lost: {state}"
    assert state["spns"] == sorted([*FS01_SPNS, "cifs/other.corp.example.test"], key=str.lower), state
    writes = [json.loads(line)["dn"] for line in log.read_text().splitlines()]
    bconc_dn = "CN=BCONC,CN=Computers,DC=corp,DC=example,DC=test"
    assert writes.count(bconc_dn) == 2, f"the first write must have been refused and retried: {writes}"
    assert sorted(result["accounts"][0]["allowed_to_delegate_to"], key=str.lower) == state["spns"]
    assert "HOST/fs01" in ad.show("BCK05")["allowed_to_delegate_to"]


def test_batch_cold_is_one_modify_per_account_and_a_few_rights_searches(ad):
    """Every account changes: the rights come from one search per chunk, the only per-account request is the modify."""
    names = [f"BRC{i:02d}" for i in range(20)]
    log = ad.dc.workdir / f"brc-searches-{uuid.uuid4().hex}.jsonl"
    env = {"VAWARE_LDAP_SEARCH_LOG": str(log), "VAWARE_TEST_LDAP_OR_CHUNK": "8"}
    run = ad.run(
        {"accounts": [{"computer": n} for n in names], "services": [CIFS_FS01], "protocol_transition": True}, env=env
    )
    assert not run.failed, run.msg
    assert run.result["summary"]["changed"] == 20
    state = ad.delegation_of("BRC")
    assert all(state[n + "$"]["spns"] == FS01_SPNS for n in names), state
    assert all(state[n + "$"]["uac"] == WORKSTATION | PROTOCOL_TRANSITION for n in names), state
    assert sorted(w["dn"] for w in run.writes) == sorted(f"CN={n},CN=Computers,{samba_dc.BASE_DN}" for n in names)
    searches = _searches(log)
    per_account = [s for s in searches if s["scope"] == BASE and s["base"] != ""]
    assert per_account == [], f"a cold batch reads nothing account by account: {per_account}"
    rights = [s for s in searches if RIGHTS in s["attrs"]]
    # 20 accounts and fs01 in chunks of 8: 8 + 8 + 5 (fs01 is asked for last and never written)
    assert [s["filter"].count("(objectSid=") for s in rights] == [8, 8, 5], rights
    assert len(searches) == 1 + 3 + 3, searches  # rootDSE, the lookups (21 names in chunks of 8), the rights


def test_batch_rights_are_each_accounts_own(ad):
    """bob may write every property of BRT1 only: BRT1 gets past the rights check (and the DC then refuses it for lack
    of SeEnableDelegationPrivilege), BRT2 is refused by the rights check before any write, as a single run does."""
    bob_sid = ad.dc.ldb_attr("(sAMAccountName=bob)", "objectSid")[0]
    ad.dc.samba_tool(
        "dsacl",
        "set",
        f"-H{ad.dc.workdir / 'dc' / 'private' / 'sam.ldb'}",
        f"--objectdn=CN=BRT1,CN=Computers,{samba_dc.BASE_DN}",
        f"--sddl=(A;;RPWP;;;{bob_sid})",
    )
    log = ad.dc.workdir / f"brt-searches-{uuid.uuid4().hex}.jsonl"
    accounts = [{"computer": "BRT1"}, {"computer": "BRT2"}]
    run = ad.run(
        {"accounts": accounts, "services": [CIFS_FS01], "protocol_transition": True},
        connection=BOB,
        env={"VAWARE_LDAP_SEARCH_LOG": str(log)},
    )
    assert run.failed and run.msg.startswith("2 of 2 accounts failed"), run.msg
    brt1, brt2 = run.result["accounts"]
    assert "without SePrivEnableDelegation" in brt1["msg"], brt1
    assert "lists no write access" in brt2["msg"] and "may not change msDS-AllowedToDelegateTo" in brt2["msg"], brt2
    assert [w["dn"] for w in run.writes] == [f"CN=BRT1,CN=Computers,{samba_dc.BASE_DN}"]
    rights = [s for s in _searches(log) if RIGHTS in s["attrs"]]
    assert rights[0]["scope"] == SUBTREE, rights
    assert ad.show("BRT1")["allowed_to_delegate_to"] == [] and ad.show("BRT2")["allowed_to_delegate_to"] == []


def test_batch_warning_shared_by_many_accounts_is_one_task_warning(ad):
    """NODNS has no dNSHostName: every account delegating to it gets the guessed-SPN warning in its own entry,
    and the task shows it once, naming the first accounts and how many more."""
    names = [f"BWN{i}" for i in range(6)]
    run = ad.run({"accounts": [{"computer": n} for n in names], "services": [{"service": "cifs", "host": "NODNS"}]})
    assert not run.failed, run.msg
    for entry in run.result["accounts"]:
        assert len(entry["warnings"]) == 1 and "NODNS$" in entry["warnings"][0], entry
        assert "cifs/nodns.corp.example.test" in entry["warnings"][0]
    guessed = [w for w in run.warnings if "no dNSHostName" in w]
    assert len(guessed) == 1, run.warnings
    assert guessed[0].startswith("accounts[0] (BWN0), accounts[1] (BWN1), accounts[2] (BWN2) and 3 more: services[0]:")
    assert guessed[0].endswith(run.result["accounts"][5]["warnings"][0])


def test_single_account_interface_is_unchanged_by_batch_options(ad):
    """Without accounts the module returns what it always did: no accounts or summary keys."""
    run = ad.run({"computer": "BCK06", "services": ["HOST/fs01"]})
    assert not run.failed, run.msg
    assert "accounts" not in run.result and "summary" not in run.result
    assert run.result["sam_account_name"] == "BCK06$" and run.result["added"] == ["HOST/fs01"]
    assert samba_dc.DC_FQDN in run.result["server"]


# ---------------------------------------------------------------------- the role: one batch, results per host
REPO = pathlib.Path(__file__).resolve().parents[3]


def _playbook(ad, tmp_path, hosts, extra=""):
    (tmp_path / "inventory.yml").write_text(
        "hyperv_hosts:\n  hosts:\n"
        + "".join(f"    {host}:\n" for host in hosts)
        + textwrap.indent(
            textwrap.dedent(
                f"""\
                vars:
                  ansible_connection: local
                  ansible_python_interpreter: {PYTHON}
                  hyperv_iso_library_servers: [fs01]
                  hyperv_delegation_ldap_server: {samba_dc.DC_FQDN}
                  hyperv_delegation_ldap_username: Administrator
                """
            ),
            "  ",
        )
        + textwrap.indent(textwrap.dedent(extra), " " * 4)
    )
    env = {
        "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".tmp" / "collections"),
        "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "VAWARE_LDAP_PASSWORD": samba_dc.ADMIN_PASSWORD,
    }
    argv = [
        str(pathlib.Path(PYTHON).parent / "ansible-playbook"),
        "-i",
        str(tmp_path / "inventory.yml"),
        str(REPO / "playbooks" / "delegation.yml"),
    ]
    return lambda *more: ad.dc.run([*argv, *more], env=env, check=False, timeout=300)


def _recap(stdout):
    """{host: {"ok": n, "changed": n, "failed": n, ...}} from the PLAY RECAP."""
    recap = {}
    for line in stdout.split("PLAY RECAP", 1)[1].splitlines()[1:]:
        if ":" not in line:
            continue
        host, _sep, counts = line.partition(":")
        recap[host.strip()] = {k: int(v) for k, v in (c.split("=") for c in counts.split())}
    return recap


def test_role_batch_reports_changed_and_failed_per_host(ad, tmp_path):
    run = _playbook(ad, tmp_path, ["hvbatch1", "nosuchhv9", "hvbatch2"])
    check = run("--check")
    assert _recap(check.stdout)["hvbatch1"]["changed"] == 1, check.stdout[-3000:]
    assert ad.show("HVBATCH1")["allowed_to_delegate_to"] == [], "check mode changed AD"

    first = run()
    out = first.stdout + first.stderr
    assert first.returncode != 0, "a host whose account is missing fails the play"
    recap = _recap(first.stdout)
    assert recap["hvbatch1"]["changed"] == 1 and recap["hvbatch1"]["failed"] == 0, recap
    assert recap["hvbatch2"]["changed"] == 1 and recap["hvbatch2"]["failed"] == 0, recap
    assert recap["nosuchhv9"]["failed"] == 1 and recap["nosuchhv9"]["changed"] == 0, recap
    assert "accounts[1] (nosuchhv9): computer 'nosuchhv9' was not found" in out
    assert out.count("Set the constrained delegation of every host of the play in one LDAP session") == 1
    for host in ("HVBATCH1", "HVBATCH2"):
        shown = ad.show(host)
        assert sorted(shown["allowed_to_delegate_to"], key=str.lower) == FS01_SPNS
        assert shown["protocol_transition"] is True
    assert samba_dc.ADMIN_PASSWORD not in out

    usn = {name: ad.usn_changed(f"{name}$") for name in ("HVBATCH1", "HVBATCH2")}
    second = run()
    recap = _recap(second.stdout)
    assert recap["hvbatch1"]["changed"] == 0 and recap["hvbatch2"]["changed"] == 0, recap
    assert recap["nosuchhv9"]["failed"] == 1
    assert {name: ad.usn_changed(f"{name}$") for name in usn} == usn


def test_role_per_host_mode_still_works(ad, tmp_path):
    run = _playbook(ad, tmp_path, ["hvbatch3"], "hyperv_delegation_batch: false\n")
    first = run()
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
    assert "Set the constrained delegation of the host's computer account" in first.stdout
    assert "in one LDAP session" not in first.stdout.replace("all in one LDAP session (hyperv_delegation_batch)", "")
    assert _recap(first.stdout)["hvbatch3"]["changed"] == 1
    assert sorted(ad.show("HVBATCH3")["allowed_to_delegate_to"], key=str.lower) == FS01_SPNS
