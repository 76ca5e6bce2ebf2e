"""SPN parsing, userAccountControl arithmetic, RBCD security descriptors and the desired-state plan."""

from __future__ import annotations

import base64
import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.vaware.hyperv.plugins.module_utils._delegation import (
    ACCESS_DENIED_ACE_TYPE,
    RBCD_ACCESS_MASK,
    TRUSTED_FOR_DELEGATION,
    TRUSTED_TO_AUTH_FOR_DELEGATION,
    Ace,
    SecurityDescriptor,
    Spn,
    SpnError,
    plan_values,
    sid_from_bytes,
    sid_to_bytes,
    spn_forms,
    to_signed32,
    uac_flag_names,
    with_flag,
)


# ---------------------------------------------------------------------- SPNs
@pytest.mark.parametrize(
    ("text", "service", "host", "port", "name"),
    [
        ("cifs/fs01", "cifs", "fs01", None, None),
        ("cifs/fs01.corp.example.com", "cifs", "fs01.corp.example.com", None, None),
        ("MSSQLSvc/sql01.corp.example.com:1433", "MSSQLSvc", "sql01.corp.example.com", 1433, None),
        ("MSSQLSvc/sql01.corp.example.com:SQLEXPRESS", "MSSQLSvc", "sql01.corp.example.com", "SQLEXPRESS", None),
        ("MSSQLSvc/SQL01:Inst_2$", "MSSQLSvc", "SQL01", "Inst_2$", None),
        ("ldap/dc1.corp.example.com/corp.example.com", "ldap", "dc1.corp.example.com", None, "corp.example.com"),
        ("ldap/dc1.corp.example.com:389/corp", "ldap", "dc1.corp.example.com", 389, "corp"),
        (
            "Microsoft Virtual System Migration Service/HV02",
            "Microsoft Virtual System Migration Service",
            "HV02",
            None,
            None,
        ),
        ("HOST/FS01", "HOST", "FS01", None, None),
    ],
)
def test_spn_parse(text, service, host, port, name):
    spn = Spn.parse(text)
    assert (spn.service, spn.host, spn.port, spn.service_name) == (service, host, port, name)
    assert str(spn) == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cifs", "malformed"),
        ("", "empty"),
        (" cifs/fs01", "blanks"),
        ("cifs/", "host ''"),
        ("/fs01", "service class ''"),
        ("cifs/fs01:0", "port '0'"),
        ("cifs/fs01:65536", "port '65536'"),
        ("cifs/fs01:a@b", "port 'a@b'; expected a number from 1 to 65535 or an instance name"),
        ("MSSQLSvc/sql01:SQL EXPRESS", "port 'SQL EXPRESS'"),
        ("MSSQLSvc/sql01:-x", "port '-x'"),
        ("MSSQLSvc/sql01:", "port ''"),
        ("cifs/fs 01", "host 'fs 01'"),
        ("cifs/-fs01", "host '-fs01'"),
        ("ci@fs/fs01", "service class 'ci@fs'"),
        ("a/b/c/d", "malformed"),
        ("cifs/fs01/", "empty or blank service name"),
    ],
)
def test_spn_parse_rejects(text, message):
    with pytest.raises(SpnError, match=message.replace("(", r"\(")):
        Spn.parse(text)


def test_named_instance_spn_renders_unchanged_and_compares_case_insensitively():
    spn = Spn.parse("MSSQLSvc/sql01.corp.test:SQLEXPRESS")
    assert str(spn) == "MSSQLSvc/sql01.corp.test:SQLEXPRESS"
    assert spn == Spn.parse("mssqlsvc/SQL01.corp.test:sqlexpress")
    assert spn != Spn.parse("MSSQLSvc/sql01.corp.test:1433")


def test_spn_equality_is_case_insensitive():
    assert Spn.parse("CIFS/FS01.corp.example.com") == Spn.parse("cifs/fs01.CORP.example.com")
    assert len({Spn.parse("cifs/FS01"), Spn.parse("cifs/fs01")}) == 1
    assert Spn.parse("cifs/fs01:445") != Spn.parse("cifs/fs01")


