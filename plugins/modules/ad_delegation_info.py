#!/usr/bin/python
# Copyright: (c) vaware.hyperv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


DOCUMENTATION = r"""
module: ad_delegation_info
short_description: Report Kerberos delegation in Active Directory, including every account with unconstrained delegation
version_added: 0.1.0
description:
  - Reads, for the given accounts or for the whole domain, what each account may delegate to and how.
  - Classic constrained delegation, C(msDS-AllowedToDelegateTo) on the delegating account, and whether
    "Use any authentication protocol" (protocol transition, C(TRUSTED_TO_AUTH_FOR_DELEGATION)) is on.
  - Resource-based constrained delegation, C(msDS-AllowedToActOnBehalfOfOtherIdentity) on the target, decoded to
    the accounts (names and SIDs) it allows; and, the other way round, the targets that allow each account.
  - Every account trusted for B(unconstrained) delegation (C(TRUSTED_FOR_DELEGATION), "Trust this computer for
    delegation to any service"), which can act as any user that authenticates to it towards any service, a
    security finding. Domain controllers have it by design and are listed apart in RV(domain_controllers).
  - Read-only. All searches are paged, so a domain of any size is read completely; the accounts given are looked
    up together with OR filters, as the batch mode of M(vaware.hyperv.ad_constrained_delegation) does.
  - Talks LDAP to a domain controller from wherever it runs; usually used with C(delegate_to=localhost).
options:
  accounts:
    description:
      - Accounts to report, each as V(HYPERV01), V(HYPERV01$), a DNS host name or a distinguished name.
      - Empty (the default) reports every account in the domain that has any delegation setting (a constrained
        list, protocol transition, unconstrained delegation, a resource-based descriptor, or is allowed by one).
      - A name that matches no account, several objects or something that is not an account fails the task and
        is named in the message.
      - RV(unconstrained) and RV(domain_controllers) always cover the whole domain.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - vaware.hyperv.ldap_connection
attributes:
  check_mode:
    support: full
    description: Only reads; runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to show a difference of.
  platform:
    support: full
    platforms: posix
    description: Runs on the controller (or any host with python-ldap) and talks LDAP to a domain controller.
  action_group:
    support: full
    description: Use C(group/vaware.hyperv.ad) in C(module_defaults) to set the connection options once.
    membership:
      - vaware.hyperv.ad
seealso:
  - module: vaware.hyperv.ad_constrained_delegation
author:
  - vaware.hyperv maintainers (@vaware)
"""

EXAMPLES = r"""
- name: Audit delegation in the whole domain
  vaware.hyperv.ad_delegation_info:
  delegate_to: localhost
  run_once: true
  register: audit

- name: Fail when any account other than a domain controller has unconstrained delegation
  ansible.builtin.assert:
    that: audit.unconstrained | length == 0
    fail_msg: "Unconstrained delegation: {{ audit.unconstrained | map(attribute='sam_account_name') | join(', ') }}"

- name: What the Hyper-V hosts of the play may delegate to
  vaware.hyperv.ad_delegation_info:
    accounts: "{{ ansible_play_hosts }}"
  delegate_to: localhost
  run_once: true
  register: hosts_delegation
"""

RETURN = r"""
accounts:
  description:
    - One entry per account in O(accounts) (in that order), or, for the whole domain, per account with any
      delegation setting (sorted by sAMAccountName, domain controllers included and flagged).
  returned: success
  type: list
  elements: dict
  contains:
    dn:
      description: Distinguished name.
      type: str
    sam_account_name:
      description: sAMAccountName.
      type: str
    object_class:
      description: Most specific object class (C(computer), C(user), C(msDS-GroupManagedServiceAccount) ...).
      type: str
    enabled:
      description: Whether the account is enabled (C(ACCOUNTDISABLE) not set).
      type: bool
    domain_controller:
      description: Whether the account is a domain controller (C(SERVER_TRUST_ACCOUNT) or C(PARTIAL_SECRETS_ACCOUNT)).
      type: bool
    unconstrained:
      description: Trusted for unconstrained delegation (C(TRUSTED_FOR_DELEGATION)).
      type: bool
    protocol_transition:
      description: Whether "Use any authentication protocol" is on (C(TRUSTED_TO_AUTH_FOR_DELEGATION)).
      type: bool
    allowed_to_delegate_to:
      description: The services of classic constrained delegation (C(msDS-AllowedToDelegateTo)).
      type: list
      elements: str
    resource_based_principals:
      description:
        - The accounts this account's C(msDS-AllowedToActOnBehalfOfOtherIdentity) allows to delegate to it, each
          with C(sid), C(sam_account_name) and C(dn) (both null for a SID that no object in the domain has).
      type: list
      elements: dict
    resource_based_targets:
      description: The accounts whose C(msDS-AllowedToActOnBehalfOfOtherIdentity) allows this account (sAMAccountNames).
      type: list
      elements: str
  sample:
    - dn: CN=HYPERV01,CN=Computers,DC=corp,DC=example,DC=com
      sam_account_name: HYPERV01$
      object_class: computer
      enabled: true
      domain_controller: false
      unconstrained: false
      protocol_transition: true
      allowed_to_delegate_to: [cifs/FS01, cifs/fs01.corp.example.com]
      resource_based_principals: []
      resource_based_targets: [FS02$]
unconstrained:
  description:
    - Every account in the domain, other than domain controllers, trusted for unconstrained delegation.
  returned: success
  type: list
  elements: dict
  contains:
    dn:
      description: Distinguished name.
      type: str
    sam_account_name:
      description: sAMAccountName.
      type: str
    enabled:
      description: Whether the account is enabled.
      type: bool
  sample:
    - {dn: "CN=OLDAPP,CN=Computers,DC=corp,DC=example,DC=com", sam_account_name: OLDAPP$, enabled: true}
domain_controllers:
  description:
    - The domain controllers, which have unconstrained delegation by design, with C(unconstrained) and C(read_only).
  returned: success
  type: list
  elements: dict
  sample:
    - dn: CN=DC1,OU=Domain Controllers,DC=corp,DC=example,DC=com
      sam_account_name: DC1$
      unconstrained: true
      read_only: false
summary:
  description: Counts over RV(accounts), and the number of non-DC accounts with unconstrained delegation in the domain.
  returned: success
  type: dict
  sample: {accounts: 12, constrained: 10, protocol_transition: 9, resource_based: 2, unconstrained: 1}
server:
  description: The LDAP URI of the domain controller used.
  returned: success
  type: str
  sample: ldap://dc1.corp.example.com:389
"""

