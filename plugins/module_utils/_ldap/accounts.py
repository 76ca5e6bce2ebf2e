# Copyright: (c) vaware.hyperv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""Finding Active Directory accounts by the names administrators use.

Shared by the vaware.hyperv AD modules; works on an
:class:`~ansible_collections.vaware.hyperv.plugins.module_utils._ldap.client.AdConnection`.
"""

import itertools

from ansible_collections.vaware.hyperv.plugins.module_utils._delegation import Spn, sid_from_bytes, sid_to_bytes
from ansible_collections.vaware.hyperv.plugins.module_utils._ldap.errors import LdapClientError

try:
    from ldap.filter import escape_filter_chars
except ImportError:  # pragma: no cover - the modules report the missing python-ldap before any search
    escape_filter_chars = None

ACCOUNT_ATTRIBUTES = [
    "objectClass",
    "sAMAccountName",
    "dNSHostName",
    "objectSid",
    "userAccountControl",
    "msDS-AllowedToDelegateTo",
    "servicePrincipalName",
    "uSNChanged",
]

# names (or SPNs) per OR filter in a batch lookup: each chunk is one paged search of a few kilobytes
OR_FILTER_CHUNK = 100

# objectClass values that are security principals able to delegate (computer, user, sMSA, gMSA, dMSA)
ACCOUNT_CLASSES = {"user", "computer", "msds-managedserviceaccount", "msds-groupmanagedserviceaccount"}


class Account:
    """The attributes of one account entry the AD modules work with."""

    def __init__(self, dn, attrs):
        self.dn = dn
        self.attrs = attrs

    def text(self, name):
        values = self.attrs.get(name) or []
        return values[0].decode("utf-8") if values else None

    def texts(self, name):
        return [v.decode("utf-8") for v in self.attrs.get(name) or []]

    @property
    def object_classes(self):
        return [c.lower() for c in self.texts("objectClass")]

    @property
    def sam_account_name(self):
        return self.text("sAMAccountName")

    @property
    def short_name(self):
        """NetBIOS-style host name: sAMAccountName without the trailing ``$``."""
        sam = self.sam_account_name or ""
        return sam[:-1] if sam.endswith("$") else sam

    @property
    def dns_host_name(self):
        return self.text("dNSHostName")

    @property
    def sid(self):
        values = self.attrs.get("objectSid") or []
        return sid_from_bytes(values[0])[0] if values else None

    @property
    def user_account_control(self):
        value = self.text("userAccountControl")
        return int(value) & 0xFFFFFFFF if value is not None else 0

    @property
    def uac_raw(self):
        values = self.attrs.get("userAccountControl") or []
        return values[0] if values else None

    @property
    def label(self):
        return self.sam_account_name or self.dn


def _kind(classes):
    for name, label in (
        ("organizationalunit", "an organizational unit"),
        ("group", "a group"),
        ("container", "a container"),
        ("contact", "a contact"),
        ("domaindns", "the domain itself"),
    ):
        if name in classes:
            return label
    return "a %s object" % (classes[-1] if classes else "non-account")


def _require_account(entry, given):
    classes = entry.object_classes
    if not ACCOUNT_CLASSES.intersection(classes):
        raise LdapClientError(
            f"{given!r} resolves to {_kind(classes)} ({entry.dn}), not a computer, user or managed service account"
        )
    return entry


def looks_like_dn(name):
    return "=" in name and ("," in name or name.split("=", 1)[0].strip().upper() in ("CN", "OU", "DC"))


def account_filter(name):
    """The search filter that finds the account an administrator means by ``name`` (not a DN)."""
    value = escape_filter_chars(name)
    if name.endswith("$"):
        return f"(sAMAccountName={value})"
    if "." in name:
        # the DNS host name, or an account without dNSHostName whose name is the first label
        short = escape_filter_chars(name.split(".", 1)[0])
        return (
            f"(|(dNSHostName={value})(servicePrincipalName=HOST/{value})(&(sAMAccountName={short}$)(!(dNSHostName=*))))"
        )
    return f"(|(sAMAccountName={value}$)(sAMAccountName={value})(&(objectClass=organizationalUnit)(ou={value})))"


def pick_account(conn, name, entries, what="computer"):
    """The one account among ``entries`` (what :func:`account_filter` found for ``name``), or a clear error."""
    if not entries:
        raise LdapClientError(f"{what} {name!r} was not found below {conn.base_dn} (looked for {account_filter(name)})")
    if len(entries) > 1:
        raise LdapClientError(
            f"{what} {name!r} is ambiguous, it matches {len(entries)} objects: "
            f"{'; '.join(e.dn for e in entries)}; give the sAMAccountName with $ or the DN"
        )
    return _require_account(entries[0], name)


def resolve_account(conn, name, attrs=None, what="computer"):
    """Exactly one account for ``HYPERV01``, ``HYPERV01$``, ``hyperv01.corp.example.com`` or a DN."""
    attrs = list(attrs or ACCOUNT_ATTRIBUTES)
    if not name or not name.strip():
        raise LdapClientError(f"{what} is empty")
    name = name.strip()
    if looks_like_dn(name):
        found = conn.read(name, attrs)
        if not found:
            raise LdapClientError(f"{what} {name!r}: no object with this DN exists")
        return _require_account(Account(*found), name)
    return pick_account(conn, name, [Account(*e) for e in conn.search(account_filter(name), attrs)], what)


def resolve_host(conn, host, what="host"):
    """The computer account of a host given by short name, DNS name, ``NAME$`` or DN."""
    return resolve_account(conn, host, what=what)


def spn_holders(conn, spn):
    """Accounts holding ``spn`` itself, or ``HOST/host[:port]`` which AD maps most services to."""
    parsed = spn if isinstance(spn, Spn) else Spn.parse(spn)
    exact = escape_filter_chars(str(parsed))
    host_form = f"HOST/{parsed.host}" + (f":{parsed.port}" if parsed.port else "")
    filterstr = f"(|(servicePrincipalName={exact})(servicePrincipalName={escape_filter_chars(host_form)}))"
    return [Account(*e) for e in conn.search(filterstr, ["sAMAccountName", "objectSid", "objectClass"])]


def chunked(items, size=None):
    """``items`` (a list) in consecutive slices of at most ``size`` (default: :data:`OR_FILTER_CHUNK` when called)."""
    size = size or OR_FILTER_CHUNK
    return [items[start : start + size] for start in range(0, len(items), size)]


def name_keys(name):
    """What an entry must carry to be found by :func:`account_filter` for ``name``, as lookup keys."""
    lower = name.lower()
    if name.endswith("$"):
        return [("sam", lower)]
    if "." in name:
        return [("dns", lower), ("spn", f"host/{lower}"), ("sam-without-dns", lower.split(".", 1)[0] + "$")]
    return [("sam", lower + "$"), ("sam", lower), ("ou", lower)]


def entry_keys(entry):
    """Lookup keys of ``entry`` that :func:`name_keys` matches: the filter's rules, applied to an entry."""
    keys = []
    sam = (entry.sam_account_name or "").lower()
    if sam:
        keys.append(("sam", sam))
        if not entry.dns_host_name:
            keys.append(("sam-without-dns", sam))
    if entry.dns_host_name:
        keys.append(("dns", entry.dns_host_name.lower()))
    keys += [("spn", spn.lower()) for spn in entry.texts("servicePrincipalName")]
    if "organizationalunit" in entry.object_classes:
        keys += [("ou", ou.lower()) for ou in entry.texts("ou")]
    return keys


