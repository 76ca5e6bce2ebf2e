"""The report of ad_delegation_info from directory entries: findings, domain controllers apart, both RBCD ends."""

from __future__ import annotations

from ansible_collections.vaware.hyperv.plugins.module_utils._delegation import SecurityDescriptor, sid_to_bytes
from ansible_collections.vaware.hyperv.plugins.module_utils._ldap.accounts import Account
from ansible_collections.vaware.hyperv.plugins.modules import ad_delegation_info as info

RBCD = "msDS-AllowedToActOnBehalfOfOtherIdentity"
DOMAIN = "S-1-5-21-1-2-3"


def _account(name, rid, uac, spns=(), rbcd_sids=None, classes=("top", "person", "user", "computer")):
    attrs = {
        "objectClass": [c.encode() for c in classes],
        "sAMAccountName": [f"{name}$".encode()],
        "objectSid": [sid_to_bytes(f"{DOMAIN}-{rid}")],
        "userAccountControl": [str(uac).encode()],
        "msDS-AllowedToDelegateTo": [s.encode() for s in spns],
    }
    if rbcd_sids is not None:
        attrs[RBCD] = [SecurityDescriptor.for_principals(rbcd_sids).to_bytes()]
    return Account(f"CN={name},CN=Computers,DC=c", attrs)


DC1 = _account("DC1", 1000, 0x2000 | 0x80000)
RODC = _account("RODC1", 1001, 0x1000 | 0x4000000)
OLDAPP = _account("OLDAPP", 1100, 0x1000 | 0x80000)
DISABLED = _account("GONE", 1101, 0x1000 | 0x80000 | 0x2)
HV01 = _account("HV01", 1200, 0x1000 | 0x1000000, spns=["cifs/FS01", "cifs/fs01.c"])
HV02 = _account("HV02", 1201, 0x1000)  # only allowed by FS02's descriptor
FS02 = _account("FS02", 1300, 0x1000, rbcd_sids=[f"{DOMAIN}-1201", "S-1-5-21-9-9-9-500"])


def test_whole_domain():
    entries = [DC1, RODC, OLDAPP, DISABLED, HV01, FS02]
    names = {f"{DOMAIN}-1201": HV02}
    warnings = []
    report = info.build_report(entries, None, names, warnings)
    assert [e["sam_account_name"] for e in report["unconstrained"]] == ["GONE$", "OLDAPP$"]
    assert report["unconstrained"][0]["enabled"] is False
    assert [(d["sam_account_name"], d["unconstrained"], d["read_only"]) for d in report["domain_controllers"]] == [
        ("DC1$", True, False),
        ("RODC1$", False, True),
    ]
    by_name = {e["sam_account_name"]: e for e in report["accounts"]}
    assert "RODC1$" not in by_name, "a domain controller without any delegation setting is not an account entry"
    assert by_name["DC1$"]["domain_controller"] is True
    assert by_name["HV01$"]["allowed_to_delegate_to"] == ["cifs/FS01", "cifs/fs01.c"]
    assert by_name["HV01$"]["protocol_transition"] is True
    assert by_name["HV02$"]["resource_based_targets"] == ["FS02$"], "found through the SID in FS02's descriptor"
    assert by_name["FS02$"]["resource_based_principals"] == [
        {"sid": f"{DOMAIN}-1201", "sam_account_name": "HV02$", "dn": HV02.dn},
        {"sid": "S-1-5-21-9-9-9-500", "sam_account_name": None, "dn": None},
    ]
    assert report["summary"] == {
        "accounts": 6,
        "constrained": 1,
        "protocol_transition": 1,
        "resource_based": 1,
        "unconstrained": 2,
    }
    assert warnings == []


def test_given_accounts_keep_their_order_and_an_undecodable_descriptor_is_a_warning():
    broken = Account(FS02.dn, dict(FS02.attrs, **{RBCD: [b"\x01\x00"]}))
    warnings = []
    report = info.build_report([broken, HV01], [HV02, broken, HV01], {}, warnings)
    assert [e["sam_account_name"] for e in report["accounts"]] == ["HV02$", "FS02$", "HV01$"]
    assert report["accounts"][1]["resource_based_principals"] == []
    assert warnings and all("cannot be decoded" in w and FS02.dn in w for w in warnings)