import traceback  # noqa: E402

from ansible.module_utils.basic import AnsibleModule, missing_required_lib  # noqa: E402

from ansible_collections.vaware.hyperv.plugins.module_utils._delegation import (  # noqa: E402
    UAC,
    SecurityDescriptor,
)
from ansible_collections.vaware.hyperv.plugins.module_utils._ldap import client  # noqa: E402
from ansible_collections.vaware.hyperv.plugins.module_utils._ldap.accounts import (  # noqa: E402
    ACCOUNT_ATTRIBUTES,
    Account,
    AccountLookup,
    find_by_sids,
)
from ansible_collections.vaware.hyperv.plugins.module_utils._ldap.errors import LdapClientError  # noqa: E402

A2D = "msDS-AllowedToDelegateTo"
RBCD = "msDS-AllowedToActOnBehalfOfOtherIdentity"
ATTRIBUTES = [*ACCOUNT_ATTRIBUTES, RBCD]
BIT = "userAccountControl:1.2.840.113556.1.4.803:="  # LDAP_MATCHING_RULE_BIT_AND
DC_BITS = UAC["SERVER_TRUST_ACCOUNT"] | UAC["PARTIAL_SECRETS_ACCOUNT"]
# every entry with a delegation setting, and every domain controller, in one paged search
DOMAIN_FILTER = (
    f"(|({A2D}=*)({RBCD}=*)"
    + "".join(
        f"({BIT}{UAC[name]})"
        for name in (
            "TRUSTED_FOR_DELEGATION",
            "TRUSTED_TO_AUTH_FOR_DELEGATION",
            "SERVER_TRUST_ACCOUNT",
            "PARTIAL_SECRETS_ACCOUNT",
        )
    )
    + ")"
)


def principals_of(account, warnings):
    """SIDs that the account's resource-based descriptor allows ([] without one, or when it cannot be decoded)."""
    raw = (account.attrs.get(RBCD) or [None])[0]
    if raw is None:
        return []
    try:
        return SecurityDescriptor.from_bytes(raw).allowed_sids()
    except ValueError as err:
        warnings.append(f"{RBCD} on {account.dn} cannot be decoded ({err}); its principals are not reported")
        return []


def object_class(account):
    classes = account.texts("objectClass")
    return classes[-1] if classes else None


def describe(account, principals, names_by_sid, targets_by_sid):
    """The report entry of one account (pure: everything it needs is given)."""
    uac = account.user_account_control
    return {
        "dn": account.dn,
        "sam_account_name": account.sam_account_name,
        "object_class": object_class(account),
        "enabled": not uac & UAC["ACCOUNTDISABLE"],
        "domain_controller": bool(uac & DC_BITS),
        "unconstrained": bool(uac & UAC["TRUSTED_FOR_DELEGATION"]),
        "protocol_transition": bool(uac & UAC["TRUSTED_TO_AUTH_FOR_DELEGATION"]),
        "allowed_to_delegate_to": sorted(account.texts(A2D), key=str.lower),
        "resource_based_principals": [
            {
                "sid": sid,
                "sam_account_name": names_by_sid[sid].sam_account_name if sid in names_by_sid else None,
                "dn": names_by_sid[sid].dn if sid in names_by_sid else None,
            }
            for sid in principals
        ],
        "resource_based_targets": sorted(targets_by_sid.get(account.sid, []), key=str.lower),
    }