def find_accounts(conn, names, attrs=None):
    """What :func:`account_filter` finds for each of many names, in a few searches.

    Returns ``{name: [Account, ...]}`` for every name that is not a DN (DNs are read one by one
    by :func:`resolve_account`). The names are OR-ed into filters of :data:`OR_FILTER_CHUNK` names,
    each sent as one paged search, and the entries are given back to the names they match.
    :func:`pick_account` then turns a name's entries into one account or a clear error.
    """
    attrs = list(dict.fromkeys([*(attrs or ACCOUNT_ATTRIBUTES), "objectClass", "sAMAccountName", "dNSHostName"]))
    attrs += [a for a in ("servicePrincipalName", "ou") if a not in attrs]
    plain = [n for n in dict.fromkeys(name.strip() for name in names if name and name.strip()) if not looks_like_dn(n)]
    found = {}
    for chunk in chunked(plain):
        filterstr = "(|" + "".join(account_filter(name) for name in chunk) + ")"
        index = {}
        for dn, entry_attrs in conn.search(filterstr, attrs):
            entry = Account(dn, entry_attrs)
            for key in entry_keys(entry):
                index.setdefault(key, {})[dn.lower()] = entry
        for name in chunk:
            matched = {}
            for key in name_keys(name):
                matched.update(index.get(key, {}))
            found[name] = list(matched.values())
    return found


def find_spn_holders(conn, spns):
    """:func:`spn_holders` for many SPNs in a few searches: ``{Spn: [Account, ...]}``."""
    parsed = list(dict.fromkeys(spn if isinstance(spn, Spn) else Spn.parse(spn) for spn in spns))
    found = {}
    for chunk in chunked(parsed):
        forms = {spn: [str(spn), f"HOST/{spn.host}" + (f":{spn.port}" if spn.port else "")] for spn in chunk}
        filterstr = (
            "(|"
            + "".join(f"(servicePrincipalName={escape_filter_chars(form)})" for pair in forms.values() for form in pair)
            + ")"
        )
        index = {}
        for dn, entry_attrs in conn.search(
            filterstr, ["sAMAccountName", "objectSid", "objectClass", "servicePrincipalName"]
        ):
            entry = Account(dn, entry_attrs)
            for value in entry.texts("servicePrincipalName"):
                index.setdefault(value.lower(), {})[dn.lower()] = entry
        for spn, pair in forms.items():
            matched = {}
            for form in pair:
                matched.update(index.get(form.lower(), {}))
            found[spn] = list(matched.values())
    return found