def test_spn_forms():
    assert [str(s) for s in spn_forms("cifs", "FS01", "fs01.corp.example.com")] == [
        "cifs/FS01",
        "cifs/fs01.corp.example.com",
    ]
    assert [str(s) for s in spn_forms("cifs", "FS01", "fs01.corp.example.com", "short")] == ["cifs/FS01"]
    assert [str(s) for s in spn_forms("MSSQLSvc", "SQL01", "sql01.x.test", "fqdn", 1433)] == [
        "MSSQLSvc/sql01.x.test:1433"
    ]
    with pytest.raises(SpnError, match="no DNS name"):
        spn_forms("cifs", "FS01", None, "fqdn")


@given(
    service=st.from_regex(r"\A[A-Za-z][A-Za-z0-9._-]{0,15}\Z"),
    host=st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\.[a-z0-9]{1,8}){0,3}\Z"),
    port=st.none() | st.integers(1, 65535),
)
def test_spn_round_trip(service, host, port):
    text = f"{service}/{host}" + (f":{port}" if port else "")
    spn = Spn.parse(text)
    assert str(spn) == text and Spn.parse(str(spn)) == spn


# ---------------------------------------------------------------------- userAccountControl
def test_flag_arithmetic_touches_one_bit():
    workstation = 0x1000
    on = with_flag(workstation, TRUSTED_TO_AUTH_FOR_DELEGATION, True)
    assert on == 0x1001000
    assert with_flag(on, TRUSTED_TO_AUTH_FOR_DELEGATION, True) == on
    assert with_flag(on, TRUSTED_TO_AUTH_FOR_DELEGATION, False) == workstation
    assert with_flag(workstation, TRUSTED_TO_AUTH_FOR_DELEGATION, False) == workstation
    assert with_flag(0x81000, TRUSTED_FOR_DELEGATION, False) == 0x1000


@given(st.integers(0, 0xFFFFFFFF), st.booleans())
def test_with_flag_changes_nothing_else(value, enabled):
    result = with_flag(value, TRUSTED_TO_AUTH_FOR_DELEGATION, enabled)
    assert result & ~TRUSTED_TO_AUTH_FOR_DELEGATION == value & ~TRUSTED_TO_AUTH_FOR_DELEGATION
    assert bool(result & TRUSTED_TO_AUTH_FOR_DELEGATION) is enabled


def test_flag_names():
    assert uac_flag_names(0x1001000) == ["WORKSTATION_TRUST_ACCOUNT", "TRUSTED_TO_AUTH_FOR_DELEGATION"]
    assert uac_flag_names(0x82000) == ["SERVER_TRUST_ACCOUNT", "TRUSTED_FOR_DELEGATION"]
    assert uac_flag_names(0x10000000 | 0x200) == ["NORMAL_ACCOUNT", "0x10000000"]


def test_signed32_for_ldap():
    assert to_signed32(0x1001000) == 0x1001000
    assert to_signed32(0x80000000) == -0x80000000
    assert to_signed32(0xFFFFFFFF) == -1


# ---------------------------------------------------------------------- SIDs and security descriptors
def test_sid_binary_matches_windows_layout():
    # S-1-5-32-544 (BUILTIN\\Administrators): revision 1, 2 sub-authorities, authority 5 big-endian
    assert sid_to_bytes("S-1-5-32-544").hex() == "01020000000000052000000020020000"
    sid = "S-1-5-21-974725112-1287955024-3379670546-1103"
    assert sid_from_bytes(sid_to_bytes(sid)) == (sid, 28)
    for bad in ("S-1", "X-1-5-21", "S-1-5-21-abc", "S-2-5-21-1", "S-1-5-" + "-".join(["1"] * 16)):
        with pytest.raises(ValueError):
            sid_to_bytes(bad)


# What `samba-tool delegation add-principal FS01$ HYPERV02$ / HYPERV01$` stored on a Samba 4.17 DC.
SAMBA_SD = bytes.fromhex(
    "010004801400000000000000000000002400000001020000000000052000000020020000020050000200000000002400ff010f0001"
    "0500000000000515000000f81f193a50a2c44c12ae71c94f04000000002400ff010f00010500000000000515000000f81f193a50a2c4"
    "4c12ae71c94e040000"
)
HV02 = "S-1-5-21-974725112-1287955024-3379670546-1103"
HV01 = "S-1-5-21-974725112-1287955024-3379670546-1102"


