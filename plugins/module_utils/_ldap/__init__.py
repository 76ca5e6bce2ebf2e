# Copyright: (c) vaware.hyperv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""LDAP access to Active Directory for the vaware.hyperv AD modules.

* ``errors``: the one error type, with messages meant for the administrator;
* ``lookup``: finding a domain controller (Kerberos default realm, DNS SRV record);
* ``kerberos``: getting the credentials a SASL GSSAPI bind uses;
* ``tls``: telling a certificate problem from a missing StartTLS when TLS fails;
* ``client``: connection options, the bound connection, paged search, compare-and-swap writes;
* ``accounts``: finding accounts by the names administrators use, one at a time or many in a batch.
"""
