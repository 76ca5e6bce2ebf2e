"""Connection checks, TLS diagnostics and principal names of the _ldap package (no directory needed)."""

from __future__ import annotations

import socket
import threading

import pytest

from ansible_collections.vaware.hyperv.plugins.module_utils._ldap import client as lc
from ansible_collections.vaware.hyperv.plugins.module_utils._ldap import kerberos, tls


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"auth": "simple", "transport": "ldap", "username": "u", "password": "p"}, "plain text"),
        ({"auth": "simple", "transport": "ldaps", "username": "u"}, "needs both username and password"),
        ({"auth": "kerberos", "password": "p"}, "password was given without username"),
        (
            {"auth": "simple", "transport": "ldaps", "username": "u", "password": "p", "keytab": "/x"},
            "only used with auth=kerberos",
        ),
        ({"auth": "kerberos", "keytab": "/does/not/exist"}, "does not exist"),
        ({"transport": "ldaps", "ca_cert": "/does/not/exist.pem"}, "ca_cert '/does/not/exist.pem' does not exist"),
        ({"port": 70000}, "port 70000"),
    ],
)
def test_connection_params_refused_before_connecting(params, message):
    with pytest.raises(lc.LdapClientError, match=message):
        lc.check_connection_params(params)


def test_simple_over_tls_is_fine():
    lc.check_connection_params({"auth": "simple", "transport": "starttls", "username": "u", "password": "p"})
    lc.check_connection_params({"auth": "kerberos", "transport": "ldap"})


def test_every_connection_option_has_an_environment_fallback():
    for name, spec in lc.LDAP_CONNECTION_ARGUMENT_SPEC.items():
        assert spec["fallback"][1] == ["VAWARE_LDAP_" + name.upper()]
    assert lc.LDAP_CONNECTION_ARGUMENT_SPEC["password"]["no_log"] is True


def test_filters_escape_with_python_ldap():
    """Account filters use python-ldap's RFC 4515 escaping: a name with filter characters matches only itself."""
    from ansible_collections.vaware.hyperv.plugins.module_utils._ldap import accounts

    assert accounts.escape_filter_chars("a*b(c)\\d\x00") == "a\\2ab\\28c\\29\\5cd\\00"
    assert accounts.account_filter("HV*") == (
        "(|(sAMAccountName=HV\\2a$)(sAMAccountName=HV\\2a)(&(objectClass=organizationalUnit)(ou=HV\\2a)))"
    )


# ---------------------------------------------------------------------- StartTLS failures: blame the right thing
class _LoopbackLdap:
    """A TCP listener on loopback that answers each connection with ``reply(request bytes)`` and closes it."""

    def __init__(self, reply):
        self.reply = reply
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                client, _addr = self.sock.accept()
            except OSError:
                return
            with client:
                client.settimeout(2)
                try:
                    data = client.recv(1024)
                    answer = self.reply(data)
                    if answer:
                        client.sendall(answer)
                except OSError:
                    pass

    def close(self):
        self.sock.close()


def _extended_response(code):
    body = b"\x0a\x01" + bytes([code]) + b"\x04\x00\x04\x00"
    op = b"\x78" + bytes([len(body)]) + body
    msg = b"\x02\x01\x01" + op
    return b"\x30" + bytes([len(msg)]) + msg


def _starttls_params(port):
    return {
        "server": "127.0.0.1",
        "port": port,
        "transport": "starttls",
        "auth": "simple",
        "username": "u@corp.test",
        "password": "p",
        "connect_timeout": 3,
    }


def test_starttls_request_and_result_code_parsing():
    seen = []
    server = _LoopbackLdap(lambda data: seen.append(data) or _extended_response(2))
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=3) as sock:
            assert tls.starttls_result_code(sock, 3) == 2
    finally:
        server.close()
    assert seen[0].startswith(b"\x30\x1d\x02\x01\x01\x77\x18\x80\x16") and seen[0].endswith(tls.STARTTLS_OID)


def test_starttls_to_a_port_that_hangs_up_does_not_blame_the_certificate():
    server = _LoopbackLdap(lambda data: None)  # reads the request, then closes: no StartTLS here
    try:
        with pytest.raises(lc.LdapClientError) as err:
            lc.connect(_starttls_params(server.port))
    finally:
        server.close()
    text = str(err.value)
    assert f"TLS with ldap://127.0.0.1:{server.port} failed" in text, text
    assert "untrusted certificate, or the server does not offer StartTLS" in text, text
    assert "is not trusted" not in text, text


def test_starttls_refused_by_the_server_says_so():
    server = _LoopbackLdap(lambda data: _extended_response(2))  # protocolError: StartTLS not offered
    try:
        with pytest.raises(lc.LdapClientError) as err:
            lc.connect(_starttls_params(server.port))
    finally:
        server.close()
    text = str(err.value)
    assert "refused StartTLS" in text and "certificate" not in text, text


@pytest.mark.parametrize(
    ("wanted", "cached", "same"),
    [
        ("Administrator", "Administrator@CORP.TEST", True),
        ("administrator@corp.test", "Administrator@CORP.TEST", True),
        ("alice", "Administrator@CORP.TEST", False),
        ("Administrator@OTHER.TEST", "Administrator@CORP.TEST", False),
        ("HV01$", "hv01$@CORP.TEST", True),
    ],
)
def test_same_principal(wanted, cached, same):
    assert kerberos.same_principal(wanted, cached) is same