def test_decode_sd_written_by_samba_tool():
    sd = SecurityDescriptor.from_bytes(SAMBA_SD)
    assert sd.owner == "S-1-5-32-544"
    assert sd.group is None
    assert sd.allowed_sids() == [HV02, HV01]
    assert all(ace.mask == RBCD_ACCESS_MASK for ace in sd.dacl)


def test_encode_decode_round_trip_and_editing():
    sd = SecurityDescriptor.for_principals([HV01])
    data = sd.to_bytes()
    again = SecurityDescriptor.from_bytes(data)
    assert again.allowed_sids() == [HV01] and again.owner == "S-1-5-32-544"
    assert again.to_bytes() == data
    more = again.with_allowed_sids([HV01, HV02])
    assert SecurityDescriptor.from_bytes(more.to_bytes()).allowed_sids() == [HV01, HV02]
    less = SecurityDescriptor.from_bytes(SAMBA_SD).with_allowed_sids([HV01])
    decoded = SecurityDescriptor.from_bytes(less.to_bytes())
    assert decoded.allowed_sids() == [HV01] and decoded.owner == "S-1-5-32-544"


def test_other_aces_are_kept():
    sd = SecurityDescriptor(
        dacl=[Ace(ACCESS_DENIED_ACE_TYPE, 0, RBCD_ACCESS_MASK, HV02), Ace(0, 0, RBCD_ACCESS_MASK, HV01)]
    )
    edited = SecurityDescriptor.from_bytes(sd.with_allowed_sids([]).to_bytes())
    assert [(a.ace_type, a.sid) for a in edited.dacl] == [(ACCESS_DENIED_ACE_TYPE, HV02)]


def test_decode_rejects_garbage():
    with pytest.raises(ValueError, match="too short"):
        SecurityDescriptor.from_bytes(b"\x01\x00")
    with pytest.raises(ValueError, match="self-relative"):
        SecurityDescriptor.from_bytes(b"\x01\x00\x04\x00" + b"\x00" * 16)
    broken = bytearray(SecurityDescriptor.for_principals([HV01]).to_bytes())
    broken[20 + 8 + 2] = 0xFF  # first ACE claims 255 bytes
    with pytest.raises(ValueError, match="overruns"):
        SecurityDescriptor.from_bytes(bytes(broken))


def _sd_with_header(**offsets):
    """A valid descriptor for HV01 with header fields replaced (owner/group/sacl/dacl offsets)."""
    data = bytearray(SecurityDescriptor.for_principals([HV01]).to_bytes())
    fields = {"owner": 4, "group": 8, "sacl": 12, "dacl": 16}
    for name, value in offsets.items():
        data[fields[name] : fields[name] + 4] = value.to_bytes(4, "little")
    return bytes(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_sd_with_header(owner=0xFFFF), "no SID at offset 65535"),
        (_sd_with_header(group=0x7FFFFFF0), "no SID at offset"),
        (_sd_with_header(dacl=0x1000), "DACL at offset 4096 lies beyond"),
        (SecurityDescriptor.for_principals([HV01]).to_bytes()[:-3], "claims 2 sub-authorities"),
        (_sd_with_header(owner=0)[:30], "DACL at offset 20 claims 44 bytes"),
    ],
    ids=["owner-offset", "group-offset", "dacl-offset", "owner-sid-truncated", "acl-truncated"],
)
def test_decode_out_of_range_raises_value_error(data, message):
    with pytest.raises(ValueError, match=message):
        SecurityDescriptor.from_bytes(data)


def test_decode_ace_count_beyond_acl_and_sid_beyond_ace():
    data = bytearray(SecurityDescriptor.for_principals([HV01]).to_bytes())
    data[20 + 4] = 9  # the DACL claims 9 ACEs but holds one
    with pytest.raises(ValueError, match="fewer than 9 ACEs"):
        SecurityDescriptor.from_bytes(bytes(data))
    data = bytearray(SecurityDescriptor.for_principals([HV01]).to_bytes())
    data[20 + 8 + 2] = 12  # the ACE is too small for its SID (the SID would read into the next field)
    with pytest.raises(ValueError, match="no SID at offset 36"):
        SecurityDescriptor.from_bytes(bytes(data))


