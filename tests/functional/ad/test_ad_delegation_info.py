"""ad_delegation_info against a real Samba AD DC: settings made by samba-tool and by the module are reported."""

from __future__ import annotations

import json
import uuid

import pytest

pytestmark = pytest.mark.samba

INFO = "ad_delegation_info"
CIFS_FS01 = {"service": "cifs", "host": "fs01"}
FS01_SPNS = sorted(["cifs/FS01", "cifs/fs01.corp.example.test"], key=str.lower)


def _sid(ad, sam):
    (sid,) = ad.dc.ldb_attr(f"(sAMAccountName={sam})", "objectSid")
    return sid


def test_audit_finds_unconstrained_delegation_set_by_samba_tool_and_lists_dcs_apart(ad):
    before = ad.run({}, module=INFO)
    assert not before.failed, before.msg
    assert "AUDUNC$" not in [e["sam_account_name"] for e in before.result["unconstrained"]]

    ad.dc.samba_tool("delegation", "for-any-service", "AUDUNC$", "on")
    log = ad.dc.workdir / f"info-searches-{uuid.uuid4().hex}.jsonl"
    run = ad.run(
        {}, module=INFO, check_mode=True, env={"VAWARE_LDAP_SEARCH_LOG": str(log), "VAWARE_TEST_LDAP_PAGE_SIZE": "2"}
    )
    assert not run.failed, run.msg
    assert run.result["changed"] is False and run.writes == []
    unconstrained = {e["sam_account_name"]: e for e in run.result["unconstrained"]}
    assert {"AUDUNC$", "UNCON$"} <= set(unconstrained), unconstrained
    assert unconstrained["AUDUNC$"]["dn"] == "CN=AUDUNC,CN=Computers,DC=corp,DC=example,DC=test"
    assert unconstrained["AUDUNC$"]["enabled"] is True
    assert "DC1$" not in unconstrained, "a domain controller is reported apart, not as a finding"
    dcs = {e["sam_account_name"]: e for e in run.result["domain_controllers"]}
    assert dcs["DC1$"]["unconstrained"] is True and dcs["DC1$"]["read_only"] is False
    entries = {e["sam_account_name"]: e for e in run.result["accounts"]}
    assert entries["AUDUNC$"]["unconstrained"] is True and entries["AUDUNC$"]["domain_controller"] is False
    assert entries["DC1$"]["domain_controller"] is True
    assert run.result["summary"]["unconstrained"] == len(unconstrained)
    # the domain-wide search is paged: with two entries a page, several requests follow the cookie
    domain = [json.loads(line) for line in log.read_text().splitlines()]
    domain = [s for s in domain if "msDS-AllowedToDelegateTo=*" in s["filter"]]
    assert len(domain) >= len(entries) // 2 and all(s["paged"] and s["page_size"] == 2 for s in domain), domain
    # the independent view agrees
    assert ad.dc.delegation_show("AUDUNC$")["unconstrained"] is True


def test_info_for_given_accounts_constrained_protocol_transition_and_resource_based(ad):
    configured = ad.run({"computer": "AUDINFO", "services": [CIFS_FS01], "protocol_transition": True})
    assert not configured.failed, configured.msg
    ad.dc.samba_tool("delegation", "add-principal", "FSAUD$", "AUDRBCD$")
    audrbcd_sid = _sid(ad, "AUDRBCD$")

    run = ad.run({"accounts": ["AUDINFO", "fsaud.corp.example.test", "AUDRBCD$"]}, module=INFO)
    assert not run.failed, run.msg
    audinfo, fsaud, audrbcd = run.result["accounts"]
    assert audinfo["sam_account_name"] == "AUDINFO$" and audinfo["object_class"] == "computer"
    assert audinfo["allowed_to_delegate_to"] == FS01_SPNS and audinfo["protocol_transition"] is True
    assert audinfo["unconstrained"] is False and audinfo["resource_based_targets"] == []
    assert fsaud["resource_based_principals"] == [
        {"sid": audrbcd_sid, "sam_account_name": "AUDRBCD$", "dn": "CN=AUDRBCD,CN=Computers,DC=corp,DC=example,DC=test"}
    ]
    assert audrbcd["resource_based_targets"] == ["FSAUD$"] and audrbcd["allowed_to_delegate_to"] == []
    assert audrbcd["protocol_transition"] is False

    # the whole domain includes both ends of the resource-based entry
    domain = {e["sam_account_name"]: e for e in ad.run({}, module=INFO).result["accounts"]}
    assert domain["AUDRBCD$"]["resource_based_targets"] == ["FSAUD$"]
    assert domain["FSAUD$"]["resource_based_principals"][0]["sid"] == audrbcd_sid
    assert domain["AUDINFO$"]["allowed_to_delegate_to"] == FS01_SPNS


def test_info_names_every_account_it_cannot_find(ad):
    run = ad.run({"accounts": ["AUDINFO", "NOSUCH77", "DUP", "HVGROUP"]}, module=INFO)
    assert run.failed
    assert "accounts[1] 'NOSUCH77' was not found" in run.msg, run.msg
    assert "accounts[2] 'DUP' is ambiguous" in run.msg and "'HVGROUP' resolves to a group" in run.msg
