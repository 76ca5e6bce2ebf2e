# Copyright: (c) vaware.hyperv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""LDAP connection to Active Directory shared by the vaware.hyperv AD modules.

Private to the collection (underscore module): the options, their environment variable
fallbacks and the connection logic live here once; each AD module adds
``LDAP_CONNECTION_ARGUMENT_SPEC`` to its argument spec, extends the
``vaware.hyperv.ldap_connection`` doc fragment and calls :func:`connect`.

Transports: ``ldap`` (Kerberos with signing and sealing), ``ldaps`` and ``starttls``.
Authentication: ``kerberos`` (existing ticket cache, a keytab, or a TGT fetched from
username/password into a private in-memory cache) or ``simple`` (only over TLS; refused
before connecting otherwise).
"""

import contextlib
import os
import random
import re
import socket
import struct
import traceback
import uuid

from ansible.module_utils.basic import env_fallback

try:
    import ldap
    import ldap.sasl
    from ldap.controls import SimplePagedResultsControl

    HAS_LDAP = True
    LDAP_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - exercised only where python-ldap is absent
    HAS_LDAP = False
    LDAP_IMPORT_ERROR = traceback.format_exc()

try:
    import gssapi
    import gssapi.raw

    HAS_GSSAPI = True
    GSSAPI_IMPORT_ERROR = None
except ImportError:  # pragma: no cover
    HAS_GSSAPI = False
    GSSAPI_IMPORT_ERROR = traceback.format_exc()

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


class LdapClientError(Exception):
    """A connection or directory problem, with a message meant for the administrator."""


def missing_libraries(params):
    """Names and import tracebacks of the Python libraries the given connection needs but lacks."""
    missing = []
    if not HAS_LDAP:
        missing.append(("python-ldap", LDAP_IMPORT_ERROR))
    if params.get("auth", "kerberos") == "kerberos" and params.get("username") and not HAS_GSSAPI:
        missing.append(("gssapi", GSSAPI_IMPORT_ERROR))
    if params.get("auth", "kerberos") == "kerberos" and params.get("keytab") and not HAS_GSSAPI:
        missing.append(("gssapi", GSSAPI_IMPORT_ERROR))
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


# --------------------------------------------------------------------------- server discovery
def default_realm(config_files=None):
    """The ``default_realm`` of the Kerberos client configuration, or None."""
    if config_files is None:
        config_files = (os.environ.get("KRB5_CONFIG") or "/etc/krb5.conf").split(":")
    for path in config_files:
        try:
            with open(path) as handle:
                text = handle.read()
        except OSError:
            continue
        section = None
        for raw in text.splitlines():
            line = raw.split("#", 1)[0].split(";", 1)[0].strip()
            if line.startswith("[") and line.endswith("]"):
                section = line[1:-1].strip().lower()
            elif section == "libdefaults" and "=" in line:
                key, value = (part.strip() for part in line.split("=", 1))
                if key.lower() == "default_realm" and value:
                    return value
    return None


def _nameservers(resolv_conf="/etc/resolv.conf"):
    servers = []
    try:
        with open(resolv_conf) as handle:
            for line in handle:
                parts = line.split()
                if len(parts) >= 2 and parts[0] == "nameserver":
                    servers.append(parts[1])
    except OSError:
        pass
    return servers


def _read_name(message, offset):
    labels = []
    jumped = False
    end = offset
    for _hop in range(128):
        length = message[offset]
        if length & 0xC0 == 0xC0:
            pointer = struct.unpack_from("!H", message, offset)[0] & 0x3FFF
            if not jumped:
                end = offset + 2
            jumped = True
            offset = pointer
            continue
        if length == 0:
            if not jumped:
                end = offset + 1
            return ".".join(labels), end
        labels.append(message[offset + 1 : offset + 1 + length].decode("ascii", "replace"))
        offset += 1 + length
    raise ValueError("DNS name compression loop")


def parse_srv_response(message, query_id=None):
    """(priority, weight, port, target) tuples from a raw DNS response."""
    ident, flags, qdcount, ancount = struct.unpack_from("!HHHH", message, 0)
    if query_id is not None and ident != query_id:
        raise ValueError("DNS answer for another query")
    if flags & 0x000F not in (0, 3):
        raise ValueError(f"DNS error rcode {flags & 0x000F}")
    offset = 12
    for _index in range(qdcount):
        _name, offset = _read_name(message, offset)
        offset += 4
    records = []
    for _index in range(ancount):
        _name, offset = _read_name(message, offset)
        rtype, _rclass, _ttl, rdlength = struct.unpack_from("!HHIH", message, offset)
        offset += 10
        if rtype == 33:
            priority, weight, port = struct.unpack_from("!HHH", message, offset)
            target = _read_name(message, offset + 6)[0]
            records.append((priority, weight, port, target.rstrip(".")))
        offset += rdlength
    return records


def build_srv_query(name, query_id):
    question = b"".join(struct.pack("!B", len(label)) + label.encode("ascii") for label in name.strip(".").split("."))
    return struct.pack("!HHHHHH", query_id, 0x0100, 1, 0, 0, 0) + question + b"\x00" + struct.pack("!HH", 33, 1)


def srv_lookup(name, nameservers=None, timeout=3.0):
    """SRV records for ``name`` sorted by priority then weight (highest first); [] when none."""
    try:  # dnspython when present: honours search domains, TCP fallback, ...
        import dns.resolver  # type: ignore[import-not-found]

        if nameservers is None:
            answer = dns.resolver.resolve(name, "SRV", lifetime=timeout)
            records = [(r.priority, r.weight, r.port, str(r.target).rstrip(".")) for r in answer]
            return sorted(records, key=lambda r: (r[0], -r[1]))
    except ImportError:
        pass
    except Exception:
        return []
    for server in nameservers if nameservers is not None else _nameservers():
        host, _hash, port = server.partition("#")
        query_id = random.randint(0, 0xFFFF)  # noqa: S311 - DNS query id, not a secret
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.settimeout(timeout)
            sock.sendto(build_srv_query(name, query_id), (host, int(port or 53)))
            data = sock.recvfrom(65535)[0]
            records = parse_srv_response(data, query_id)
        except (OSError, ValueError, struct.error, IndexError):
            continue
        finally:
            sock.close()
        return sorted(records, key=lambda r: (r[0], -r[1]))
    return []


def discover_server(realm_hint=None, nameservers=None):
    """A domain controller of the default Kerberos realm from ``_ldap._tcp.dc._msdcs.<realm>``."""
    realm = realm_hint or default_realm()
    if not realm:
        raise LdapClientError(
            "server was not given and no Kerberos default_realm is configured to find a domain "
            "controller from DNS; set server (or VAWARE_LDAP_SERVER)"
        )
    record = f"_ldap._tcp.dc._msdcs.{realm.lower()}"
    records = srv_lookup(record, nameservers=nameservers)
    if not records:
        raise LdapClientError(
            f"server was not given and DNS has no SRV record {record} to find a domain controller; "
            "set server (or VAWARE_LDAP_SERVER)"
        )
    return records[0][3]


# --------------------------------------------------------------------------- Kerberos
def _gss_message(err):
    try:
        return err.gen_message()
    except Exception:
        return str(err)


def _kerberos_credentials(params):
    """Prepare Kerberos credentials; returns a description of where they come from."""
    username = params.get("username")
    if params.get("keytab") or params.get("password") is not None:
        # A private in-memory cache of this process: nothing lands on disk, the user's own
        # cache is left alone, and the TGT dies with the module.
        ccache = f"MEMORY:vaware-{uuid.uuid4().hex}"
        os.environ["KRB5CCNAME"] = ccache
        try:
            if params.get("keytab"):
                name = gssapi.Name(username, gssapi.NameType.kerberos_principal) if username else None
                creds = gssapi.Credentials(
                    name=name,
                    usage="initiate",
                    store={b"client_keytab": params["keytab"].encode(), b"ccache": ccache.encode()},
                )
                creds.inquire()  # forces the initial ticket request, so errors surface here
                # Force the TGT into the memory cache now: SASL will read it from there.
                gssapi.raw.store_cred_into({b"ccache": ccache.encode()}, creds, usage="initiate", overwrite=True)
                return "keytab {}".format(params["keytab"])
            name = gssapi.Name(username, gssapi.NameType.kerberos_principal)
            acquired = gssapi.raw.acquire_cred_with_password(name, params["password"].encode("utf-8"), usage="initiate")
            gssapi.raw.store_cred_into({b"ccache": ccache.encode()}, acquired.creds, usage="initiate", overwrite=True)
        except gssapi.exceptions.GSSError as err:
            text = _gss_message(err)
            if re.search(r"pre-?auth|password incorrect|decrypt integrity", text, re.I):
                raise LdapClientError(
                    f"Kerberos refused the password of {username} (wrong password or locked account): {text}"
                ) from None
            if re.search(r"not found in Kerberos database|client not found", text, re.I):
                raise LdapClientError(f"Kerberos does not know the principal {username!r}: {text}") from None
            if re.search(r"Cannot (contact|find KDC)|Cannot resolve", text, re.I):
                raise LdapClientError(f"cannot reach a KDC to get a ticket for {username}: {text}") from None
            raise LdapClientError(
                "cannot get a Kerberos ticket for {}: {}".format(username or "the keytab", text)
            ) from None
        return f"password of {username}"
    # Existing ticket cache (kinit, or a cache the caller points KRB5CCNAME at).
    cache = os.environ.get("KRB5CCNAME", "(default)")
    if HAS_GSSAPI:
        try:
            cached = gssapi.Credentials(usage="initiate")
            cached.inquire()
        except gssapi.exceptions.GSSError as err:
            raise LdapClientError(
                "auth=kerberos without username/password or keytab needs a Kerberos ticket (run kinit): "
                + _gss_message(err)
            ) from None
        if username and not same_principal(username, str(cached.name)):
            raise LdapClientError(
                f"username is {username!r} but neither password nor keytab was given, and the Kerberos ticket "
                f"cache {cache} holds a ticket for {cached.name}, not for {username}; give the password or keytab "
                f"of {username}, run kinit {username}, or leave username out to act as {cached.name}"
            )
    return f"ticket cache {cache}"


def same_principal(wanted, cached):
    """Whether ``wanted`` (user, user@REALM) names the principal ``cached`` (user@REALM).

    AD compares account names case-insensitively; a name without realm matches the cached one's realm.
    """
    user, _at, realm = wanted.rpartition("@") if "@" in wanted else (wanted, "", "")
    cached_user, _at, cached_realm = cached.rpartition("@")
    if user.lower() != cached_user.lower():
        return False
    return not realm or realm.lower() == cached_realm.lower()


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

    def close(self):
        with contextlib.suppress(Exception):  # closing a connection that is already gone
            self.conn.unbind_ext_s()


def describe(err):
    """Readable text for a python-ldap exception."""
    if isinstance(err, ldap.LDAPError) and err.args and isinstance(err.args[0], dict):
        info = err.args[0]
        text = info.get("desc", type(err).__name__)
        if info.get("info"):
            text += " ({})".format(info["info"])
        return text
    return str(err)


STARTTLS_OID = b"1.3.6.1.4.1.1466.20037"


def _ber_length(data, pos):
    """(length, position after the length octets) of a BER length at ``pos``."""
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    return int.from_bytes(data[pos + 1 : pos + 1 + count], "big"), pos + 1 + count


def starttls_result_code(sock, timeout):
    """Send an LDAP StartTLS extended request on ``sock``; the resultCode answered, or None when no LDAP answer."""
    request_name = b"\x80" + bytes([len(STARTTLS_OID)]) + STARTTLS_OID
    extended = b"\x77" + bytes([len(request_name)]) + request_name
    body = b"\x02\x01\x01" + extended
    sock.settimeout(timeout)
    sock.sendall(b"\x30" + bytes([len(body)]) + body)
    data = b""
    try:
        while len(data) < 64:
            chunk = sock.recv(64 - len(data))
            if not chunk:
                break
            data += chunk
            # LDAPMessage { messageID, extendedResp [APPLICATION 24] { resultCode ENUMERATED, ... } }
            try:
                if data[0] != 0x30:
                    return None
                _length, pos = _ber_length(data, 1)
                if data[pos] != 0x02:
                    return None
                id_length, pos = _ber_length(data, pos + 1)
                pos += id_length
                if data[pos] != 0x78:
                    return None
                _length, pos = _ber_length(data, pos + 1)
                if data[pos] != 0x0A:
                    return None
                code_length, pos = _ber_length(data, pos + 1)
                if pos + code_length <= len(data):
                    return int.from_bytes(data[pos : pos + code_length], "big")
            except IndexError:
                continue  # not all of it has arrived yet
    except OSError:
        return None
    return None


def _tls_problem(host, port, transport, params):
    """Why TLS to host:port fails, as (kind, text) with kind ``certificate`` or ``tls``; None when unknown.

    OpenLDAP reports a refused certificate only as "Can't contact LDAP server"; the StartTLS request
    (for transport=starttls) and the handshake are repeated here with Python's ssl module, so the
    certificate is blamed only when the handshake shows a certificate problem.
    """
    import ssl

    timeout = float(params.get("connect_timeout") or 10)
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError:
        return None
    try:
        if transport == "starttls":
            code = starttls_result_code(sock, timeout)
            if code is None:
                return None
            if code != 0:
                return ("tls", f"the server refused StartTLS (LDAP result code {code})")
        if not params.get("validate_certs", True):
            return None
        context = ssl.create_default_context(cafile=params.get("ca_cert") or None)
        try:
            with context.wrap_socket(sock, server_hostname=host) as tls:
                tls.getpeercert()
        except ssl.SSLCertVerificationError as err:
            return ("certificate", err.verify_message or str(err))
        except (ssl.SSLError, OSError) as err:
            return ("tls", f"the TLS handshake failed: {err}")
        return None
    finally:
        sock.close()


def _port_answers(host, port, timeout):
    try:
        socket.create_connection((host, port), timeout=float(timeout)).close()
    except OSError:
        return False
    return True


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
    server = params.get("server")
    if not server:
        realm = None
        if params.get("username") and "@" in params["username"]:
            realm = params["username"].rsplit("@", 1)[1]
        server = discover_server(realm)
    port = params.get("port") or DEFAULT_PORTS[transport]
    uri = _ldap_uri(server, port, transport)
    timeout = params.get("connect_timeout") or 10

    credential_source = "simple bind as {}".format(params.get("username"))
    if auth == "kerberos":
        credential_source = _kerberos_credentials(params)

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
            tls_problem = _tls_problem(server, port, transport, params)
            if tls_problem and tls_problem[0] == "certificate":
                raise LdapClientError(
                    f"the TLS certificate of {where} is not trusted: {tls_problem[1]}; give the issuing CA in "
                    "ca_cert (validate_certs=false only for tests)"
                ) from None
            if tls_problem:
                raise LdapClientError(f"TLS with {where} failed: {tls_problem[1]}") from None
            if transport == "starttls" and _port_answers(server, port, timeout):
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


def escape_filter(value):
    """RFC 4515 escaping for a value placed into a search filter."""
    out = []
    for ch in value:
        if ch in "*()\\\x00":
            out.append(f"\\{ord(ch):02x}")
        else:
            out.append(ch)
    return "".join(out)
