"""Connection checks, Kerberos realm and DNS SRV discovery of _ldap_client (no directory needed)."""

from __future__ import annotations

import socket
import struct
import threading

import pytest

from ansible_collections.vaware.hyperv.plugins.module_utils import _ldap_client as lc


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


def test_default_realm_from_krb5_conf(tmp_path):
    conf = tmp_path / "krb5.conf"
    conf.write_text(
        "[realms]\n default_realm = WRONG\n[libdefaults]\n  # comment\n    default_realm = CORP.EXAMPLE.COM\n"
    )
    assert lc.default_realm([str(tmp_path / "missing"), str(conf)]) == "CORP.EXAMPLE.COM"
    assert lc.default_realm([str(tmp_path / "missing")]) is None


def _srv_answer(query: bytes, records):
    ident = struct.unpack_from("!H", query)[0]
    question = query[12:]
    answer = b""
    for priority, weight, port, target in records:
        rdata = (
            struct.pack("!HHH", priority, weight, port)
            + b"".join(bytes([len(label)]) + label.encode() for label in target.split("."))
            + b"\x00"
        )
        answer += b"\xc0\x0c" + struct.pack("!HHIH", 33, 1, 60, len(rdata)) + rdata
    return struct.pack("!HHHHHH", ident, 0x8180, 1, len(records), 0, 0) + question + answer


@pytest.fixture
def dns_server():
    """A one-shot DNS responder on 127.0.0.1 that answers SRV queries with fixed records."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    seen = []
    records = [
        (10, 50, 389, "dc2.corp.example.com"),
        (0, 100, 389, "dc1.corp.example.com"),
        (0, 10, 389, "dc3.corp.example.com"),
    ]

    def serve():
        data, addr = sock.recvfrom(4096)
        seen.append(data)
        sock.sendto(_srv_answer(data, records), addr)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"127.0.0.1#{sock.getsockname()[1]}", seen
    thread.join(timeout=5)
    sock.close()


def test_srv_lookup_and_discovery_order(dns_server):
    server, seen = dns_server
    assert lc.discover_server("CORP.EXAMPLE.COM", nameservers=[server]) == "dc1.corp.example.com"
    # the query asked for the DC locator record of the realm, type SRV
    assert b"\x05_ldap\x04_tcp\x02dc\x06_msdcs\x04corp\x07example\x03com\x00\x00\x21\x00\x01" in seen[0]


def test_parse_srv_response_sorted():
    query = lc.build_srv_query("_ldap._tcp.dc._msdcs.x.test", 7)
    data = _srv_answer(query, [(5, 0, 636, "b.x.test"), (1, 0, 389, "a.x.test")])
    assert lc.parse_srv_response(data, 7) == [(5, 0, 636, "b.x.test"), (1, 0, 389, "a.x.test")]
    with pytest.raises(ValueError):
        lc.parse_srv_response(data, 8)


def test_discovery_without_records_says_what_to_set():
    with pytest.raises(lc.LdapClientError, match="set server"):
        lc.discover_server("CORP.EXAMPLE.COM", nameservers=[])


def test_discovery_without_realm_says_what_to_set(monkeypatch, tmp_path):
    monkeypatch.setenv("KRB5_CONFIG", str(tmp_path / "none.conf"))
    with pytest.raises(lc.LdapClientError, match="no Kerberos default_realm"):
        lc.discover_server(None, nameservers=[])


def test_filter_escaping():
    assert lc.escape_filter("a*b(c)\\d\x00") == "a\\2ab\\28c\\29\\5cd\\00"


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
            assert lc.starttls_result_code(sock, 3) == 2
    finally:
        server.close()
    assert seen[0].startswith(b"\x30\x1d\x02\x01\x01\x77\x18\x80\x16") and seen[0].endswith(lc.STARTTLS_OID)


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
    assert lc.same_principal(wanted, cached) is same
