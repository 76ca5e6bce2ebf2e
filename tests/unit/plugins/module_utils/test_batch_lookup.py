"""The batch lookup of the _ldap package: which entries of an OR-filter search belong to which name.

A batch finds many names in one search and gives each name back the entries that the single-name filter
(``account_filter``) would have found; these tests hold the two to the same rules, entry by entry.
"""

from __future__ import annotations

import pytest

from ansible_collections.vaware.hyperv.plugins.module_utils._delegation import sid_to_bytes
from ansible_collections.vaware.hyperv.plugins.module_utils._ldap import accounts
from ansible_collections.vaware.hyperv.plugins.module_utils._ldap.accounts import (
    Account,
    AccountLookup,
    WriteRights,
    chunked,
    entry_keys,
    find_accounts,
    name_keys,
    pick_account,
    sid_filter_value,
)
from ansible_collections.vaware.hyperv.plugins.module_utils._ldap.errors import LdapClientError


def _entry(dn, sam=None, dns=None, classes=("top", "person", "user", "computer"), spns=(), ou=None):
    attrs = {"objectClass": [c.encode() for c in classes]}
    if sam:
        attrs["sAMAccountName"] = [sam.encode()]
    if dns:
        attrs["dNSHostName"] = [dns.encode()]
    if spns:
        attrs["servicePrincipalName"] = [s.encode() for s in spns]
    if ou:
        attrs["ou"] = [ou.encode()]
    return Account(dn, attrs)


HV01 = _entry("CN=HV01,CN=Computers,DC=c", "HV01$", "hv01.corp.test", spns=["HOST/hv01.corp.test", "HOST/HV01"])
NODNS = _entry("CN=NODNS,CN=Computers,DC=c", "NODNS$")
USER_DUP = _entry("CN=DUP,CN=Users,DC=c", "DUP", classes=("top", "person", "user"))
COMPUTER_DUP = _entry("CN=DUP,CN=Computers,DC=c", "DUP$")
OU = _entry("OU=HVOU,DC=c", classes=("top", "organizationalUnit"), ou="HVOU")


def _matches(name, entry):
    return bool(set(name_keys(name)) & set(entry_keys(entry)))


@pytest.mark.parametrize(
    ("name", "entry", "expected"),
    [
        ("HV01", HV01, True),
        ("hv01", HV01, True),  # AD compares these case-insensitively
        ("HV01$", HV01, True),
        ("hv01.corp.test", HV01, True),  # by dNSHostName
        ("HV01.CORP.TEST", HV01, True),
        ("hv0", HV01, False),
        ("HV01$$", HV01, False),
        ("nodns.corp.test", NODNS, True),  # first label + $ for an account without dNSHostName
        ("hv01.other.test", HV01, False),  # has a dNSHostName, and it is another one
        ("DUP", USER_DUP, True),
        ("DUP", COMPUTER_DUP, True),
        ("DUP$", USER_DUP, False),
        ("HVOU", OU, True),
        ("HVOU$", OU, False),
    ],
)
def test_an_entry_belongs_to_a_name_exactly_when_the_single_filter_would_find_it(name, entry, expected):
    assert _matches(name, entry) is expected


class _Directory:
    """Answers the batch's OR filters with every entry it holds (the DC's own matching is not the point here)."""

    base_dn = "DC=c"

    def __init__(self, entries):
        self.entries = entries
        self.searches = []

    def search(self, filterstr, attrs, base=None, scope=None):
        self.searches.append(filterstr)
        return [(e.dn, e.attrs) for e in self.entries]


def test_find_accounts_gives_each_name_its_own_entries_in_chunks():
    directory = _Directory([HV01, NODNS, USER_DUP, COMPUTER_DUP, OU])
    names = ["HV01", "nodns.corp.test", "DUP", "NOSUCH", "HVOU", "CN=HV01,CN=Computers,DC=c"]
    found = find_accounts(directory, names)
    assert [e.dn for e in found["HV01"]] == [HV01.dn]
    assert [e.dn for e in found["nodns.corp.test"]] == [NODNS.dn]
    assert sorted(e.dn for e in found["DUP"]) == sorted([USER_DUP.dn, COMPUTER_DUP.dn])
    assert found["NOSUCH"] == []
    assert "CN=HV01,CN=Computers,DC=c" not in found, "DNs are read one by one, not searched"
    assert len(directory.searches) == 1 and directory.searches[0].startswith("(|")


