"""The domain-wide scan of mode=resource_based with exclusive=true, over a directory that holds a broken descriptor.

The directory is a stand-in that answers the one search the scan sends with what a DC returns: the
test Samba DC would not take such a descriptor from ldbmodify, so a real domain cannot be made to hold one.
"""

from __future__ import annotations

import pytest

from ansible_collections.vaware.hyperv.plugins.module_utils._delegation import SecurityDescriptor, sid_to_bytes
from ansible_collections.vaware.hyperv.plugins.module_utils._ldap.accounts import Account
from ansible_collections.vaware.hyperv.plugins.modules import ad_constrained_delegation as mod

HVSCAN = "S-1-5-21-1-2-3-1200"
OTHER = "S-1-5-21-1-2-3-1300"
BAD_DN = "CN=BADSD,CN=Computers,DC=corp,DC=test"
GOOD_DN = "CN=FS09,CN=Computers,DC=corp,DC=test"
RBCD = "msDS-AllowedToActOnBehalfOfOtherIdentity"


class Directory:
    def __init__(self, entries):
        self.entries = entries
        self.base_dn = "DC=corp,DC=test"
        self.searches = []

    def search(self, filterstr, attrs, base=None, scope=None):
        self.searches.append(filterstr)
        return [(dn, attrs_) for dn, attrs_ in self.entries if filterstr == f"({RBCD}=*)"]

    def read(self, dn, attrs):
        raise AssertionError(f"the scan must not read {dn}: nothing is to change")

    def modify(self, dn, modlist):
        raise AssertionError("nothing may be written")


class Module:
    check_mode = False

    def __init__(self, **params):
        self.params = params


@pytest.mark.parametrize(
    "bad",
    [
        bytes([1, 0, 0x04, 0x80]) + (0x7FFF).to_bytes(4, "little") + bytes(12),  # owner offset far beyond the data
        SecurityDescriptor.for_principals([HVSCAN]).to_bytes()[:-6],  # truncated
        b"\x01\x00",
    ],
    ids=["offset-out-of-range", "truncated", "too-short"],
)
def test_scan_skips_an_undecodable_descriptor_with_a_warning(bad):
    good = SecurityDescriptor.for_principals([OTHER]).to_bytes()
    directory = Directory(
        [
            (BAD_DN, {"sAMAccountName": [b"BADSD$"], RBCD: [bad]}),
            (GOOD_DN, {"sAMAccountName": [b"FS09$"], RBCD: [good]}),
        ]
    )
    work = mod.Delegation(Module(), directory)
    computer = Account(
        "CN=HVSCAN,CN=Computers,DC=corp,DC=test",
        {"sAMAccountName": [b"HVSCAN$"], "objectSid": [sid_to_bytes(HVSCAN)], "userAccountControl": [b"4096"]},
    )
    result = work.run_resource_based(computer, [], "present", True)
    assert result["changed"] is False and result["removed"] == []
    assert directory.searches == [f"({RBCD}=*)"]
    (warning,) = work.warnings
    assert BAD_DN in warning and "cannot be decoded" in warning and "HVSCAN$" in warning