def test_sid_from_bytes_truncated():
    with pytest.raises(ValueError, match="no SID at offset 0"):
        sid_from_bytes(b"\x01\x05\x00")
    with pytest.raises(ValueError, match="sub-authorities"):
        sid_from_bytes(sid_to_bytes(HV01)[:-1])


@given(st.binary(max_size=200))
def test_decode_random_bytes_raises_only_value_error(data):
    with contextlib.suppress(ValueError):
        SecurityDescriptor.from_bytes(data)


@given(st.binary(min_size=20, max_size=120), st.integers(0, 3), st.integers(0, 200))
def test_decode_valid_header_random_offsets_raises_only_value_error(body, field, offset):
    data = bytearray(SecurityDescriptor.for_principals([HV01, HV02]).to_bytes() + body)
    data[4 + 4 * field : 8 + 4 * field] = offset.to_bytes(4, "little")
    data[2:4] = (0x8014).to_bytes(2, "little")  # self-relative, DACL and SACL present
    with contextlib.suppress(ValueError):
        SecurityDescriptor.from_bytes(bytes(data))


@given(st.lists(st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)), max_size=6))
def test_sd_round_trip_property(rids):
    sids = list(dict.fromkeys(f"S-1-5-21-{a}-{b}-1" for a, b in rids))
    sd = SecurityDescriptor.for_principals(sids)
    assert SecurityDescriptor.from_bytes(sd.to_bytes()).allowed_sids() == sids


def test_base64_of_windows_sd_decodes():
    # O:BAD:(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;S-1-5-21-1-2-3-1105) as Set-ADComputer writes it
    sd = SecurityDescriptor.for_principals(["S-1-5-21-1-2-3-1105"]).to_bytes()
    assert SecurityDescriptor.from_bytes(base64.b64decode(base64.b64encode(sd))).allowed_sids() == [
        "S-1-5-21-1-2-3-1105"
    ]


# ---------------------------------------------------------------------- desired state
def test_plan_present_adds_missing_only():
    after, added, removed = plan_values(["cifs/FS01"], ["CIFS/fs01", "cifs/fs01.x.test"], "present", False)
    assert added == ["cifs/fs01.x.test"] and removed == []
    assert after == ["cifs/FS01", "cifs/fs01.x.test"]


def test_plan_present_exclusive_removes_others_with_stored_spelling():
    after, added, removed = plan_values(["cifs/FS01", "HOST/fs01", "http/web"], ["cifs/fs01"], "present", True)
    assert added == [] and removed == ["HOST/fs01", "http/web"] and after == ["cifs/FS01"]


def test_plan_absent():
    after, added, removed = plan_values(["cifs/FS01", "HOST/fs01"], ["cifs/fs01", "nothere/x"], "absent", False)
    assert added == [] and removed == ["cifs/FS01"] and after == ["HOST/fs01"]


def test_plan_nothing_to_do():
    assert plan_values(["a/b"], ["A/B"], "present", True) == (["a/b"], [], [])
    assert plan_values([], [], "present", False) == ([], [], [])
    with pytest.raises(ValueError):
        plan_values([], [], "gone", False)


@given(
    st.lists(st.sampled_from(["a/x", "A/X", "b/y", "c/z", "d/w"]), max_size=5),
    st.lists(st.sampled_from(["a/x", "b/Y", "c/z", "e/v"]), max_size=5),
    st.sampled_from(["present", "absent"]),
    st.booleans(),
)
def test_plan_properties(current, requested, state, exclusive):
    if state == "absent":
        exclusive = False
    after, _added, _removed = plan_values(current, requested, state, exclusive)
    keys = {v.lower() for v in after}
    want = {v.lower() for v in requested}
    if state == "present":
        assert want <= keys
        if exclusive:
            assert keys == want
    else:
        assert not keys & want
    # applying the plan again changes nothing
    assert plan_values(after, requested, state, exclusive)[1:] == ([], [])