def sid_filter_value(sid):
    """``S-1-5-21-...`` as the escaped binary value an ``(objectSid=...)`` filter compares."""
    return "".join(f"\\{byte:02x}" for byte in sid_to_bytes(sid))


def find_by_sids(conn, sids, attrs=("sAMAccountName", "objectSid", "objectClass")):
    """``{sid: Account}`` for the SIDs that belong to an object below the search base (chunked OR filters)."""
    found = {}
    wanted = list(dict.fromkeys(sids))
    for chunk in chunked(wanted):
        filterstr = "(|" + "".join(f"(objectSid={sid_filter_value(sid)})" for sid in chunk) + ")"
        for dn, entry_attrs in conn.search(filterstr, list(attrs)):
            entry = Account(dn, entry_attrs)
            if entry.sid:
                found[entry.sid] = entry
    return found


class AccountLookup:
    """Accounts and SPN holders by name: from what :meth:`prefetch` found in a batch, else one search each.

    Errors are the same either way (:func:`pick_account` decides), so a batch reports a missing or
    ambiguous account in the words a single run uses.
    """

    def __init__(self, conn, attrs=None):
        self.conn = conn
        self.attrs = list(attrs or ACCOUNT_ATTRIBUTES)
        self._accounts = {}
        self._holders = {}

    def prefetch(self, names=(), spns=()):
        """Look up many account names and SPNs at once (chunked OR filters, paged searches)."""
        wanted = [n for n in dict.fromkeys(n.strip() for n in names if n and n.strip()) if n not in self._accounts]
        self._accounts.update(find_accounts(self.conn, wanted, self.attrs))
        spns = [s for s in dict.fromkeys(spns) if s not in self._holders]
        if spns:
            self._holders.update(find_spn_holders(self.conn, spns))

    def prefetched(self):
        """Every account :meth:`prefetch` found for exactly one name, once each, in the order of the names."""
        found = {}
        for entries in self._accounts.values():
            if len(entries) == 1:
                found.setdefault(entries[0].dn.lower(), entries[0])
        return list(found.values())

    def account(self, name, what="computer"):
        key = name.strip() if isinstance(name, str) else name
        if key in self._accounts:
            return pick_account(self.conn, key, self._accounts[key], what)
        return resolve_account(self.conn, name, self.attrs, what=what)

    def spn_holders(self, spn):
        if spn in self._holders:
            return list(self._holders[spn])
        return spn_holders(self.conn, spn)


RIGHTS_ATTRIBUTE = "allowedAttributesEffective"


def writable_attributes(conn, dn):
    """Attributes the bound account may write on ``dn`` (AD's constructed allowedAttributesEffective), lowercased."""
    entry = conn.read(dn, [RIGHTS_ATTRIBUTE])
    values = entry[1].get(RIGHTS_ATTRIBUTE, []) if entry else []
    return {v.decode("utf-8").lower() for v in values}


class WriteRights:
    """:func:`writable_attributes` for many entries, read in a few searches instead of one read per entry.

    A batch names the accounts it may write with :meth:`expect` (in the order it works through them).
    The first time the rights on one of them are asked for, they are read for it and for up to
    :data:`OR_FILTER_CHUNK` - 1 of the next expected accounts not read yet, in one search whose filter ORs
    their objectSids: a batch that writes every account needs one search per chunk, a batch that writes
    nothing none. An entry that search does not return the constructed attribute for (the bind account may
    write nothing there, or a DC that computes it for base-scope reads only) and an entry that was not
    expected are read on their own, as :func:`writable_attributes` does; after a chunk that returned the
    attribute for none of its entries, the rest are read one by one too.
    """

    def __init__(self, conn):
        self.conn = conn
        self._known = {}
        self._expected = {}  # dn.lower() -> sid of the accounts not read yet, in batch order
        self._chunks = True

    def expect(self, accounts):
        for account in accounts:
            key = account.dn.lower()
            if account.sid and key not in self._known:
                self._expected.setdefault(key, account.sid)

    def writable(self, dn):
        """The attributes (lowercased) the bound account may write on ``dn``."""
        key = dn.lower()
        if key not in self._known and key in self._expected and self._chunks:
            self._read_chunk(key)
        if key not in self._known:
            self._expected.pop(key, None)
            self._known[key] = writable_attributes(self.conn, dn)
        return self._known[key]

    def _read_chunk(self, first):
        keys = [first, *itertools.islice((k for k in self._expected if k != first), OR_FILTER_CHUNK - 1)]
        sids = {self._expected.pop(k): k for k in keys}
        filterstr = "(|" + "".join(f"(objectSid={sid_filter_value(sid)})" for sid in sids) + ")"
        answered = 0
        for dn, attrs in self.conn.search(filterstr, ["objectSid", RIGHTS_ATTRIBUTE]):
            values = attrs.get(RIGHTS_ATTRIBUTE)
            if values and dn.lower() in sids.values():
                self._known[dn.lower()] = {v.decode("utf-8").lower() for v in values}
                answered += 1
        if not answered:
            self._chunks = False
