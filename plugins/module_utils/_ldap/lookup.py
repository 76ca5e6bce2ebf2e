# Copyright: (c) vaware.hyperv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""Finding a domain controller when ``server`` is not given.

The Kerberos default realm comes from libkrb5 itself (the ``krb5`` bindings), so the client
configuration is read exactly as kinit reads it: ``KRB5_CONFIG``, ``include`` and ``includedir``.
The DC comes from the DC locator record ``_ldap._tcp.dc._msdcs.<realm>`` through dnspython, which
reads the system resolver configuration.
"""

import traceback

from ansible_collections.vaware.hyperv.plugins.module_utils._ldap.errors import LdapClientError

try:
    import dns.exception
    import dns.rdatatype
    import dns.resolver

    HAS_DNSPYTHON = True
    DNSPYTHON_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - exercised only where dnspython is absent
    HAS_DNSPYTHON = False
    DNSPYTHON_IMPORT_ERROR = traceback.format_exc()

try:
    import krb5

    HAS_KRB5 = True
    KRB5_IMPORT_ERROR = None
except ImportError:  # pragma: no cover
    HAS_KRB5 = False
    KRB5_IMPORT_ERROR = traceback.format_exc()

DC_LOCATOR = "_ldap._tcp.dc._msdcs.{}"


def default_realm():
    """The ``default_realm`` of the Kerberos client configuration as libkrb5 reads it, or None."""
    try:
        context = krb5.init_context()
        realm = krb5.get_default_realm(context)
    except krb5.Krb5Error:
        return None
    realm = realm.decode("utf-8") if isinstance(realm, bytes) else realm
    return realm or None


def srv_records(rdatas):
    """(priority, weight, port, target) of SRV rdata, lowest priority first, then highest weight."""
    records = [
        (r.priority, r.weight, r.port, r.target.to_text(omit_final_dot=True))
        for r in rdatas
        if r.rdtype == dns.rdatatype.SRV
    ]
    return sorted(records, key=lambda r: (r[0], -r[1]))


def srv_lookup(name, resolver=None, timeout=3.0):
    """SRV records for ``name`` (see :func:`srv_records`); [] when there are none or DNS cannot answer.

    ``resolver`` is a ``dns.resolver.Resolver``; by default one configured from the system's resolver
    settings (``/etc/resolv.conf``).
    """
    try:
        if resolver is None:
            resolver = dns.resolver.Resolver()
        answer = resolver.resolve(name, "SRV", lifetime=timeout, search=False)
    except dns.exception.DNSException:
        return []
    return srv_records(answer)


def discover_server(realm_hint=None, resolver=None):
    """A domain controller of ``realm_hint`` (default: the Kerberos default realm) from DNS."""
    realm = realm_hint or default_realm()
    if not realm:
        raise LdapClientError(
            "server was not given and no Kerberos default_realm is configured to find a domain "
            "controller from DNS; set server (or VAWARE_LDAP_SERVER)"
        )
    record = DC_LOCATOR.format(realm.lower())
    records = srv_lookup(record, resolver=resolver)
    if not records:
        raise LdapClientError(
            f"server was not given and DNS has no SRV record {record} to find a domain controller; "
            "set server (or VAWARE_LDAP_SERVER)"
        )
    return records[0][3]
