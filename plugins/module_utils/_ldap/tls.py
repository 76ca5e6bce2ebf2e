# Copyright: (c) vaware.hyperv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""Why TLS to a domain controller failed.

OpenLDAP reports a refused certificate only as "Can't contact LDAP server". After such a failure
the StartTLS request (for transport=starttls) and the handshake are repeated here with Python's
ssl module, so the message blames the certificate only when the handshake shows a certificate
problem, and says so when the server does not offer StartTLS at all.
"""

import socket
import ssl

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


def tls_problem(host, port, transport, params):
    """Why TLS to host:port fails, as (kind, text) with kind ``certificate`` or ``tls``; None when unknown."""
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


def port_answers(host, port, timeout):
    """Whether a TCP connection to host:port is accepted."""
    try:
        socket.create_connection((host, port), timeout=float(timeout)).close()
    except OSError:
        return False
    return True
