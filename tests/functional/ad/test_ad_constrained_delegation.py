"""ad_constrained_delegation against a real Samba AD DC: Kerberos proof, read-back, errors, races."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import textwrap
import time
import uuid

import pytest
import samba_dc

PYTHON = sys.executable
RUNNER = str(pathlib.Path(samba_dc.__file__).with_name("run_module.py"))
MODULE = "ad_constrained_delegation"

pytestmark = pytest.mark.samba

REPO = pathlib.Path(__file__).resolve().parents[3]
FS01 = "cifs/fs01.corp.example.test"
CIFS_FS01 = {"service": "cifs", "host": "fs01"}


# ---------------------------------------------------------------------- Kerberos end to end
def test_kerberos_s4u_proof_present_absent_and_kerberos_only(ad):
    before = ad.s4u("HVE2E")
    assert before.returncode != 0, "HVE2E must not be able to delegate before the module ran"

    run = ad.run({"computer": "HVE2E", "services": [CIFS_FS01], "protocol_transition": True})
    assert not run.failed, run.msg
    assert run.result["changed"] is True
    assert sorted(run.result["added"]) == ["cifs/FS01", FS01]
    shown = ad.show("HVE2E")
    assert shown["protocol_transition"] is True
    assert sorted(shown["allowed_to_delegate_to"]) == ["cifs/FS01", FS01]
    proof = ad.s4u("HVE2E")
    assert proof.returncode == 0, proof.stderr
    assert FS01 in proof.stdout

    run = ad.run({"computer": "HVE2E", "services": [CIFS_FS01], "state": "absent"})
    assert not run.failed and run.result["changed"] is True
    assert sorted(run.result["removed"]) == ["cifs/FS01", FS01]
    assert ad.show("HVE2E")["allowed_to_delegate_to"] == []
    gone = ad.s4u("HVE2E")
    assert gone.returncode != 0 and "constrained delegation failed" in gone.stderr

    # The SPN listed but "Kerberos only": the S4U2Self ticket is not forwardable, so the KDC refuses.
    run = ad.run({"computer": "HVE2E", "services": [CIFS_FS01], "protocol_transition": False})
    assert not run.failed and run.result["changed"] is True
    shown = ad.show("HVE2E")
    assert shown["protocol_transition"] is False
    assert sorted(shown["allowed_to_delegate_to"]) == ["cifs/FS01", FS01]
    kerberos_only = ad.s4u("HVE2E")
    assert kerberos_only.returncode != 0 and "constrained delegation failed" in kerberos_only.stderr


def test_protocol_transition_alone_and_left_alone_when_omitted(ad):
    run = ad.run({"computer": "HVPT", "services": [], "protocol_transition": True})
    assert run.result["changed"] is True and run.result["protocol_transition"] is True
    assert ad.show("HVPT")["protocol_transition"] is True
    run = ad.run({"computer": "HVPT", "services": [FS01]})  # protocol_transition omitted: untouched
    assert run.result["changed"] is True and run.result["protocol_transition"] is True
    assert ad.show("HVPT")["protocol_transition"] is True
    assert "WORKSTATION_TRUST_ACCOUNT" in run.result["user_account_control"]


# ---------------------------------------------------------------------- idempotence, check, diff
def test_second_identical_run_sends_no_modify(ad):
    args = {"computer": "HVIDEM$", "services": [CIFS_FS01], "protocol_transition": True}
    first = ad.run(args)
    assert first.result["changed"] is True
    assert [w["op"] for w in first.writes] == ["modify_ext"], "one atomic modify for SPNs and the flag"
    usn = ad.usn_changed("HVIDEM$")
    second = ad.run(args)
    assert not second.failed, second.msg
    assert second.result["changed"] is False
    assert second.writes == [], "an identical second run must not send any write"
    assert ad.usn_changed("HVIDEM$") == usn
    assert second.result["added"] == [] and second.result["removed"] == []


def test_check_mode_writes_nothing_but_reports_the_change(ad):
    before = ad.show("HVCHECK")
    usn = ad.usn_changed("HVCHECK$")
    run = ad.run({"computer": "HVCHECK", "services": [CIFS_FS01], "protocol_transition": True}, check_mode=True)
    assert not run.failed, run.msg
    assert run.result["changed"] is True
    assert sorted(run.result["allowed_to_delegate_to"]) == ["cifs/FS01", FS01]
    assert run.result["protocol_transition"] is True
    assert run.writes == []
    after = ad.show("HVCHECK")
    assert after["allowed_to_delegate_to"] == before["allowed_to_delegate_to"] == []
    assert after["protocol_transition"] is False
    assert ad.usn_changed("HVCHECK$") == usn


def test_diff_shows_lists_and_flag_names(ad):
    ad.run({"computer": "HVDIFF", "services": ["HOST/fs01"]})
    run = ad.run(
        {"computer": "HVDIFF", "services": [CIFS_FS01], "protocol_transition": True, "exclusive": True}, diff=True
    )
    assert run.result["diff"] == {
        "before": {
            "allowed_to_delegate_to": ["HOST/fs01"],
            "protocol_transition": False,
            "user_account_control": ["WORKSTATION_TRUST_ACCOUNT"],
        },
        "after": {
            "allowed_to_delegate_to": ["cifs/FS01", FS01],
            "protocol_transition": True,
            "user_account_control": ["WORKSTATION_TRUST_ACCOUNT", "TRUSTED_TO_AUTH_FOR_DELEGATION"],
        },
    }
    assert run.result["removed"] == ["HOST/fs01"]
    no_diff = ad.run({"computer": "HVDIFF", "services": [CIFS_FS01]})
    assert "diff" not in no_diff.result


# ---------------------------------------------------------------------- list semantics
def test_exclusive_makes_the_list_exact_and_empty_list_clears(ad):
    ad.run({"computer": "HVEXCL", "services": [CIFS_FS01, "HOST/fs01", "MSSQLSvc/sql01.corp.example.test:1433"]})
    assert len(ad.show("HVEXCL")["allowed_to_delegate_to"]) == 4
    run = ad.run({"computer": "HVEXCL", "services": ["CIFS/FS01.corp.example.test"], "exclusive": True})
    assert run.result["changed"] is True
    # case-insensitive: the stored spelling stays, everything else goes
    assert ad.show("HVEXCL")["allowed_to_delegate_to"] == [FS01]
    assert sorted(run.result["removed"]) == sorted(["cifs/FS01", "HOST/fs01", "MSSQLSvc/sql01.corp.example.test:1433"])
    cleared = ad.run({"computer": "HVEXCL", "services": [], "exclusive": True})
    assert cleared.result["removed"] == [FS01]
    assert ad.show("HVEXCL")["allowed_to_delegate_to"] == []
    refused = ad.run({"computer": "HVEXCL", "services": [FS01], "exclusive": True, "state": "absent"})
    assert refused.failed and "exclusive" in refused.msg and refused.writes == []


def test_spn_forms_short_fqdn_and_per_item(ad):
    run = ad.run({"computer": "HVFORMS", "services": [CIFS_FS01], "spn_forms": "short"})
    assert run.result["added"] == ["cifs/FS01"]
    run = ad.run({"computer": "HVFORMS", "services": [CIFS_FS01], "spn_forms": "fqdn"})
    assert run.result["added"] == [FS01]
    assert sorted(ad.show("HVFORMS")["allowed_to_delegate_to"]) == ["cifs/FS01", FS01]
    # host given as DNS name, a per-item form, a port, and a service class with spaces
    run = ad.run(
        {
            "computer": "HVFORMS2",
            "services": [
                {"service": "Microsoft Virtual System Migration Service", "host": "fs02.corp.example.test"},
                {"service": "MSSQLSvc", "host": "SQL01$", "port": 1433, "forms": "fqdn"},
            ],
        }
    )
    assert not run.failed, run.msg
    assert sorted(ad.show("HVFORMS2")["allowed_to_delegate_to"]) == sorted(
        [
            "Microsoft Virtual System Migration Service/FS02",
            "Microsoft Virtual System Migration Service/fs02.corp.example.test",
            "MSSQLSvc/sql01.corp.example.test:1433",
        ]
    )


def test_raw_spns_with_port_and_warning_for_unheld_spn(ad):
    run = ad.run(
        {
            "computer": "HVRAW",
            "services": ["MSSQLSvc/sql01.corp.example.test:1433", "cifs/fs01", "http/nowhere.corp.example.test"],
        }
    )
    assert not run.failed, run.msg
    assert sorted(ad.show("HVRAW")["allowed_to_delegate_to"]) == sorted(
        ["MSSQLSvc/sql01.corp.example.test:1433", "cifs/fs01", "http/nowhere.corp.example.test"]
    )
    assert len(run.warnings) == 1, run.warnings
    assert "http/nowhere.corp.example.test" in run.warnings[0]


def test_resource_based_present_absent_exclusive(ad):
    run = ad.run({"computer": "HVRBCD", "services": [{"service": "cifs", "host": "fs02"}], "mode": "resource_based"})
    assert not run.failed, run.msg
    assert run.result["changed"] is True and run.result["added"] == ["FS02$"]
    hvrbcd_dn = run.result["dn"]
    assert ad.show("FS02")["resource_based"] == [hvrbcd_dn]
    assert ad.show("HVRBCD")["allowed_to_delegate_to"] == [], "resource-based mode must not touch the classic list"

    again = ad.run({"computer": "HVRBCD", "services": ["HOST/fs02"], "mode": "resource_based"})
    assert again.result["changed"] is False and again.writes == []

    # a second principal on FS03 from samba-tool, then exclusive moves HVRBCD from FS02 to FS03 only
    ad.dc.samba_tool("delegation", "add-principal", "FS03$", "HVE2E$")
    run = ad.run(
        {
            "computer": "HVRBCD",
            "services": [{"service": "cifs", "host": "fs03"}],
            "mode": "resource_based",
            "exclusive": True,
        },
        diff=True,
    )
    assert run.result["added"] == ["FS03$"] and run.result["removed"] == ["FS02$"]
    assert run.result["diff"] == {
        "before": {"resource_based_targets": ["FS02$"]},
        "after": {"resource_based_targets": ["FS03$"]},
    }
    assert ad.show("FS02")["resource_based"] == []
    fs03 = ad.show("FS03")["resource_based"]
    assert sorted(fs03) == sorted([hvrbcd_dn, "CN=HVE2E,CN=Computers,DC=corp,DC=example,DC=test"])

    run = ad.run(
        {
            "computer": "HVRBCD",
            "services": [{"service": "cifs", "host": "fs03"}],
            "mode": "resource_based",
            "state": "absent",
        }
    )
    assert run.result["removed"] == ["FS03$"]
    assert ad.show("FS03")["resource_based"] == ["CN=HVE2E,CN=Computers,DC=corp,DC=example,DC=test"]

    # protocol_transition applies to the delegating account in this mode too, and nothing else changes there
    run = ad.run(
        {"computer": "HVRBCD", "services": [], "mode": "resource_based", "protocol_transition": True}, diff=True
    )
    assert run.result["changed"] is True and run.result["diff"]["after"]["protocol_transition"] is True
    shown = ad.show("HVRBCD")
    assert shown["protocol_transition"] is True and shown["allowed_to_delegate_to"] == []


def test_exclusive_resource_based_scan_follows_pages(ad):
    """The domain-wide scan for strays is a paged search: with one entry per page every page is read."""
    for target in ("PG1$", "PG2$", "PG3$"):
        ad.dc.samba_tool("delegation", "add-principal", target, "HVPAGE$")
    holders = len(ad.dc.ldb_attr("(msDS-AllowedToActOnBehalfOfOtherIdentity=*)", "sAMAccountName"))
    assert holders >= 3
    log = ad.dc.workdir / f"searches-{uuid.uuid4().hex}.jsonl"
    run = ad.run(
        {
            "computer": "HVPAGE",
            "services": [{"service": "cifs", "host": "pg4"}],
            "mode": "resource_based",
            "exclusive": True,
        },
        env={"VAWARE_LDAP_SEARCH_LOG": str(log), "VAWARE_TEST_LDAP_PAGE_SIZE": "1"},
    )
    assert not run.failed, run.msg
    assert run.result["added"] == ["PG4$"] and sorted(run.result["removed"]) == ["PG1$", "PG2$", "PG3$"]
    hvpage_dn = run.result["dn"]
    for name in ("PG1", "PG2", "PG3"):
        assert hvpage_dn not in ad.show(name)["resource_based"]
    assert ad.show("PG4")["resource_based"] == [hvpage_dn]
    scan = [
        json.loads(line)
        for line in log.read_text().splitlines()
        if "msDS-AllowedToActOnBehalfOfOtherIdentity=*" in json.loads(line)["filter"]
    ]
    assert all(entry["paged"] and entry["page_size"] == 1 for entry in scan), scan
    # one request per page: the first without a cookie, each following one with the cookie of the page before
    assert len(scan) >= holders and not scan[0]["cookie"] and all(entry["cookie"] for entry in scan[1:]), scan


# ---------------------------------------------------------------------- bad input: clear error, nothing written
def _assert_nothing_written(ad, run, account="HVBAD"):
    assert run.failed, run.result
    assert run.writes == [], f"a failed run wrote: {run.writes}"
    shown = ad.show(account)
    assert shown["allowed_to_delegate_to"] == []
    assert shown["protocol_transition"] is False


GOOD = {"services": [CIFS_FS01], "protocol_transition": True}


@pytest.mark.parametrize(
    ("computer", "expected"),
    [
        ("NOSUCH01", "'NOSUCH01' was not found"),
        ("DUP", "'DUP' is ambiguous, it matches 2 objects"),
        ("HVGROUP", "resolves to a group"),
        ("HVOU", "resolves to an organizational unit"),
        ("OU=HVOU,DC=corp,DC=example,DC=test", "resolves to an organizational unit"),
        ("CN=NOPE,CN=Computers,DC=corp,DC=example,DC=test", "no object with this DN exists"),
    ],
)
def test_bad_computer_is_refused(ad, computer, expected):
    run = ad.run({"computer": computer, **GOOD})
    assert run.failed and expected in run.msg, run.msg
    assert run.writes == []
    assert ad.show("DUP")["allowed_to_delegate_to"] == []


@pytest.mark.parametrize(
    ("services", "expected"),
    [
        (["cifs"], "SPN 'cifs' is malformed"),
        (["cifs/"], "host '' is not a valid host name"),
        (["cifs/fs01:99999"], "port '99999'"),
        (["cifs/fs 01"], "host 'fs 01'"),
        ([{"service": "cifs"}], "must have a service"),
        ([{"service": "cifs", "host": "fs01", "colour": "red"}], "unknown keys colour"),
        ([42], "services[1] is 42"),
    ],
)
def test_malformed_services_fail_before_connecting(ad, services, expected):
    # server points nowhere: the error must be about the SPN, found before any connection
    run = ad.run({"computer": "HVBAD", "services": [FS01, *services]}, connection={"server": "127.0.0.1", "port": 9})
    assert run.failed and expected in run.msg, run.msg
    assert "services[1]" in run.msg
    _assert_nothing_written(ad, run)


def test_unknown_target_host(ad):
    run = ad.run({"computer": "HVBAD", "services": [CIFS_FS01, {"service": "cifs", "host": "nosuchhost"}]})
    assert "services[1] host 'nosuchhost' was not found" in run.msg, run.msg
    _assert_nothing_written(ad, run)


def test_simple_bind_without_tls_is_refused_before_connecting(ad):
    conn = dict(ad.connection, auth="simple", transport="ldap")
    run = ad.run({"computer": "HVBAD", **GOOD}, connection=conn)
    assert "plain text" in run.msg and "transport=ldaps" in run.msg, run.msg
    _assert_nothing_written(ad, run)


def test_wrong_password(ad):
    conn = dict(ad.connection, password="Wr0ng!password")
    run = ad.run({"computer": "HVBAD", **GOOD}, connection=conn)
    assert "refused the password of Administrator" in run.msg, run.msg
    _assert_nothing_written(ad, run)
    tls = dict(conn, auth="simple", transport="ldaps", ca_cert=str(ad.dc.ca_cert))
    run = ad.run({"computer": "HVBAD", **GOOD}, connection=tls)
    assert "rejected the credentials of Administrator" in run.msg, run.msg
    _assert_nothing_written(ad, run)


def test_unreachable_server(ad):
    conn = dict(ad.connection, port=3899, connect_timeout=3)
    run = ad.run({"computer": "HVBAD", **GOOD}, connection=conn)
    assert "cannot reach the LDAP server ldap://dc1.corp.example.test:3899" in run.msg, run.msg
    _assert_nothing_written(ad, run)


def test_untrusted_certificate(ad):
    conn = dict(ad.connection, auth="simple", transport="ldaps")
    run = ad.run({"computer": "HVBAD", **GOOD}, connection=conn)
    assert "certificate of ldaps://dc1.corp.example.test:636" in run.msg and "not trusted" in run.msg, run.msg
    _assert_nothing_written(ad, run)


def test_untrusted_certificate_after_starttls(ad):
    conn = dict(ad.connection, auth="simple", transport="starttls")
    run = ad.run({"computer": "HVBAD", **GOOD}, connection=conn)
    assert "certificate of ldap://dc1.corp.example.test:389 is not trusted" in run.msg, run.msg
    assert "self-signed" in run.msg or "unable to get local issuer" in run.msg, run.msg
    _assert_nothing_written(ad, run)


def test_account_without_rights(ad):
    conn = {"server": samba_dc.DC_FQDN, "username": "bob", "password": "B0b!plain-user"}
    run = ad.run({"computer": "HVBAD", **GOOD}, connection=conn)
    assert "password of bob may not change" in run.msg and "SeEnableDelegationPrivilege" in run.msg, run.msg
    _assert_nothing_written(ad, run)


def test_write_access_without_the_delegation_privilege(ad):
    """bob may write every property of HVPRIV, but lacks SeEnableDelegationPrivilege: the DC refuses."""
    sam = ad.dc.workdir / "dc" / "private" / "sam.ldb"
    bob_sid = ad.dc.ldb_attr("(sAMAccountName=bob)", "objectSid")[0]
    ad.dc.samba_tool(
        "dsacl",
        "set",
        f"-H{sam}",
        "--objectdn=CN=HVPRIV,CN=Computers,DC=corp,DC=example,DC=test",
        f"--sddl=(A;;RPWP;;;{bob_sid})",
    )
    conn = {"server": samba_dc.DC_FQDN, "username": "bob", "password": "B0b!plain-user"}
    run = ad.run({"computer": "HVPRIV", **GOOD}, connection=conn)
    assert run.failed and "password of bob may not change" in run.msg, run.msg
    assert "SeEnableDelegationPrivilege" in run.msg
    # the write rights are there, so the module tried once; the DC refused for lack of the privilege
    assert "without SePrivEnableDelegation" in run.msg
    assert len(run.writes) == 1
    shown = ad.show("HVPRIV")
    assert shown["allowed_to_delegate_to"] == [] and shown["protocol_transition"] is False


def test_target_without_dns_host_name_warns_with_the_guessed_spn(ad):
    # accounts created like the test domain's (no dNSHostName, as an account prepared for an old-style join)
    assert ad.dc.ldb_attr("(sAMAccountName=NODNS$)", "dNSHostName") == []
    run = ad.run({"computer": "HVNODNS", "services": [{"service": "cifs", "host": "NODNS"}]})
    assert not run.failed, run.msg
    assert sorted(ad.show("HVNODNS")["allowed_to_delegate_to"]) == ["cifs/NODNS", "cifs/nodns.corp.example.test"]
    guessed = [w for w in run.warnings if "no dNSHostName" in w]
    assert len(guessed) == 1 and "cifs/nodns.corp.example.test" in guessed[0] and "NODNS" in guessed[0], run.warnings
    # a host given by its DNS name, or only the short form asked for: nothing is guessed
    for item in (
        {"service": "cifs", "host": "nodns.corp.example.test"},
        {"service": "cifs", "host": "NODNS", "forms": "short"},
    ):
        run = ad.run({"computer": "HVNODNS", "services": [item]})
        assert not run.failed and not [w for w in run.warnings if "no dNSHostName" in w], run.warnings


def test_unconstrained_delegation_present(ad):
    run = ad.run({"computer": "UNCON", **GOOD})
    assert "unconstrained delegation (TRUSTED_FOR_DELEGATION" in run.msg and "allow_unconstrained" in run.msg, run.msg
    assert run.writes == []
    shown = ad.show("UNCON")
    assert shown["allowed_to_delegate_to"] == [] and shown["unconstrained"] is True
    allowed = ad.run({"computer": "UNCON", **GOOD, "allow_unconstrained": True})
    assert not allowed.failed and allowed.result["changed"] is True
    shown = ad.show("UNCON")
    assert shown["unconstrained"] is True, "the module never touches unconstrained delegation"
    assert shown["protocol_transition"] is True


# ---------------------------------------------------------------------- connections
def test_tls_transports_with_simple_bind(ad):
    ca = str(ad.dc.ca_cert)
    for transport in ("ldaps", "starttls"):
        conn = dict(ad.connection, transport=transport, auth="simple", ca_cert=ca)
        conn["username"] = "Administrator@corp.example.test"
        run = ad.run({"computer": "HVTLS", "services": [f"{transport}/fs01"]}, connection=conn)
        assert not run.failed, (transport, run.msg)
        assert run.result["server"] == f"{transport.replace('starttls', 'ldap')}://dc1.corp.example.test:" + (
            "636" if transport == "ldaps" else "389"
        )
    assert sorted(ad.show("HVTLS")["allowed_to_delegate_to"]) == ["ldaps/fs01", "starttls/fs01"]


def test_validate_certs_false_accepts_the_self_signed_certificate(ad):
    conn = dict(ad.connection, auth="simple", transport="ldaps", validate_certs=False)
    bare = ad.run({"computer": "HVNOVAL", "services": [FS01]}, connection=conn)
    assert bare.failed and "write the user as user@domain" in bare.msg, bare.msg
    conn["username"] = "Administrator@corp.example.test"
    run = ad.run({"computer": "HVNOVAL", "services": [FS01]}, connection=conn)
    assert not run.failed, run.msg
    assert ad.show("HVNOVAL")["allowed_to_delegate_to"] == [FS01]


def test_kerberos_inside_tls_is_refused_by_samba_with_advice(ad):
    # Samba DCs refuse SASL GSSAPI inside TLS in both ways (with and without a security layer);
    # the module must say what to do instead.
    conn = dict(ad.connection, transport="ldaps", ca_cert=str(ad.dc.ca_cert))
    run = ad.run({"computer": "HVTLS2", "services": [FS01]}, connection=conn)
    assert run.failed and "use transport=ldap" in run.msg, run.msg
    assert run.writes == [] and ad.show("HVTLS2")["allowed_to_delegate_to"] == []


def test_connection_from_environment_variables(ad):
    env = {
        "VAWARE_LDAP_SERVER": samba_dc.DC_FQDN,
        "VAWARE_LDAP_TRANSPORT": "starttls",
        "VAWARE_LDAP_AUTH": "simple",
        "VAWARE_LDAP_USERNAME": "CORP\\Administrator",
        "VAWARE_LDAP_PASSWORD": samba_dc.ADMIN_PASSWORD,
        "VAWARE_LDAP_CA_CERT": str(ad.dc.ca_cert),
        "VAWARE_LDAP_SEARCH_BASE": "CN=Computers,DC=corp,DC=example,DC=test",
    }
    run = ad.run({"computer": "HVENV", "services": [FS01]}, connection={}, env=env)
    assert not run.failed, run.msg
    assert run.result["server"] == "ldap://dc1.corp.example.test:389"
    assert ad.show("HVENV")["allowed_to_delegate_to"] == [FS01]


def test_existing_ticket_cache(ad):
    ccache = f"FILE:{ad.dc.workdir / 'admin-existing.cc'}"
    ad.dc.kinit(f"Administrator@{samba_dc.REALM}", samba_dc.ADMIN_PASSWORD, ccache=ccache)
    run = ad.run(
        {"computer": "HVCC", "services": [FS01]}, connection={"server": samba_dc.DC_FQDN}, env={"KRB5CCNAME": ccache}
    )
    assert not run.failed, run.msg
    assert ad.show("HVCC")["allowed_to_delegate_to"] == [FS01]
    no_ticket = ad.run(
        {"computer": "HVCC", "services": [FS01]},
        connection={"server": samba_dc.DC_FQDN},
        env={"KRB5CCNAME": f"FILE:{ad.dc.workdir / 'empty.cc'}"},
    )
    assert no_ticket.failed and "needs a Kerberos ticket (run kinit)" in no_ticket.msg, no_ticket.msg


def test_username_without_secret_and_a_ticket_for_another_principal(ad):
    ccache = f"FILE:{ad.dc.workdir / 'alice-existing.cc'}"
    ad.dc.kinit(f"alice@{samba_dc.REALM}", "Al1ce!pass", ccache=ccache)
    before = ad.show("HVCC")["allowed_to_delegate_to"]
    run = ad.run(
        {"computer": "HVCC", "services": ["cifs/other.corp.example.test"]},
        connection={"server": samba_dc.DC_FQDN, "username": "Administrator"},
        env={"KRB5CCNAME": ccache},
    )
    assert run.failed and run.writes == [], run.result
    assert "username is 'Administrator'" in run.msg and f"ticket for alice@{samba_dc.REALM}" in run.msg, run.msg
    assert ad.show("HVCC")["allowed_to_delegate_to"] == before
    # the same principal written differently is the cached one
    ok = ad.run(
        {"computer": "HVCC", "services": [FS01]},
        connection={"server": samba_dc.DC_FQDN, "username": f"ALICE@{samba_dc.REALM.lower()}"},
        env={"KRB5CCNAME": ccache},
    )
    assert "ticket for" not in ok.msg, ok.msg


def test_keytab(ad):
    keytab = ad.dc.workdir / "hvcc.keytab"
    ad.dc.samba_tool("domain", "exportkeytab", str(keytab), "--principal=Administrator")
    conn = {"server": samba_dc.DC_FQDN, "keytab": str(keytab), "username": "Administrator"}
    run = ad.run(
        {"computer": "HVCC", "services": ["HOST/fs01"]}, connection=conn, env={"KRB5CCNAME": "FILE:/nonexistent"}
    )
    assert not run.failed, run.msg
    assert "HOST/fs01" in ad.show("HVCC")["allowed_to_delegate_to"]


# ---------------------------------------------------------------------- concurrency
def test_concurrent_runs_on_one_account_keep_every_spn(ad):
    """Four runs read the account, then all write at the same moment (held at a barrier before writing).

    Each adds its own SPN and sets protocol_transition. While they wait, someone else changes the account's
    userAccountControl (DONT_EXPIRE_PASSWORD). Their delete-old-value/add-new-value modifies are refused by
    the DC, they read again and retry. Nothing may be lost: every SPN, the flag, and the other change.
    """
    spns = [f"cifs/share{i}.corp.example.test" for i in range(4)]
    barrier = ad.dc.workdir / f"barrier-{uuid.uuid4().hex[:6]}"
    barrier.mkdir()
    log = ad.dc.workdir / f"conc-{uuid.uuid4().hex[:6]}.jsonl"
    procs = []
    for spn in spns:
        proc = subprocess.Popen(
            ad.dc.command([PYTHON, RUNNER, MODULE]),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=ad.dc.env(
                ccache=f"FILE:{ad.dc.workdir / ('conc-' + uuid.uuid4().hex[:6] + '.cc')}",
                extra={"VAWARE_LDAP_WRITE_LOG": str(log), "VAWARE_LDAP_WRITE_BARRIER": f"{barrier}:{len(spns) + 1}"},
            ),
        )
        procs.append((proc, dict(ad.connection, computer="HVCONC", services=[spn], protocol_transition=True)))
    for proc, args in procs:
        proc.stdin.write(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
        proc.stdin.close()
    deadline = time.monotonic() + 60
    while len(list(barrier.iterdir())) < len(spns) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(list(barrier.iterdir())) == len(spns), "the runs never reached their first write"
    # the other administrator's change, made after all four read the account and before any wrote
    ldif = ad.dc.workdir / "hvconc-noexpire.ldif"
    ldif.write_text(
        "dn: CN=HVCONC,CN=Computers,DC=corp,DC=example,DC=test\nchangetype: modify\n"
        "replace: userAccountControl\nuserAccountControl: 69632\n"  # WORKSTATION_TRUST_ACCOUNT | DONT_EXPIRE_PASSWORD
    )
    ad.dc.run(["ldbmodify", "-H", str(ad.dc.workdir / "dc" / "private" / "sam.ldb"), str(ldif)])
    (barrier / "other-writer").touch()
    results = []
    for proc, _name in procs:
        out = proc.stdout.read()
        proc.wait(timeout=120)
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert not [r for r in results if r.get("failed")], results
    assert all(r["changed"] for r in results)
    shown = ad.show("HVCONC")
    assert sorted(shown["allowed_to_delegate_to"]) == sorted(spns)
    assert shown["protocol_transition"] is True
    uac = ad.dc.ldb_attr("(sAMAccountName=HVCONC$)", "userAccountControl")
    assert uac == [str(0x1000 | 0x10000 | 0x1000000)], f"the other change was lost: {uac}"
    writes = [json.loads(line) for line in log.read_text().splitlines()]
    assert len({w["pid"] for w in writes}) == len(spns)
    assert len(writes) >= 2 * len(spns), "every run's first write must have been refused and retried"


# ---------------------------------------------------------------------- real ansible-playbook -vvvv
def test_password_never_in_playbook_output_even_at_vvvv(ad, tmp_path):
    wrong = "N0t-the-Passw0rd-" + uuid.uuid4().hex[:6]
    (tmp_path / "secrets.yml").write_text(
        json.dumps({"ldap_password": samba_dc.ADMIN_PASSWORD, "wrong_password": wrong})
    )
    (tmp_path / "play.yml").write_text(
        textwrap.dedent(
            f"""\
            - name: Delegation with a password
              hosts: localhost
              gather_facts: false
              module_defaults:
                group/vaware.hyperv.ad:
                  server: {samba_dc.DC_FQDN}
                  username: Administrator
              tasks:
                - name: Trust HVLOG for cifs on FS01
                  vaware.hyperv.ad_constrained_delegation:
                    computer: HVLOG
                    services: [{{service: cifs, host: fs01}}]
                    protocol_transition: true
                    password: "{{{{ ldap_password }}}}"
                  register: good
                - name: The same with a wrong password
                  vaware.hyperv.ad_constrained_delegation:
                    computer: HVLOG
                    services: [{{service: cifs, host: fs01}}]
                    password: "{{{{ wrong_password }}}}"
                  register: bad
                  ignore_errors: true
                - name: Show results
                  ansible.builtin.debug:
                    var: item
                  loop: ["{{{{ good }}}}", "{{{{ bad }}}}"]
            """
        )
    )
    env = {
        "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".tmp" / "collections"),
        "ANSIBLE_PYTHON_INTERPRETER": PYTHON,
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
        "ANSIBLE_DIFF_ALWAYS": "true",
    }
    playbook = str(pathlib.Path(PYTHON).parent / "ansible-playbook")
    proc = ad.dc.run(
        [
            playbook,
            "-vvvv",
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            f"@{tmp_path / 'secrets.yml'}",
            str(tmp_path / "play.yml"),
        ],
        env=env,
        check=False,
        timeout=180,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    assert "refused the password of Administrator" in output
    assert "ok=3" in output and "changed=1" in output and "ignored=1" in output, output[-2000:]
    assert samba_dc.ADMIN_PASSWORD not in output
    assert wrong not in output
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in output
    assert ad.show("HVLOG")["protocol_transition"] is True
    assert os.environ.get("VAWARE_LDAP_PASSWORD") is None


# ---------------------------------------------------------------------- DC discovery through DNS
DNS_RESPONDER = r"""
import socket, sys
import dns.message, dns.rcode, dns.rrset
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("127.0.0.1", 53))
print("ready", flush=True)
while True:
    data, addr = sock.recvfrom(4096)
    query = dns.message.from_wire(data)
    response = dns.message.make_response(query)
    name = query.question[0].name
    if name.to_text().lower() == "_ldap._tcp.dc._msdcs.corp.example.test.":
        response.answer.append(dns.rrset.from_text(name, 60, "IN", "SRV", "0 100 389 " + sys.argv[1] + "."))
    else:
        response.set_rcode(dns.rcode.NXDOMAIN)
    sock.sendto(response.to_wire(), addr)