def has_delegation(entry):
    return bool(
        entry["unconstrained"]
        or entry["protocol_transition"]
        or entry["allowed_to_delegate_to"]
        or entry["resource_based_principals"]
        or entry["resource_based_targets"]
    )


def build_report(domain_entries, given, names_by_sid, warnings):
    """The module's result from the domain-wide search and the given accounts (None: report the whole domain)."""
    principals = {a.dn.lower(): principals_of(a, warnings) for a in domain_entries}
    targets_by_sid = {}
    for account in domain_entries:
        for sid in principals[account.dn.lower()]:
            targets_by_sid.setdefault(sid, []).append(account.sam_account_name or account.dn)
    if given is None:
        reported = {a.dn.lower(): a for a in domain_entries}
        for sid in targets_by_sid:  # accounts allowed by a descriptor are delegating accounts too
            if sid in names_by_sid:
                reported.setdefault(names_by_sid[sid].dn.lower(), names_by_sid[sid])
        accounts = [
            describe(a, principals.get(a.dn.lower(), []), names_by_sid, targets_by_sid) for a in reported.values()
        ]
        accounts = sorted(
            (e for e in accounts if has_delegation(e)), key=lambda e: (e["sam_account_name"] or "").lower()
        )
    else:
        accounts = [describe(a, principals_of(a, warnings), names_by_sid, targets_by_sid) for a in given]
    unconstrained = sorted(
        (
            {
                "dn": a.dn,
                "sam_account_name": a.sam_account_name,
                "enabled": not a.user_account_control & UAC["ACCOUNTDISABLE"],
            }
            for a in domain_entries
            if a.user_account_control & UAC["TRUSTED_FOR_DELEGATION"] and not a.user_account_control & DC_BITS
        ),
        key=lambda e: (e["sam_account_name"] or "").lower(),
    )
    domain_controllers = sorted(
        (
            {
                "dn": a.dn,
                "sam_account_name": a.sam_account_name,
                "unconstrained": bool(a.user_account_control & UAC["TRUSTED_FOR_DELEGATION"]),
                "read_only": bool(a.user_account_control & UAC["PARTIAL_SECRETS_ACCOUNT"]),
            }
            for a in domain_entries
            if a.user_account_control & DC_BITS
        ),
        key=lambda e: (e["sam_account_name"] or "").lower(),
    )
    summary = {
        "accounts": len(accounts),
        "constrained": sum(1 for e in accounts if e["allowed_to_delegate_to"]),
        "protocol_transition": sum(1 for e in accounts if e["protocol_transition"]),
        "resource_based": sum(1 for e in accounts if e["resource_based_targets"]),
        "unconstrained": len(unconstrained),
    }
    return {
        "accounts": accounts,
        "unconstrained": unconstrained,
        "domain_controllers": domain_controllers,
        "summary": summary,
    }


def read_report(conn, names):
    """Search the directory and build the report; names that do not resolve raise one error naming each."""
    domain_entries = [Account(dn, attrs) for dn, attrs in conn.search(DOMAIN_FILTER, ATTRIBUTES)]
    given = None
    if names:
        lookup = AccountLookup(conn, ATTRIBUTES)
        lookup.prefetch(names)
        given, errors = [], []
        for index, name in enumerate(names):
            try:
                given.append(lookup.account(name, what=f"accounts[{index}]"))
            except LdapClientError as err:
                errors.append(str(err))
        if errors:
            raise LdapClientError("; ".join(errors))
    warnings = []
    sids = {sid for a in domain_entries for sid in principals_of(a, [])}
    known = {a.sid: a for a in [*domain_entries, *(given or [])] if a.sid}
    names_by_sid = {sid: known[sid] for sid in sids if sid in known}
    names_by_sid.update(find_by_sids(conn, [sid for sid in sids if sid not in known], ATTRIBUTES))
    return build_report(domain_entries, given, names_by_sid, warnings), warnings


def main():
    argument_spec = {"accounts": {"type": "list", "elements": "str", "default": []}}
    argument_spec.update(client.LDAP_CONNECTION_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params

    for name, error in client.missing_libraries(p):
        module.fail_json(msg=missing_required_lib(name), exception=error)
    try:
        empty = [f"accounts[{i}]" for i, name in enumerate(p["accounts"]) if not name or not name.strip()]
        if empty:
            raise LdapClientError(f"{', '.join(empty)} is empty; expected HYPERV01, HYPERV01$, a DNS name or a DN")
        client.check_connection_params(p)
    except LdapClientError as err:
        module.fail_json(msg=str(err))

    conn = None
    try:
        conn = client.connect(p)
        result, warnings = read_report(conn, p["accounts"])
        result["server"] = conn.uri
        for warning in warnings:
            module.warn(warning)
    except LdapClientError as err:
        module.fail_json(msg=str(err))
    except Exception as err:  # an unexpected library error: still a clean failure with the trace
        module.fail_json(msg=f"unexpected error: {err}", exception=traceback.format_exc())
    finally:
        if conn is not None:
            conn.close()
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
