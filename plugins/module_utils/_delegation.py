# Copyright: (c) vaware.hyperv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""Kerberos delegation logic without any directory access.

* service principal names: parsing and validation (``cifs/fs01``, ``MSSQLSvc/sql01.corp.test:1433``,
  ``MSSQLSvc/sql01.corp.test:SQLEXPRESS``,
  ``Microsoft Virtual System Migration Service/HV02``, ``ldap/dc1.corp.test/corp.test``);
* ``userAccountControl`` flag arithmetic and names;
* the binary security descriptor of ``msDS-AllowedToActOnBehalfOfOtherIdentity`` (resource-based
  constrained delegation) with SIDs: encode and decode;
* the desired-state calculation for a multi-valued list (present / absent / exclusive).
"""

import re
import struct

# --------------------------------------------------------------------------- userAccountControl
UAC_FLAGS = (
    ("SCRIPT", 0x1),
    ("ACCOUNTDISABLE", 0x2),
    ("HOMEDIR_REQUIRED", 0x8),
    ("LOCKOUT", 0x10),
    ("PASSWD_NOTREQD", 0x20),
    ("PASSWD_CANT_CHANGE", 0x40),
    ("ENCRYPTED_TEXT_PWD_ALLOWED", 0x80),
    ("TEMP_DUPLICATE_ACCOUNT", 0x100),
    ("NORMAL_ACCOUNT", 0x200),
    ("INTERDOMAIN_TRUST_ACCOUNT", 0x800),
    ("WORKSTATION_TRUST_ACCOUNT", 0x1000),
    ("SERVER_TRUST_ACCOUNT", 0x2000),
    ("DONT_EXPIRE_PASSWORD", 0x10000),
    ("MNS_LOGON_ACCOUNT", 0x20000),
    ("SMARTCARD_REQUIRED", 0x40000),
    ("TRUSTED_FOR_DELEGATION", 0x80000),
    ("NOT_DELEGATED", 0x100000),
    ("USE_DES_KEY_ONLY", 0x200000),
    ("DONT_REQ_PREAUTH", 0x400000),
    ("PASSWORD_EXPIRED", 0x800000),
    ("TRUSTED_TO_AUTH_FOR_DELEGATION", 0x1000000),
    ("PARTIAL_SECRETS_ACCOUNT", 0x4000000),
)
UAC = dict(UAC_FLAGS)
TRUSTED_FOR_DELEGATION = UAC["TRUSTED_FOR_DELEGATION"]
TRUSTED_TO_AUTH_FOR_DELEGATION = UAC["TRUSTED_TO_AUTH_FOR_DELEGATION"]
NOT_DELEGATED = UAC["NOT_DELEGATED"]


def uac_flag_names(value):
    """Names of the bits set in ``value``; unknown bits as hex."""
    names = [name for name, bit in UAC_FLAGS if value & bit]
    unknown = value & ~sum(bit for _name, bit in UAC_FLAGS)
    if unknown:
        names.append(f"0x{unknown:x}")
    return names


def with_flag(value, flag, enabled):
    """``value`` with ``flag`` set (enabled=True) or cleared; all other bits untouched."""
    return (value | flag) if enabled else (value & ~flag)


def to_signed32(value):
    """AD stores userAccountControl as a signed 32-bit INTEGER."""
    value &= 0xFFFFFFFF
    return value - 0x100000000 if value & 0x80000000 else value


# --------------------------------------------------------------------------- SPNs
class SpnError(ValueError):
    pass


_HOST_RE = re.compile(
    r"^(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$"
)
_SERVICE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$")
# Named instance after the host (``MSSQLSvc/sql01.corp.test:SQLEXPRESS``): SQL Server's instance name rules.
_INSTANCE_RE = re.compile(r"^[A-Za-z_#][A-Za-z0-9_$#]{0,63}$")


class Spn:
    """``serviceclass/host[:port][/servicename]``; compares case-insensitively, as AD does.

    ``port`` is an int, or a str for a named instance (``MSSQLSvc/sql01.corp.test:SQLEXPRESS``).
    """

    __slots__ = ("host", "port", "service", "service_name")

    def __init__(self, service, host, port=None, service_name=None):
        self.service = service
        self.host = host
        self.port = port
        self.service_name = service_name

    @classmethod
    def parse(cls, text):
        if not isinstance(text, str):
            raise SpnError(f"SPN {text!r} is not a string")
        if text != text.strip() or not text:
            raise SpnError(f"SPN {text!r} has leading/trailing blanks or is empty")
        parts = text.split("/")
        if len(parts) not in (2, 3):
            raise SpnError(
                f"SPN {text!r} is malformed: expected serviceclass/host[:port][/servicename], "
                "for example cifs/fs01.corp.example.com"
            )
        service, hostport = parts[0], parts[1]
        service_name = parts[2] if len(parts) == 3 else None
        cls.validate_service(service, text)
        host, port = hostport, None
        if ":" in hostport:
            host, _colon, port_text = hostport.rpartition(":")
            if port_text.isdigit():
                if not 0 < int(port_text) < 65536:
                    raise SpnError(f"SPN {text!r} has port {port_text!r}; expected a number from 1 to 65535")
                port = int(port_text)
            elif _INSTANCE_RE.match(port_text):
                port = port_text  # a named instance, e.g. MSSQLSvc/sql01.corp.test:SQLEXPRESS
            else:
                raise SpnError(
                    f"SPN {text!r} has port {port_text!r}; expected a number from 1 to 65535 or an instance name "
                    "(a letter, '_' or '#' first, then letters, digits, '_', '$' or '#'; for example SQLEXPRESS)"
                )
        cls.validate_host(host, text)
        if service_name is not None and (not service_name or any(c.isspace() for c in service_name)):
            raise SpnError(f"SPN {text!r} has an empty or blank service name after the host")
        return cls(service, host, port, service_name)

    @staticmethod
    def validate_service(service, context=None):
        if not service or not _SERVICE_RE.match(service) or service != service.strip():
            raise SpnError(
                (f"SPN {context!r}: " if context else "")
                + f"service class {service!r} is not valid: letters, digits, spaces, '.', '_' and '-' only, "
                "for example cifs"
            )

    @staticmethod
    def validate_host(host, context=None):
        if not host or not _HOST_RE.match(host):
            raise SpnError(
                "{}host {!r} is not a valid host name (short name or DNS name expected)".format(
                    f"SPN {context!r}: " if context else "", host
                )
            )

    def __str__(self):
        text = f"{self.service}/{self.host}"
        if self.port is not None:
            text += f":{self.port}"
        if self.service_name is not None:
            text += "/" + self.service_name
        return text

    def __repr__(self):
        return f"Spn({str(self)!r})"

    @property
    def key(self):
        return str(self).lower()

    def __eq__(self, other):
        return isinstance(other, Spn) and self.key == other.key

    def __hash__(self):
        return hash(self.key)


def spn_forms(service, short_name, dns_name, forms="both", port=None):
    """The SPNs ADUC adds for a service on a host: ``service/SHORT`` and ``service/dns.name``."""
    result = []
    if forms in ("both", "short") and short_name:
        result.append(Spn(service, short_name, port))
    if forms in ("both", "fqdn") and dns_name:
        result.append(Spn(service, dns_name, port))
    if not result:
        raise SpnError("no {} name known for {}".format("DNS" if forms == "fqdn" else "short", short_name or dns_name))
    return result


# --------------------------------------------------------------------------- desired state
def plan_values(current, requested, state, exclusive, key=lambda v: v.lower()):
    """Work out a multi-valued attribute's new content.

    ``current`` and ``requested`` are lists of strings; comparison uses ``key`` (case-insensitive
    by default, as AD does for SPNs). Returns ``(after, added, removed)`` where ``added`` keeps the
    spelling of ``requested`` and ``removed`` the spelling stored in ``current``; order is preserved.
    """
    if state not in ("present", "absent"):
        raise ValueError("state must be present or absent")
    wanted = {}
    for value in requested:
        wanted.setdefault(key(value), value)
    have = {}
    for value in current:
        have.setdefault(key(value), value)
    if state == "present":
        added = [value for k, value in wanted.items() if k not in have]
        removed = [value for k, value in have.items() if k not in wanted] if exclusive else []
    else:
        added = []
        removed = [value for k, value in have.items() if k in wanted]
    removed_keys = {key(v) for v in removed}
    after = [value for value in current if key(value) not in removed_keys] + added
    return after, added, removed


# --------------------------------------------------------------------------- SIDs
def sid_to_bytes(sid):
    """``S-1-5-21-...`` to its binary form (MS-DTYP 2.4.2.2)."""
    parts = sid.strip().split("-")
    if len(parts) < 3 or parts[0].upper() != "S" or not all(p.isdigit() for p in parts[1:]):
        raise ValueError(f"{sid!r} is not a SID (S-1-5-21-...)")
    revision, authority = int(parts[1]), int(parts[2])
    subs = [int(p) for p in parts[3:]]
    if revision != 1 or len(subs) > 15 or authority >= 1 << 48 or any(s >= 1 << 32 for s in subs):
        raise ValueError(f"{sid!r} is not a valid SID")
    return struct.pack("<BB", revision, len(subs)) + authority.to_bytes(6, "big") + struct.pack(f"<{len(subs)}I", *subs)


def sid_from_bytes(data, offset=0, end=None):
    """(sid string, length in bytes) from binary at ``offset``; the SID must end by ``end`` (default: the data's end).

    Raises ValueError (never struct.error or IndexError) when the bytes there are not a whole SID.
    """
    limit = len(data) if end is None else min(end, len(data))
    if offset < 0 or offset + 8 > limit:
        raise ValueError(f"no SID at offset {offset}: the data ends at {limit}")
    revision, count = struct.unpack_from("<BB", data, offset)
    if revision != 1 or count > 15:
        raise ValueError(f"no SID at offset {offset}")
    if offset + 8 + 4 * count > limit:
        raise ValueError(f"SID at offset {offset} claims {count} sub-authorities but the data ends at {limit}")
    authority = int.from_bytes(data[offset + 2 : offset + 8], "big")
    subs = struct.unpack_from(f"<{count}I", data, offset + 8)
    return f"S-{revision}-{authority}" + "".join(f"-{s}" for s in subs), 8 + 4 * count


# --------------------------------------------------------------------------- security descriptor
SE_DACL_PRESENT = 0x0004
SE_SELF_RELATIVE = 0x8000
ACCESS_ALLOWED_ACE_TYPE = 0x00
ACCESS_DENIED_ACE_TYPE = 0x01
ACL_REVISION = 2
# What ADUC / Set-ADComputer -PrincipalsAllowedToDelegateToAccount write for each principal:
# (A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;<SID>)
RBCD_ACCESS_MASK = 0x000F01FF
BUILTIN_ADMINISTRATORS = "S-1-5-32-544"


class Ace:
    __slots__ = ("ace_type", "flags", "mask", "raw", "sid")

    def __init__(self, ace_type, flags, mask, sid, raw=None):
        self.ace_type = ace_type
        self.flags = flags
        self.mask = mask
        self.sid = sid
        self.raw = raw  # original bytes of ACE types this code does not interpret

    def to_bytes(self):
        if self.raw is not None:
            return self.raw
        sid = sid_to_bytes(self.sid)
        size = 8 + len(sid)
        return struct.pack("<BBHI", self.ace_type, self.flags, size, self.mask) + sid

    def __repr__(self):
        return f"Ace(type={self.ace_type}, flags=0x{self.flags:x}, mask=0x{self.mask:x}, sid={self.sid!r})"


class SecurityDescriptor:
    """A self-relative security descriptor reduced to what RBCD uses: owner, group and DACL."""

    def __init__(
        self,
        owner=BUILTIN_ADMINISTRATORS,
        group=None,
        dacl=None,
        control=SE_DACL_PRESENT | SE_SELF_RELATIVE,
        sacl_raw=None,
    ):
        self.owner = owner
        self.group = group
        self.dacl = list(dacl or [])
        self.control = control
        self.sacl_raw = sacl_raw

    @classmethod
    def for_principals(cls, sids):
        return cls(dacl=[Ace(ACCESS_ALLOWED_ACE_TYPE, 0, RBCD_ACCESS_MASK, sid) for sid in sids])

    def allowed_sids(self):
        """SIDs granted by access-allowed ACEs, in order, without repeats."""
        seen = []
        for ace in self.dacl:
            if ace.ace_type == ACCESS_ALLOWED_ACE_TYPE and ace.sid and ace.sid not in seen:
                seen.append(ace.sid)
        return seen

    def with_allowed_sids(self, sids):
        """A copy whose allow ACEs are exactly ``sids`` (other ACEs, owner and group kept)."""
        wanted = list(dict.fromkeys(sids))
        kept = [ace for ace in self.dacl if ace.ace_type != ACCESS_ALLOWED_ACE_TYPE or ace.sid in wanted]
        have = {ace.sid for ace in kept if ace.ace_type == ACCESS_ALLOWED_ACE_TYPE}
        kept += [Ace(ACCESS_ALLOWED_ACE_TYPE, 0, RBCD_ACCESS_MASK, sid) for sid in wanted if sid not in have]
        return SecurityDescriptor(self.owner, self.group, kept, self.control | SE_DACL_PRESENT, self.sacl_raw)

    def to_bytes(self):
        owner = sid_to_bytes(self.owner) if self.owner else b""
        group = sid_to_bytes(self.group) if self.group else b""
        aces = b"".join(ace.to_bytes() for ace in self.dacl)
        dacl = struct.pack("<BBHHH", ACL_REVISION, 0, 8 + len(aces), len(self.dacl), 0) + aces
        sacl = self.sacl_raw or b""
        offset = 20
        sacl_off = offset if sacl else 0
        offset += len(sacl)
        dacl_off = offset
        offset += len(dacl)
        owner_off = offset if owner else 0
        offset += len(owner)
        group_off = offset if group else 0
        control = (self.control | SE_SELF_RELATIVE | SE_DACL_PRESENT) & ~(0 if sacl else 0x0010)
        header = struct.pack("<BBHIIII", 1, 0, control, owner_off, group_off, sacl_off, dacl_off)
        return header + sacl + dacl + owner + group

    @classmethod
    def from_bytes(cls, data):
        if len(data) < 20:
            raise ValueError(f"security descriptor too short ({len(data)} bytes)")
        revision, _sbz1, control, owner_off, group_off, sacl_off, dacl_off = struct.unpack_from("<BBHIIII", data, 0)
        if revision != 1 or not control & SE_SELF_RELATIVE:
            raise ValueError(f"not a self-relative security descriptor (revision {revision}, control 0x{control:x})")
        owner = sid_from_bytes(data, owner_off)[0] if owner_off else None
        group = sid_from_bytes(data, group_off)[0] if group_off else None
        sacl_raw = None
        if sacl_off and control & 0x0010:
            size = _acl_size(data, sacl_off, "SACL")
            sacl_raw = bytes(data[sacl_off : sacl_off + size])
        aces = []
        if dacl_off and control & SE_DACL_PRESENT:
            size = _acl_size(data, dacl_off, "DACL")
            count = struct.unpack_from("<H", data, dacl_off + 4)[0]
            pos = dacl_off + 8
            for _index in range(count):
                if pos + 4 > dacl_off + size:
                    raise ValueError(f"ACE at offset {pos} overruns its ACL (the ACL holds fewer than {count} ACEs)")
                ace_type, flags, ace_size = struct.unpack_from("<BBH", data, pos)
                if ace_size < 8 or pos + ace_size > dacl_off + size:
                    raise ValueError(f"ACE at offset {pos} overruns its ACL")
                if ace_type in (ACCESS_ALLOWED_ACE_TYPE, ACCESS_DENIED_ACE_TYPE):
                    mask = struct.unpack_from("<I", data, pos + 4)[0]
                    sid = sid_from_bytes(data, pos + 8, end=pos + ace_size)[0]
                    aces.append(Ace(ace_type, flags, mask, sid))
                else:
                    aces.append(Ace(ace_type, flags, 0, None, raw=bytes(data[pos : pos + ace_size])))
                pos += ace_size
        return cls(owner, group, aces, control, sacl_raw)


def _acl_size(data, offset, what):
    """The byte size an ACL header at ``offset`` announces, checked against the data."""
    if offset + 8 > len(data):
        raise ValueError(f"{what} at offset {offset} lies beyond the end of the data ({len(data)} bytes)")
    size = struct.unpack_from("<H", data, offset + 2)[0]
    if size < 8 or offset + size > len(data):
        raise ValueError(f"{what} at offset {offset} claims {size} bytes but the data has {len(data) - offset} there")
    return size