"""


def test_server_found_through_dns_srv_of_the_default_realm(ad):
    resolv = ad.dc.resolv_conf
    no_dns = ad.run(
        {"computer": "HVCC", "services": []},
        connection={"username": "Administrator", "password": samba_dc.ADMIN_PASSWORD},
    )
    assert no_dns.failed and "_ldap._tcp.dc._msdcs.corp.example.test" in no_dns.msg, no_dns.msg
    # a DNS server inside the DC's own namespace, answering the DC locator record
    responder = subprocess.Popen(
        ad.dc.command([PYTHON, "-c", DNS_RESPONDER, samba_dc.DC_FQDN]), stdout=subprocess.PIPE, text=True
    )
    saved = resolv.read_text()
    try:
        assert responder.stdout.readline().strip() == "ready"
        resolv.write_text("nameserver 127.0.0.1\n")
        run = ad.run(
            {"computer": "HVCC", "services": ["cifs/fs01"]},
            connection={"username": "Administrator", "password": samba_dc.ADMIN_PASSWORD},
        )
        assert not run.failed, run.msg
        assert run.result["server"] == "ldap://dc1.corp.example.test:389"
        assert "cifs/fs01" in ad.show("HVCC")["allowed_to_delegate_to"]
    finally:
        resolv.write_text(saved)
        responder.terminate()
        responder.wait(timeout=10)


# ---------------------------------------------------------------------- the role and playbook
def test_delegation_playbook_library_and_live_migration(ad, tmp_path):
    (tmp_path / "inventory.yml").write_text(
        textwrap.dedent(
            f"""\
            hyperv_hosts:
              hosts:
                hvrole1:
                hvrole2:
              vars:
                ansible_connection: local
                ansible_python_interpreter: {PYTHON}
                hyperv_iso_library_servers: [fs01]
                hyperv_live_migration_delegation: true
                hyperv_delegation_ldap_server: {samba_dc.DC_FQDN}
                hyperv_delegation_ldap_username: Administrator
            """
        )
    )
    env = {
        "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".tmp" / "collections"),
        "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "VAWARE_LDAP_PASSWORD": samba_dc.ADMIN_PASSWORD,
    }
    playbook = str(pathlib.Path(PYTHON).parent / "ansible-playbook")
    argv = [playbook, "-i", str(tmp_path / "inventory.yml"), str(REPO / "playbooks" / "delegation.yml")]
    first = ad.dc.run(argv, env=env, check=False, timeout=300)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
    mig = "Microsoft Virtual System Migration Service"
    for host, peer in (("HVROLE1", "HVROLE2"), ("HVROLE2", "HVROLE1")):
        shown = ad.show(host)
        assert shown["protocol_transition"] is True
        assert sorted(shown["allowed_to_delegate_to"]) == sorted(
            [
                "cifs/FS01",
                "cifs/fs01.corp.example.test",
                f"cifs/{peer}",
                f"cifs/{peer.lower()}.corp.example.test",
                f"{mig}/{peer}",
                f"{mig}/{peer.lower()}.corp.example.test",
            ]
        )
    assert ad.s4u("HVROLE1").returncode == 0
    second = ad.dc.run(argv, env=env, check=False, timeout=300)
    assert second.returncode == 0 and "changed=0" in second.stdout and "changed=1" not in second.stdout
    for proc in (first, second):
        assert samba_dc.ADMIN_PASSWORD not in proc.stdout + proc.stderr


def _role_inventory(tmp_path, extra_vars: str) -> list:
    """argv of playbooks/delegation.yml over HVROLE3 and HVROLE4, ``extra_vars`` added to the inventory."""
    (tmp_path / "inventory.yml").write_text(
        textwrap.dedent(
            f"""\
            hyperv_hosts:
              hosts:
                hvrole3:
                hvrole4:
              vars:
                ansible_connection: local
                ansible_python_interpreter: {PYTHON}
                hyperv_delegation_ldap_server: {samba_dc.DC_FQDN}
                hyperv_delegation_ldap_username: Administrator
            """
        )
        + textwrap.indent(textwrap.dedent(extra_vars), " " * 4)
    )
    playbook = str(pathlib.Path(PYTHON).parent / "ansible-playbook")
    return [playbook, "-i", str(tmp_path / "inventory.yml"), str(REPO / "playbooks" / "delegation.yml")]


def _role_env(tmp_path) -> dict:
    return {
        "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".tmp" / "collections"),
        "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "VAWARE_LDAP_PASSWORD": samba_dc.ADMIN_PASSWORD,
    }


def test_delegation_playbook_without_services_changes_nothing(ad, tmp_path):
    """No ISO library server and no live migration: nothing to delegate to, so not even protocol transition is set."""
    before = {host: (ad.usn_changed(f"{host}$"), ad.show(host)) for host in ("HVROLE3", "HVROLE4")}
    assert all(shown["protocol_transition"] is False for _usn, shown in before.values())
    run = ad.dc.run(_role_inventory(tmp_path, ""), env=_role_env(tmp_path), check=False, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "changed=0" in run.stdout and "changed=1" not in run.stdout, run.stdout[-3000:]
    assert "Nothing to do for hvrole3" in run.stdout
    for host, (usn, shown) in before.items():
        assert ad.usn_changed(f"{host}$") == usn, f"{host} was written to"
        assert ad.show(host) == shown


LIST_OF_NAMES = "hyperv_iso_library_servers must be a list of file server names, for example [fs01] or [fs01, fs02]"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # a string passes the role's argument spec (which splits it at commas) and is refused by the role
        ('"fs01"', [LIST_OF_NAMES, 'got "fs01" (str)', "Nothing was changed in AD"]),
        ('"fs01,fs02"', [LIST_OF_NAMES, 'got "fs01,fs02" (str)']),
        ("[fs01, [fs02]]", [LIST_OF_NAMES, 'got ["fs01", ["fs02"]]']),
        # a mapping is refused by the argument spec itself, naming the variable
        ("{fs01: true}", ["argument 'hyperv_iso_library_servers' is of type dict"]),
    ],
)
def test_delegation_playbook_refuses_a_library_server_value_that_is_not_a_list_of_names(ad, tmp_path, value, expected):
    usn = ad.usn_changed("HVROLE3$")
    argv = _role_inventory(tmp_path, f"hyperv_iso_library_servers: {value}\n")
    run = ad.dc.run(argv, env=_role_env(tmp_path), check=False, timeout=300)
    out = run.stdout + run.stderr
    assert run.returncode != 0, out[-3000:]
    for text in expected:
        assert text in out, (text, out[-3000:])
    assert "Set the constrained delegation of" not in out  # refused before the module
    assert ad.usn_changed("HVROLE3$") == usn
