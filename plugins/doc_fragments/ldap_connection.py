# Copyright: (c) vaware.hyperv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options shared by the vaware.hyperv Active Directory (LDAP) modules."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  server:
    description:
      - Domain controller to connect to (DNS name; with O(auth=kerberos) it must be the name in the DC's
        C(ldap/<name>) SPN, not an IP address).
      - When not set, the DC is found from the DNS SRV record C(_ldap._tcp.dc._msdcs.<realm>) of the Kerberos
        default realm (the realm of O(username) when it is written C(user@REALM)). The default realm is read by
        libkrb5 itself, so E(KRB5_CONFIG) and C(include)/C(includedir) in C(krb5.conf) count as they do for kinit.
      - Environment variable E(VAWARE_LDAP_SERVER).
    type: str
  port:
    description:
      - TCP port. Defaults to V(389) for O(transport=ldap) and O(transport=starttls), V(636) for O(transport=ldaps).
      - Environment variable E(VAWARE_LDAP_PORT).
    type: int
  transport:
    description:
      - V(ldap) is plain LDAP protected by Kerberos signing and sealing (only with O(auth=kerberos)).
      - V(ldaps) is LDAP over TLS (port 636), V(starttls) upgrades port 389 to TLS before binding.
      - Environment variable E(VAWARE_LDAP_TRANSPORT).
    type: str
    choices: [ldap, ldaps, starttls]
    default: ldap
  auth:
    description:
      - V(kerberos) binds with SASL GSSAPI. Credentials come from O(username)/O(password) (a TGT fetched into a
        private in-memory cache that ends with the module), from O(keytab), or else from the existing ticket
        cache (C(kinit), E(KRB5CCNAME)).
      - V(simple) sends O(username) and O(password) and is only allowed over O(transport=ldaps) or
        O(transport=starttls); over plain LDAP it is refused before connecting.
      - Environment variable E(VAWARE_LDAP_AUTH).
    type: str
    choices: [kerberos, simple]
    default: kerberos
  username:
    description:
      - Account to bind as. For O(auth=kerberos) a principal such as C(svc-ansible) or C(svc-ansible@CORP.EXAMPLE.COM);
        for O(auth=simple) a UPN (C(svc-ansible@corp.example.com)), C(CORP\svc-ansible) or a DN.
      - With O(auth=kerberos) and neither O(password) nor O(keytab), the existing ticket cache is used and must hold
        a ticket for this principal; a cache of another principal is an error naming both.
      - Environment variable E(VAWARE_LDAP_USERNAME).
    type: str
  password:
    description:
      - Password of O(username). Never logged nor returned.
      - Environment variable E(VAWARE_LDAP_PASSWORD).
    type: str
  keytab:
    description:
      - Keytab to get the Kerberos ticket from (O(auth=kerberos) only). The principal is O(username), or the
        first entry of the keytab.
      - Environment variable E(VAWARE_LDAP_KEYTAB).
    type: path
  ca_cert:
    description:
      - PEM file with the CA certificate(s) that issued the DC's TLS certificate, for O(transport=ldaps) and
        O(transport=starttls). Without it the system trust store is used.
      - Environment variable E(VAWARE_LDAP_CA_CERT).
    type: path
  validate_certs:
    description:
      - Check the DC's TLS certificate and host name. Only turn this off for tests.
      - Environment variable E(VAWARE_LDAP_VALIDATE_CERTS).
    type: bool
    default: true
  search_base:
    description:
      - Where to look for accounts. Defaults to the domain naming context announced in the DC's rootDSE.
      - Environment variable E(VAWARE_LDAP_SEARCH_BASE).
    type: str
  connect_timeout:
    description:
      - Seconds to wait for the TCP/TLS connection to the DC.
      - Environment variable E(VAWARE_LDAP_CONNECT_TIMEOUT).
    type: int
    default: 10
requirements:
  - python-ldap >= 3.4 (with SASL GSSAPI support, Cyrus SASL GSSAPI plugin installed)
  - gssapi (python-gssapi) for O(username)/O(password) or O(keytab) with O(auth=kerberos)
  - dnspython and krb5 (pykrb5), only when O(server) is not given (DC discovery through DNS)
notes:
  - The connection options can be set once for every AD module of a play with
    a C(module_defaults) entry for C(group/vaware.hyperv.ad), or injected as E(VAWARE_LDAP_*) environment
    variables by an AWX/AAP credential type.
"""
