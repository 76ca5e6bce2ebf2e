# Copyright: (c) vaware.hyperv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""Kerberos credentials for the SASL GSSAPI bind.

From, in this order: a keytab, a password (a TGT fetched into a private in-memory credential
cache of this process, so nothing lands on disk and the user's own cache is left alone), or the
existing ticket cache (``kinit``, ``KRB5CCNAME``).
"""

import os
import re
import traceback
import uuid

from ansible_collections.vaware.hyperv.plugins.module_utils._ldap.errors import LdapClientError

try:
    import gssapi
    import gssapi.raw

    HAS_GSSAPI = True
    GSSAPI_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - exercised only where gssapi is absent
    HAS_GSSAPI = False
    GSSAPI_IMPORT_ERROR = traceback.format_exc()


def _gss_message(err):
    try:
        return err.gen_message()
    except Exception:
        return str(err)


def prepare_credentials(params):
    """Make the credentials the bind will use available; returns a description of where they come from."""
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
