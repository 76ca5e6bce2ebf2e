# Copyright: (c) vaware.hyperv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""The LDAP connection to Active Directory shared by the vaware.hyperv AD modules.

The options, their environment variable fallbacks and the connection logic live here once; each
AD module adds ``LDAP_CONNECTION_ARGUMENT_SPEC`` to its argument spec, extends the
``vaware.hyperv.ldap_connection`` doc fragment and calls :func:`connect`.

Transports: ``ldap`` (Kerberos with signing and sealing), ``ldaps`` and ``starttls``.
Authentication: ``kerberos`` (existing ticket cache, a keytab, or a TGT fetched from
username/password into a private in-memory cache) or ``simple`` (only over TLS; refused
before connecting otherwise).

Writes go through :meth:`AdConnection.compare_and_swap`: value-level delete/add of what was read,
so a change someone made in the meantime makes the write fail and be planned again on fresh data.
"""

import contextlib
import os
import re
import traceback

from ansible.module_utils.basic import env_fallback

from ansible_collections.vaware.hyperv.plugins.module_utils._ldap import kerberos, lookup, tls
from ansible_collections.vaware.hyperv.plugins.module_utils._ldap.errors import LdapClientError

try:
    import ldap
    import ldap.sasl
    from ldap.controls import SimplePagedResultsControl

    HAS_LDAP = True
    LDAP_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - exercised only where python-ldap is absent
    HAS_LDAP = False
    LDAP_IMPORT_ERROR = traceback.format_exc()

__all__ = ["LDAP_CONNECTION_ARGUMENT_SPEC", "AdConnection", "LdapClientError", "connect"]

ENV_PREFIX = "VAWARE_LDAP_"

LDAP_CONNECTION_ARGUMENT_SPEC = {
    "server": {"type": "str", "fallback": (env_fallback, [ENV_PREFIX + "SERVER"])},
    "port": {"type": "int", "fallback": (env_fallback, [ENV_PREFIX + "PORT"])},
    "transport": {
        "type": "str",
        "choices": ["ldap", "ldaps", "starttls"],
        "default": "ldap",
        "fallback": (env_fallback, [ENV_PREFIX + "TRANSPORT"]),
    },
    "auth": {
        "type": "str",
        "choices": ["kerberos", "simple"],
        "default": "kerberos",
        "fallback": (env_fallback, [ENV_PREFIX + "AUTH"]),
    },
    "username": {"type": "str", "fallback": (env_fallback, [ENV_PREFIX + "USERNAME"])},
    "password": {"type": "str", "no_log": True, "fallback": (env_fallback, [ENV_PREFIX + "PASSWORD"])},
    "keytab": {"type": "path", "fallback": (env_fallback, [ENV_PREFIX + "KEYTAB"])},
    "ca_cert": {"type": "path", "fallback": (env_fallback, [ENV_PREFIX + "CA_CERT"])},
    "validate_certs": {"type": "bool", "default": True, "fallback": (env_fallback, [ENV_PREFIX + "VALIDATE_CERTS"])},
    "search_base": {"type": "str", "fallback": (env_fallback, [ENV_PREFIX + "SEARCH_BASE"])},
    "connect_timeout": {"type": "int", "default": 10, "fallback": (env_fallback, [ENV_PREFIX + "CONNECT_TIMEOUT"])},
}

DEFAULT_PORTS = {"ldap": 389, "starttls": 389, "ldaps": 636}
MAX_ATTEMPTS = 6  # compare-and-swap: reads and writes of one entry before giving up


def _realm_of(username):
    return username.rsplit("@", 1)[1] if username and "@" in username else None


def missing_libraries(params):
    """Names and import tracebacks of the Python libraries the given connection needs but lacks."""
    missing = []
    if not HAS_LDAP:
        missing.append(("python-ldap", LDAP_IMPORT_ERROR))
    kerberos_auth = params.get("auth", "kerberos") == "kerberos"
    if kerberos_auth and (params.get("username") or params.get("keytab")) and not kerberos.HAS_GSSAPI:
        missing.append(("gssapi", kerberos.GSSAPI_IMPORT_ERROR))
    if not params.get("server"):
        if not lookup.HAS_DNSPYTHON:
            missing.append(("dnspython", lookup.DNSPYTHON_IMPORT_ERROR))
        if not _realm_of(params.get("username")) and not lookup.HAS_KRB5:
            missing.append(("krb5", lookup.KRB5_IMPORT_ERROR))
    return missing


def check_connection_params(params):
    """Refuse unsafe or contradictory connection settings before any network traffic."""
    transport = params.get("transport") or "ldap"
    auth = params.get("auth") or "kerberos"
    if auth == "simple":
        if transport == "ldap":
            raise LdapClientError(
                "auth=simple over transport=ldap would send the password in plain text; "
                "use transport=ldaps or transport=starttls, or auth=kerberos (signing and sealing)"
            )
        if not params.get("username") or params.get("password") is None:
            raise LdapClientError("auth=simple needs both username and password")
    if params.get("password") is not None and not params.get("username"):
        raise LdapClientError("password was given without username")
    if params.get("keytab") and auth != "kerberos":
        raise LdapClientError("keytab is only used with auth=kerberos")
    if params.get("keytab") and params.get("password") is not None:
        raise LdapClientError("give either keytab or password, not both")
    if params.get("keytab") and not os.path.isfile(params["keytab"]):
        raise LdapClientError("keytab {!r} does not exist".format(params["keytab"]))
    if params.get("ca_cert") and not os.path.isfile(params["ca_cert"]):
        raise LdapClientError("ca_cert {!r} does not exist".format(params["ca_cert"]))
    port = params.get("port")
    if port is not None and not 0 < port < 65536:
        raise LdapClientError(f"port {port!r} is not between 1 and 65535")


def describe(err):
    """Readable text for a python-ldap exception."""
    if isinstance(err, ldap.LDAPError) and err.args and isinstance(err.args[0], dict):
        info = err.args[0]
        text = info.get("desc", type(err).__name__)
        if info.get("info"):
            text += " ({})".format(info["info"])
        return text
    return str(err)


# --------------------------------------------------------------------------- connection
class AdConnection:
    """A bound LDAP connection to one domain controller."""

    page_size = 500  # entries per page of a paged search; below AD's default MaxPageSize of 1000

    def __init__(self, conn, server, uri, base_dn, root_dse, credential_source):
        self.conn = conn
        self.server = server
        self.uri = uri
        self.base_dn = base_dn
        self.root_dse = root_dse
        self.credential_source = credential_source
        self.writes = 0

    @property
    def dns_domain(self):
        """``corp.example.com`` derived from the default naming context."""
        parts = [rdn.split("=", 1)[1] for rdn in self.base_dn.split(",") if rdn.strip().upper().startswith("DC=")]
        return ".".join(parts).lower()

    def search(self, filterstr, attrs, base=None, scope=None):
        """Entries as (dn, {attr: [bytes]}) below ``base`` (default: the search base); referrals dropped.

        Subtree and one-level searches are paged (RFC 2696 simple paged results) so a search matching
        more entries than the DC's MaxPageSize (1000 by default in AD) returns all of them instead of
        failing with sizeLimitExceeded.
        """
        if scope is None:
            scope = ldap.SCOPE_SUBTREE
        base = base or self.base_dn
        try:
            if scope == ldap.SCOPE_BASE:
                result = self.conn.search_ext_s(base, scope, filterstr, list(attrs))
            else:
                result = self._paged_search(base, scope, filterstr, attrs)
        except ldap.NO_SUCH_OBJECT:
            return []
        except ldap.LDAPError as err:
            raise LdapClientError(f"LDAP search {filterstr} below {base} failed: {describe(err)}") from None
        return [(dn, attrs_) for dn, attrs_ in result if dn]

    def _paged_search(self, base, scope, filterstr, attrs):
        control = SimplePagedResultsControl(True, size=self.page_size, cookie="")
        result = []
        while True:
            msgid = self.conn.search_ext(base, scope, filterstr, list(attrs), serverctrls=[control])
            _rtype, data, _msgid, controls = self.conn.result3(msgid)
            result.extend(data)
            cookie = next(
                (c.cookie for c in controls or [] if c.controlType == SimplePagedResultsControl.controlType), None
            )
            if not cookie:
                return result
            control.cookie = cookie

    def read(self, dn, attrs):
        """One entry by DN, or None when it does not exist."""
        entries = self.search("(objectClass=*)", attrs, base=dn, scope=ldap.SCOPE_BASE)
        return entries[0] if entries else None

    def modify(self, dn, modlist):
        """Send one modify operation (all changes applied atomically or not at all)."""
        self.writes += 1
        self.conn.modify_ext_s(dn, modlist)

    def compare_and_swap(
        self, dn, read, plan, what, *, key=None, snapshot=None, before_write=None, check_mode=False, denied_hint=""
    ):
        """Apply ``plan`` to ``dn`` so that no concurrent change is lost; returns the outcome written.

        ``read()`` gives a fresh snapshot of the entry and ``plan(snapshot)`` a ``(modlist, outcome)``
        pair built from it, whose modlist deletes the values read and adds the new ones (an empty
        modlist: nothing to write). When the DC refuses such a modify because a value is no longer
        there (someone changed the entry since it was read), the entry is read again and planned
        anew, up to ``MAX_ATTEMPTS`` times. A refused modify on an entry whose snapshot did not change
        (compared through ``key``, default the snapshot itself) is a real error, not a race.

        ``before_write(outcome)`` runs before every write and in check mode (e.g. a rights check);
        with ``check_mode`` nothing is written and the planned outcome is returned.
        """
        key = key or (lambda value: value)
        if snapshot is None:
            snapshot = read()
        for _attempt in range(MAX_ATTEMPTS):
            modlist, outcome = plan(snapshot)
            if not modlist:
                return outcome
            if before_write is not None:
                before_write(outcome)
            if check_mode:
                return outcome
            try:
                self.modify(dn, modlist)
            except (ldap.NO_SUCH_ATTRIBUTE, ldap.TYPE_OR_VALUE_EXISTS, ldap.CONSTRAINT_VIOLATION) as err:
                fresh = read()
                if key(fresh) == key(snapshot):
                    raise LdapClientError(
                        f"the domain controller refused to change {what} on {dn}: {describe(err)}"
                    ) from None
                snapshot = fresh  # someone changed it in between: plan again on what is there now
                continue
            except ldap.INSUFFICIENT_ACCESS as err:
                raise LdapClientError(
                    f"{self.credential_source} may not change {what} on {dn}: {describe(err)}{denied_hint}"
                ) from None
            except ldap.UNWILLING_TO_PERFORM as err:
                raise LdapClientError(
                    f"the domain controller refused to change {what} on {dn}: {describe(err)}"
                ) from None
            except ldap.LDAPError as err:
                raise LdapClientError(f"changing {what} on {dn} failed: {describe(err)}") from None
            return outcome
        raise LdapClientError(
            f"{what} on {dn} kept changing while it was being updated ({MAX_ATTEMPTS} attempts); "
            "nothing more was written"
        )

    def close(self):
        with contextlib.suppress(Exception):  # closing a connection that is already gone
            self.conn.unbind_ext_s()


def _ldap_uri(host, port, transport):
    scheme = "ldaps" if transport == "ldaps" else "ldap"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"


def connect(params):
    """Check the settings, find the server, bind and read the rootDSE. Raises LdapClientError."""
    check_connection_params(params)
    transport = params.get("transport") or "ldap"
    auth = params.get("auth") or "kerberos"
    server = params.get("server") or lookup.discover_server(_realm_of(params.get("username")))
    port = params.get("port") or DEFAULT_PORTS[transport]
    uri = _ldap_uri(server, port, transport)
    timeout = params.get("connect_timeout") or 10

    credential_source = "simple bind as {}".format(params.get("username"))
    if auth == "kerberos":
        credential_source = kerberos.prepare_credentials(params)

    conn = ldap.initialize(uri, bytes_mode=False)
    conn.set_option(ldap.OPT_PROTOCOL_VERSION, 3)
    conn.set_option(ldap.OPT_REFERRALS, 0)
    conn.set_option(ldap.OPT_NETWORK_TIMEOUT, float(timeout))
    conn.set_option(ldap.OPT_TIMEOUT, float(max(timeout, 30)))
    if transport in ("ldaps", "starttls"):
        conn.set_option(
            ldap.OPT_X_TLS_REQUIRE_CERT,
            ldap.OPT_X_TLS_DEMAND if params.get("validate_certs", True) else ldap.OPT_X_TLS_NEVER,
        )
        if params.get("ca_cert"):
            conn.set_option(ldap.OPT_X_TLS_CACERTFILE, params["ca_cert"])
        conn.set_option(ldap.OPT_X_TLS_NEWCTX, 0)
    where = uri
    try:
        if transport == "starttls":
            try:
                conn.start_tls_s()
            except (ldap.SERVER_DOWN, ldap.CONNECT_ERROR):
                raise
            except ldap.LDAPError as err:
                raise LdapClientError(f"{where} refused StartTLS: {describe(err)}") from None
        if auth == "kerberos":
            conn.set_option(ldap.OPT_X_SASL_NOCANON, 1)
            if transport != "ldap":
                # AD refuses SASL signing/sealing inside TLS: TLS already protects the session.
                conn.set_option(ldap.OPT_X_SASL_SSF_MAX, 0)
            conn.sasl_interactive_bind_s("", ldap.sasl.gssapi())
            if transport == "ldap" and conn.get_option(ldap.OPT_X_SASL_SSF) < 56:
                raise LdapClientError(
                    f"the Kerberos bind to {where} did not negotiate sealing (encryption); refusing to continue"
                )
        else:
            conn.simple_bind_s(params["username"], params["password"])
    except LdapClientError:
        conn.unbind_ext_s()
        raise
    except (ldap.SERVER_DOWN, ldap.CONNECT_ERROR) as err:
        text = describe(err)
        if transport != "ldap":
            problem = tls.tls_problem(server, port, transport, params)
            if problem and problem[0] == "certificate":
                raise LdapClientError(
                    f"the TLS certificate of {where} is not trusted: {problem[1]}; give the issuing CA in "
                    "ca_cert (validate_certs=false only for tests)"
                ) from None
            if problem:
                raise LdapClientError(f"TLS with {where} failed: {problem[1]}") from None
            if transport == "starttls" and tls.port_answers(server, port, timeout):
                raise LdapClientError(
                    f"TLS with {where} failed (untrusted certificate, or the server does not offer StartTLS): {text}"
                ) from None
        if re.search(r"certificate|tls|ssl", text, re.I):
            raise LdapClientError(f"TLS with {where} failed: {text}; check ca_cert") from None
        raise LdapClientError(f"cannot reach the LDAP server {where}: {text}") from None
    except ldap.INVALID_CREDENTIALS as err:
        username = params.get("username") or ""
        hint = ""
        if auth == "simple" and not re.search(r"[@\\=]", username):
            hint = "; for a simple bind write the user as user@domain, DOMAIN\\user or a DN"
        raise LdapClientError(
            f"the domain controller {where} rejected the credentials of {username}: {describe(err)}{hint}"
        ) from None
    except (ldap.STRONG_AUTH_REQUIRED, ldap.UNWILLING_TO_PERFORM) as err:
        hint = ""
        if auth == "kerberos" and transport != "ldap":
            hint = (
                "; this DC does not accept Kerberos inside TLS (Samba DCs refuse it), "
                "use transport=ldap, which Kerberos signs and seals"
            )
        raise LdapClientError(f"the domain controller {where} refused the bind: {describe(err)}{hint}") from None
    except ldap.LOCAL_ERROR as err:
        raise LdapClientError(
            f"Kerberos bind to {where} failed ({describe(err)}): check that the server name is the DC's DNS name "
            "(ldap/<name> must be its SPN) and that a ticket is available"
        ) from None
    except ldap.LDAPError as err:
        raise LdapClientError(f"binding to {where} failed: {describe(err)}") from None

    try:
        root = conn.search_ext_s(
            "", ldap.SCOPE_BASE, "(objectClass=*)", ["defaultNamingContext", "dnsHostName", "supportedControl"]
        )
    except ldap.LDAPError as err:
        conn.unbind_ext_s()
        raise LdapClientError(f"reading the rootDSE of {where} failed: {describe(err)}") from None
    root_dse = root[0][1] if root else {}
    base_dn = params.get("search_base") or (root_dse.get("defaultNamingContext") or [b""])[0].decode()
    if not base_dn:
        conn.unbind_ext_s()
        raise LdapClientError(f"{where} did not announce a defaultNamingContext; set search_base")
    return AdConnection(conn, server, uri, base_dn, root_dse, credential_source)