def test_chunks_of_the_or_filter():
    assert chunked(list(range(5)), 2) == [[0, 1], [2, 3], [4]]
    assert chunked([], 100) == []


def test_lookup_errors_read_as_a_single_lookup_does():
    directory = _Directory([HV01, USER_DUP, COMPUTER_DUP, OU])
    lookup = AccountLookup(directory)
    lookup.prefetch(["HV01", "DUP", "NOSUCH", "HVOU"])
    assert lookup.account("HV01").dn == HV01.dn
    searches = len(directory.searches)
    for name, message in (
        ("DUP", "computer 'DUP' is ambiguous, it matches 2 objects"),
        ("NOSUCH", "computer 'NOSUCH' was not found below DC=c"),
        ("HVOU", "'HVOU' resolves to an organizational unit"),
    ):
        with pytest.raises(LdapClientError, match=message):
            lookup.account(name)
        with pytest.raises(LdapClientError, match=message):  # the single path says the same
            pick_account(directory, name, [e for e in directory.entries if _matches(name, e)])
    assert len(directory.searches) == searches, "prefetched names need no further search"


class _RightsDirectory:
    """A DC answering allowedAttributesEffective for the SIDs in an OR filter (or, like some DCs, only on base-scope
    reads), and for one DN on a base-scope read."""

    base_dn = "DC=c"

    def __init__(self, rights, on_subtree=True):
        self.rights = rights  # {dn: [attribute, ...]} the bound account may write
        self.on_subtree = on_subtree
        self.searches = []

    def search(self, filterstr, attrs, base=None, scope=None):
        self.searches.append(("subtree", filterstr))
        found = []
        for dn, sid in SIDS.items():
            if f"(objectSid={sid_filter_value(sid)})" in filterstr:
                attrs_ = {"objectSid": [sid_to_bytes(sid)]}
                if self.on_subtree and self.rights.get(dn):
                    attrs_["allowedAttributesEffective"] = [a.encode() for a in self.rights[dn]]
                found.append((dn, attrs_))
        return found

    def read(self, dn, attrs):
        self.searches.append(("base", dn))
        return (dn, {"allowedAttributesEffective": [a.encode() for a in self.rights.get(dn, [])]})


SIDS = {f"CN=HV{i},CN=Computers,DC=c": f"S-1-5-21-1-2-3-{1100 + i}" for i in range(5)}


def _accounts():
    return [Account(dn, {"objectSid": [sid_to_bytes(sid)]}) for dn, sid in SIDS.items()]


def test_write_rights_come_in_chunks_only_when_asked_for(monkeypatch):
    monkeypatch.setattr(accounts, "OR_FILTER_CHUNK", 2)
    dns = list(SIDS)
    directory = _RightsDirectory({dn: ["msDS-AllowedToDelegateTo"] for dn in dns[:4]})
    rights = WriteRights(directory)
    rights.expect(_accounts())
    assert directory.searches == [], "nothing is read before a write needs it"
    assert rights.writable(dns[3]) == {"msds-allowedtodelegateto"}
    assert rights.writable(dns[0]) == {"msds-allowedtodelegateto"}  # read with dns[3]: the next expected one
    assert len(directory.searches) == 1 and directory.searches[0][1].count("(objectSid=") == 2
    assert rights.writable(dns[1]) == {"msds-allowedtodelegateto"}  # with dns[2]
    assert rights.writable(dns[2]) == {"msds-allowedtodelegateto"} and len(directory.searches) == 2
    # dns[4], the last, comes without the attribute (no write access there): read on its own, and still none
    assert rights.writable(dns[4]) == set()
    assert [search[0] for search in directory.searches] == ["subtree", "subtree", "subtree", "base"]


def test_write_rights_from_a_dc_that_answers_them_on_base_reads_only(monkeypatch):
    monkeypatch.setattr(accounts, "OR_FILTER_CHUNK", 2)
    dns = list(SIDS)
    directory = _RightsDirectory({dn: ["userAccountControl"] for dn in dns}, on_subtree=False)
    rights = WriteRights(directory)
    rights.expect(_accounts())
    assert [rights.writable(dn) for dn in dns] == [{"useraccountcontrol"}] * 5
    # one chunk found nothing, so every account was then read on its own (no more chunks)
    assert [search[0] for search in directory.searches] == ["subtree"] + ["base"] * 5
    unexpected = "CN=OTHER,CN=Computers,DC=c"
    assert rights.writable(unexpected) == set() and directory.searches[-1] == ("base", unexpected)
