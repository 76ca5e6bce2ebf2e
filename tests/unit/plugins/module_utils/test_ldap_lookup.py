"""Finding a DC: the Kerberos default realm as libkrb5 reads it, and the DC locator SRV record through dnspython.

DNS questions go only to a DNS server these tests start on 127.0.0.1; the realm comes from
krb5.conf files the tests write and point ``KRB5_CONFIG`` at.
"""

from __future__ import annotations

import socket
import threading

import dns.message
import dns.rcode
import dns.resolver
import dns.rrset
import pytest

from ansible_collections.vaware.hyperv.plugins.module_utils._ldap import lookup
from ansible_collections.vaware.hyperv.plugins.module_utils._ldap.errors import LdapClientError

LOCATOR = "_ldap._tcp.dc._msdcs.corp.example.com."
RECORDS = [
    "10 50 389 dc2.corp.example.com.",
    "0 100 389 dc1.corp.example.com.",
    "0 10 389 dc3.corp.example.com.",
]


# ---------------------------------------------------------------------- realm
def test_default_realm_from_an_included_file(tmp_path, monkeypatch):
    (tmp_path / "corp.conf").write_text("[libdefaults]\n    default_realm = CORP.EXAMPLE.COM\n")
    main = tmp_path / "krb5.conf"
    main.write_text(f"[libdefaults]\n    dns_lookup_kdc = false\n\ninclude {tmp_path / 'corp.conf'}\n")
    monkeypatch.setenv("KRB5_CONFIG", str(main))
    assert lookup.default_realm() == "CORP.EXAMPLE.COM"


def test_default_realm_from_an_included_directory(tmp_path, monkeypatch):
    conf_d = tmp_path / "krb5.conf.d"
    conf_d.mkdir()
    (conf_d / "corp").write_text("[libdefaults]\n    default_realm = DIR.EXAMPLE.COM\n")
    main = tmp_path / "krb5.conf"
    main.write_text(f"includedir {conf_d}\n\n[realms]\n    default_realm = NOT.A.LIBDEFAULT\n")
    monkeypatch.setenv("KRB5_CONFIG", str(main))
    assert lookup.default_realm() == "DIR.EXAMPLE.COM"


def test_default_realm_of_several_files_in_krb5_config(tmp_path, monkeypatch):
    (tmp_path / "first.conf").write_text("[libdefaults]\n    rdns = false\n")
    (tmp_path / "second.conf").write_text("[libdefaults]\n    default_realm = SECOND.EXAMPLE.COM\n")
    monkeypatch.setenv("KRB5_CONFIG", f"{tmp_path / 'first.conf'}:{tmp_path / 'second.conf'}")
    assert lookup.default_realm() == "SECOND.EXAMPLE.COM"


def test_no_default_realm(tmp_path, monkeypatch):
    (tmp_path / "krb5.conf").write_text("[libdefaults]\n    rdns = false\n")
    monkeypatch.setenv("KRB5_CONFIG", str(tmp_path / "krb5.conf"))
    assert lookup.default_realm() is None
    with pytest.raises(LdapClientError, match="no Kerberos default_realm"):
        lookup.discover_server(None, resolver=_resolver_for(9))


# ---------------------------------------------------------------------- SRV records
class LoopbackDns:
    """A DNS server on 127.0.0.1 that answers SRV questions for the names it knows, NXDOMAIN for others."""

    def __init__(self, zone):
        self.zone = zone
        self.questions = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopped.is_set():
            try:
                data, addr = self.sock.recvfrom(4096)
            except OSError:
                continue
            query = dns.message.from_wire(data)
            question = query.question[0]
            self.questions.append((question.name.to_text(), dns.rdatatype.to_text(question.rdtype)))
            response = dns.message.make_response(query)
            records = self.zone.get(question.name.to_text().lower())
            if records is None:
                response.set_rcode(dns.rcode.NXDOMAIN)
            else:
                response.answer.append(dns.rrset.from_text_list(question.name, 60, "IN", "SRV", records))
            self.sock.sendto(response.to_wire(), addr)

    def close(self):
        self.stopped.set()
        self.thread.join(timeout=5)
        self.sock.close()


def _resolver_for(port):
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = port
    return resolver


@pytest.fixture
def dns_server():
    server = LoopbackDns({LOCATOR: RECORDS})
    yield server
    server.close()


def test_discovery_asks_for_the_locator_record_and_takes_the_best_dc(dns_server):
    resolver = _resolver_for(dns_server.port)
    assert lookup.discover_server("CORP.EXAMPLE.COM", resolver=resolver) == "dc1.corp.example.com"
    assert dns_server.questions == [(LOCATOR, "SRV")]


def test_srv_lookup_orders_by_priority_then_weight(dns_server):
    records = lookup.srv_lookup(LOCATOR, resolver=_resolver_for(dns_server.port))
    assert records == [
        (0, 100, 389, "dc1.corp.example.com"),
        (0, 10, 389, "dc3.corp.example.com"),
        (10, 50, 389, "dc2.corp.example.com"),
    ]


def test_discovery_of_a_realm_without_records_says_what_to_set(dns_server):
    with pytest.raises(LdapClientError, match=r"no SRV record _ldap\._tcp\.dc\._msdcs\.other\.test .*set server"):
        lookup.discover_server("OTHER.TEST", resolver=_resolver_for(dns_server.port))
    assert dns_server.questions == [("_ldap._tcp.dc._msdcs.other.test.", "SRV")]


def test_dns_that_does_not_answer_gives_no_records():
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    try:
        assert lookup.srv_lookup(LOCATOR, resolver=_resolver_for(silent.getsockname()[1]), timeout=0.5) == []
    finally:
        silent.close()


def test_srv_records_from_a_parsed_answer_ignore_other_types():
    """The parsing layer on a response as a DNS server sends it (a CNAME in front of the SRV set)."""
    wire = dns.message.from_text(
        "id 1\nopcode QUERY\nrcode NOERROR\nflags QR RD RA\n;QUESTION\n"
        "_ldap._tcp.dc._msdcs.x.test. IN SRV\n;ANSWER\n"
        "_ldap._tcp.dc._msdcs.x.test. 60 IN CNAME alias.x.test.\n"
        "alias.x.test. 60 IN SRV 5 0 636 b.x.test.\n"
        "alias.x.test. 60 IN SRV 1 0 389 a.x.test.\n"
    )
    rdatas = [rdata for rrset in wire.answer for rdata in rrset]
    assert lookup.srv_records(rdatas) == [(1, 0, 389, "a.x.test"), (5, 0, 636, "b.x.test")]
