#!/usr/bin/python
# Copyright: (c) vaware.hyperv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


DOCUMENTATION = r"""
module: ad_constrained_delegation
short_description: Trust an AD account for Kerberos constrained delegation to given services
version_added: 1.0.0
description:
  - Sets what an Active Directory computer (or user, or managed service) account may delegate to, the way
    the Delegation tab of Active Directory Users and Computers does with "Trust this computer for delegation
    to specified services only".
  - O(mode=classic) edits C(msDS-AllowedToDelegateTo) on the delegating account and, with
    O(protocol_transition), the C(TRUSTED_TO_AUTH_FOR_DELEGATION) bit of its C(userAccountControl)
    ("Use any authentication protocol").
  - O(mode=resource_based) edits C(msDS-AllowedToActOnBehalfOfOtherIdentity) on each target account instead,
    adding or removing the delegating account's SID in that security descriptor.
  - Talks LDAP to a domain controller from wherever it runs; usually used with C(delegate_to=localhost).
  - With O(accounts) it configures many accounts in one task over one connection (one bind, a few searches, a
    write only for the accounts that differ), which is how a fleet of hundreds of hosts is done in seconds.
  - Every change is sent as value-level delete/add operations, so a change someone made in the meantime
    makes the write fail and be retried on fresh data instead of being overwritten. A run that finds
    everything as requested sends no write at all.
  - Typical use with Hyper-V, mounting an ISO from a file share in a VM from a remote console needs the host
    account trusted for C(cifs) on the file server; live migration with Kerberos needs C(cifs) and
    C(Microsoft Virtual System Migration Service) on each peer host.
options:
  computer:
    description:
      - The account that delegates (the Hyper-V host). V(HYPERV01), V(HYPERV01$), a DNS host name
        V(hyperv01.corp.example.com) or a distinguished name.
      - Must resolve to exactly one computer, user or managed service account; a group, an OU or a name
        that matches several objects is an error.
      - Exactly one of O(computer) and O(accounts) is required.
    type: str
  accounts:
    description:
      - Many accounts in one task, configured over one LDAP connection (batch mode), for example every Hyper-V
        host of a play. Exactly one of O(computer) and O(accounts) is required.
      - Each entry names its account in C(computer) and may give any of O(services), O(spn_forms), O(state),
        O(exclusive), O(protocol_transition), O(allow_unconstrained) and O(mode); what an entry does not give is
        taken from the top-level option of the same name, so shared settings are written once.
      - The accounts and the hosts of C({service, host}) items are looked up together, in a few paged searches
        whose filters OR up to 100 names each, instead of one search per name. Each account is then compared with
        what it should be and only accounts that differ are written, each with the same compare-and-swap modify
        a single run uses.
      - The write access a single run reads before writing is read for the accounts of a batch in chunks of up to
        100 (an OR filter of their SIDs), when the first of them is about to change, so an account that changes costs
        one modify and a batch where nothing changes reads no rights at all.
      - An entry that fails (account not found, ambiguous, not an account, unconstrained delegation, no write
        access, target host missing) is reported in its own result with C(failed=true) and a C(msg) naming it;
        the other accounts are still configured. See O(fail_on_account_error).
      - Every entry is checked before connecting; a malformed entry fails the task, naming it, before anything
        is changed.
    type: list
    elements: dict
    suboptions:
      computer:
        description:
          - The account that delegates, in any form O(computer) takes.
        type: str
        required: true
      services:
        description:
          - As O(services); default the top-level O(services).
        type: list
        elements: raw
      spn_forms:
        description:
          - As O(spn_forms); default the top-level O(spn_forms).
        type: str
        choices: [both, short, fqdn]
      state:
        description:
          - As O(state); default the top-level O(state).
        type: str
        choices: [present, absent]
      exclusive:
        description:
          - As O(exclusive); default the top-level O(exclusive).
        type: bool
      protocol_transition:
        description:
          - As O(protocol_transition); default the top-level O(protocol_transition).
        type: bool
      allow_unconstrained:
        description:
          - As O(allow_unconstrained); default the top-level O(allow_unconstrained).
        type: bool
      mode:
        description:
          - As O(mode); default the top-level O(mode).
        type: str
        choices: [classic, resource_based]
  fail_on_account_error:
    description:
      - With O(accounts), whether the task fails when at least one account failed (after all the others were
        configured). V(false) lets the task succeed; the failed entries still carry C(failed=true) and C(msg), so a
        later task can report them per host.
      - Not used with O(computer), where a failure always fails the task.
    type: bool
    default: true
  services:
    description:
      - The services the account may delegate to. Each item is either a raw SPN string such as
        V(cifs/fs01.corp.example.com), V(MSSQLSvc/sql01.corp.example.com:1433) or, for a named instance,
        V(MSSQLSvc/sql01.corp.example.com:SQLEXPRESS), or a dictionary with C(service) and C(host).
      - For a dictionary the host is looked up in AD (it must exist) and the SPN forms given by C(forms)
        (default O(spn_forms)) are used, as ADUC does, C(service/SHORTNAME) and C(service/dns.host.name).
        When the host account has no C(dNSHostName) and C(host) is not a DNS name, the DNS form is guessed as
        C(shortname.<domain>) and a warning names the guessed SPN.
      - "Dictionary keys: C(service) (required, service class such as V(cifs)), C(host) (required, short name,
        DNS name, V(NAME$) or DN), C(port) (optional int), C(forms) (optional: V(both), V(short) or V(fqdn))."
      - A raw SPN that no account in the domain holds is still written, with a warning.
    type: list
    elements: raw
    default: []
  spn_forms:
    description:
      - Which SPN forms a C({service, host}) item expands to when the item does not say.
    type: str
    choices: [both, short, fqdn]
    default: both
  state:
    description:
      - V(present) adds the O(services), V(absent) removes them.
    type: str
    choices: [present, absent]
    default: present
  exclusive:
    description:
      - With O(state=present), also remove every service that is not in O(services), so the list is exactly
        what was given (an empty O(services) then clears it).
      - In O(mode=resource_based), removes the account from the security descriptor of every target that is
        not in O(services).
    type: bool
    default: false
  protocol_transition:
    description:
      - V(true) sets "Use any authentication protocol" (C(TRUSTED_TO_AUTH_FOR_DELEGATION), 0x1000000), needed
        when the user did not log on with Kerberos (S4U2Self), as for Hyper-V remote management.
      - V(false) clears it ("Use Kerberos only"). When not given the bit is left as it is.
    type: bool
  allow_unconstrained:
    description:
      - An account with unconstrained delegation (C(TRUSTED_FOR_DELEGATION), "Trust this computer for
        delegation to any service") can already delegate anywhere, which makes constrained delegation
        meaningless and usually is a mistake. The module fails on such an account unless this is V(true).
      - The check applies in both modes. In O(mode=resource_based) the delegating account O(computer) is checked
        as well, since with unconstrained delegation it can already delegate to the targets; adding it to their
        C(msDS-AllowedToActOnBehalfOfOtherIdentity) restricts nothing either.
      - The module never sets or clears unconstrained delegation itself.
    type: bool
    default: false
  mode:
    description:
      - V(classic) writes on the delegating account (O(computer)); the domain administrator's way, needs
        C(SeEnableDelegationPrivilege).
      - V(resource_based) writes on each target account found from O(services); needs write access to the
        targets only.
    type: str
    choices: [classic, resource_based]
    default: classic
extends_documentation_fragment:
  - vaware.hyperv.ldap_connection
attributes:
  check_mode:
    support: full
    description: Reads everything and reports what would change; writes nothing.
  diff_mode:
    support: full
    description: Shows the delegation list and account flags before and after.
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
  - module: microsoft.ad.computer
    description: Its C(delegates) option sets resource-based delegation as a whole list.
  - module: community.general.ldap_attrs
author:
  - vaware.hyperv maintainers (@vaware)
"""

EXAMPLES = r"""
- name: Let HYPERV01 mount ISO images from the library share (cifs on FS01, any authentication protocol)
  vaware.hyperv.ad_constrained_delegation:
    computer: HYPERV01
    services:
      - service: cifs
        host: fs01
    protocol_transition: true
  delegate_to: localhost

- name: Live migration between two hosts, exact list, over LDAPS with a service account from the environment
  vaware.hyperv.ad_constrained_delegation:
    computer: hyperv01.corp.example.com
    services:
      - {service: cifs, host: hyperv02}
      - {service: Microsoft Virtual System Migration Service, host: hyperv02}
    exclusive: true
    transport: ldaps
    ca_cert: /etc/pki/corp-root-ca.pem
  delegate_to: localhost
  # VAWARE_LDAP_SERVER / VAWARE_LDAP_USERNAME / VAWARE_LDAP_PASSWORD set by an AWX credential

- name: Raw SPNs, including a port form
  vaware.hyperv.ad_constrained_delegation:
    computer: APP01$
    services:
      - cifs/fs01.corp.example.com
      - MSSQLSvc/sql01.corp.example.com:1433
  delegate_to: localhost

- name: Remove the delegation again
  vaware.hyperv.ad_constrained_delegation:
    computer: HYPERV01
    services:
      - {service: cifs, host: fs01}
    state: absent
  delegate_to: localhost

- name: Resource-based instead, written on FS01
  vaware.hyperv.ad_constrained_delegation:
    computer: HYPERV01
    services:
      - {service: cifs, host: fs01}
    mode: resource_based
  delegate_to: localhost

- name: Every Hyper-V host of the play in one task and one LDAP session (batch)
  vaware.hyperv.ad_constrained_delegation:
    accounts: "{{ ansible_play_hosts | map('community.general.dict_kv', 'computer') | list }}"
    services:
      - {service: cifs, host: fs01}
    protocol_transition: true
  delegate_to: localhost
  run_once: true

- name: A batch with settings per account, that does not fail the task when an account fails
  vaware.hyperv.ad_constrained_delegation:
    accounts:
      - computer: HYPERV01
      - computer: HYPERV02
        services: [{service: cifs, host: fs02}]
      - computer: APP01$
        services: [MSSQLSvc/sql01.corp.example.com:1433]
        protocol_transition: false
    services: [{service: cifs, host: fs01}]
    protocol_transition: true
    fail_on_account_error: false
  delegate_to: localhost
  register: batch

- name: Name the accounts that failed
  ansible.builtin.debug:
    msg: "{{ batch.accounts | selectattr('failed') | map(attribute='msg') | list }}"

- name: Set the connection once for all AD modules
  module_defaults:
    group/vaware.hyperv.ad:
      server: dc1.corp.example.com
      transport: ldap
      auth: kerberos
  block:
    - name: Trust HYPERV02 as well
      vaware.hyperv.ad_constrained_delegation:
        computer: HYPERV02
        services: [{service: cifs, host: fs01}]
        protocol_transition: true
      delegate_to: localhost
"""

RETURN = r"""
dn:
  description: Distinguished name of the delegating account.
  returned: success, with O(computer)
  type: str
  sample: CN=HYPERV01,CN=Computers,DC=corp,DC=example,DC=com
sam_account_name:
  description: sAMAccountName of the delegating account.
  returned: success, with O(computer)
  type: str
  sample: HYPERV01$
allowed_to_delegate_to:
  description: C(msDS-AllowedToDelegateTo) after the run (what it would be in check mode).
  returned: success, with O(computer)
  type: list
  elements: str
  sample: [cifs/FS01, cifs/fs01.corp.example.com]
protocol_transition:
  description: Whether "Use any authentication protocol" (C(TRUSTED_TO_AUTH_FOR_DELEGATION)) is set after the run.
  returned: success, with O(computer)
  type: bool
  sample: true
user_account_control:
  description: Names of the C(userAccountControl) flags after the run.
  returned: success, with O(computer)
  type: list
  elements: str
  sample: [WORKSTATION_TRUST_ACCOUNT, TRUSTED_TO_AUTH_FOR_DELEGATION]
resource_based_targets:
  description:
    - Accounts whose C(msDS-AllowedToActOnBehalfOfOtherIdentity) allows O(computer) after the run.
    - Only the targets named in O(services) are read, plus every account in the domain when O(exclusive=true).
  returned: O(mode=resource_based)
  type: list
  elements: str
  sample: [FS01$]
added:
  description: SPNs added (O(mode=classic)) or target accounts that now allow O(computer) (O(mode=resource_based)).
  returned: success, with O(computer)
  type: list
  elements: str
  sample: [cifs/fs01.corp.example.com]
removed:
  description: SPNs or target accounts removed.
  returned: success, with O(computer)
  type: list
  elements: str
  sample: []
server:
  description: The LDAP URI of the domain controller used.
  returned: success
  type: str
  sample: ldap://dc1.corp.example.com:389
accounts:
  description:
    - With O(accounts), one entry per account in the order given, each with the keys a single run returns
      (C(dn), C(sam_account_name), C(allowed_to_delegate_to), C(protocol_transition), C(user_account_control),
      C(added), C(removed), C(resource_based_targets) in resource-based mode, C(diff) with C(--diff)) plus the
      ones below. A failed entry has only C(computer), C(changed), C(failed), C(msg) and C(warnings).
  returned: O(accounts) given
  type: list
  elements: dict
  contains:
    computer:
      description: The account as given in the entry.
      type: str
      sample: HYPERV01
    changed:
      description: Whether this account was changed (would be, in check mode).
      type: bool
    failed:
      description: Whether this account could not be configured; C(msg) says why.
      type: bool
    msg:
      description:
        - "Why this account failed, naming the entry, for example
          C(accounts[3] (HV404): computer 'HV404' was not found below DC=corp,DC=example,DC=com ...)."
      type: str
      returned: failed
    warnings:
      description:
        - Warnings about this account.
        - They are also shown as task warnings, each distinct text once, naming the accounts it was given for
          (the first three and how many more), so a warning about a target host that a thousand accounts share is
          one task warning, not a thousand.
      type: list
      elements: str
  sample:
    - computer: HYPERV01
      changed: true
      failed: false
      dn: CN=HYPERV01,CN=Computers,DC=corp,DC=example,DC=com
      sam_account_name: HYPERV01$
      allowed_to_delegate_to: [cifs/FS01, cifs/fs01.corp.example.com]
      protocol_transition: true
      user_account_control: [WORKSTATION_TRUST_ACCOUNT, TRUSTED_TO_AUTH_FOR_DELEGATION]
      added: [cifs/FS01, cifs/fs01.corp.example.com]
      removed: []
      warnings: []
    - computer: HV404
      changed: false
      failed: true
      msg: "accounts[1] (HV404): computer 'HV404' was not found below DC=corp,DC=example,DC=com"
      warnings: []
summary:
  description: With O(accounts), how many accounts there were, and how many changed, failed and were already right.
  returned: O(accounts) given
  type: dict
  sample: {accounts: 1000, changed: 3, failed: 1, unchanged: 996}
diff:
  description:
    - Before and after state, when run with C(--diff).
    - With O(accounts), a list of such before/after pairs, one per changed account, headed by its sAMAccountName.
  returned: diff mode
  type: raw
  contains:
    before:
      description: State before the run.
      type: dict
    after:
      description: State after the run.
      type: dict
"""

import traceback  # noqa: E402

from ansible.module_utils.basic import AnsibleModule, missing_required_lib  # noqa: E402

from ansible_collections.vaware.hyperv.plugins.module_utils._delegation import (  # noqa: E402
    TRUSTED_FOR_DELEGATION,
    TRUSTED_TO_AUTH_FOR_DELEGATION,
    SecurityDescriptor,
    Spn,
    SpnError,
    plan_values,
    spn_forms,
    to_signed32,
    uac_flag_names,
    with_flag,
)
from ansible_collections.vaware.hyperv.plugins.module_utils._ldap import client  # noqa: E402
from ansible_collections.vaware.hyperv.plugins.module_utils._ldap.accounts import (  # noqa: E402
    AccountLookup,
    WriteRights,
    resolve_account,
)
from ansible_collections.vaware.hyperv.plugins.module_utils._ldap.errors import LdapClientError  # noqa: E402

try:
    import ldap
except ImportError:  # reported by client.missing_libraries before anything else
    ldap = None

A2D = "msDS-AllowedToDelegateTo"
RBCD = "msDS-AllowedToActOnBehalfOfOtherIdentity"
UAC_ATTR = "userAccountControl"
PAIR_KEYS = {"service", "host", "port", "forms"}
DENIED_HINT = (
    ". Setting delegation needs write access to the attribute and, for classic delegation, "
    "the SeEnableDelegationPrivilege user right on the domain controllers (Domain Admins have both)"
)
# what one account's configuration consists of; in a batch each entry of accounts may set any of them
SETTINGS = ("services", "spn_forms", "state", "exclusive", "protocol_transition", "allow_unconstrained", "mode")
CHOICES = {
    "spn_forms": ["both", "short", "fqdn"],
    "state": ["present", "absent"],
    "mode": ["classic", "resource_based"],
}


class DelegationError(Exception):
    pass


def parse_services(services, prefix="services"):
    """Validate a services list before connecting: ('spn', Spn) and ('pair', dict) items."""
    parsed = []
    for index, item in enumerate(services):
        where = f"{prefix}[{index}]"
        if isinstance(item, str):
            try:
                parsed.append(("spn", Spn.parse(item)))
            except SpnError as err:
                raise DelegationError(f"{where}: {err}") from None
        elif isinstance(item, dict):
            unknown = set(item) - PAIR_KEYS
            if unknown:
                raise DelegationError(
                    "{} has unknown keys {}; expected service, host, port, forms".format(
                        where, ", ".join(sorted(unknown))
                    )
                )
            service, host = item.get("service"), item.get("host")
            if not isinstance(service, str) or not isinstance(host, str) or not service or not host:
                raise DelegationError(f"{where} must have a service (for example cifs) and a host, got {item!r}")
            port = item.get("port")
            if port is not None:
                try:
                    port = int(port)
                except (TypeError, ValueError):
                    port = -1
                if not 0 < port < 65536:
                    raise DelegationError("{}: port {!r} is not between 1 and 65535".format(where, item.get("port")))
            forms = item.get("forms")
            if forms is not None and forms not in ("both", "short", "fqdn"):
                raise DelegationError(f"{where}: forms {forms!r} is not one of both, short, fqdn")
            try:
                Spn.validate_service(service)
                if "=" not in host:
                    Spn.validate_host(host.rstrip("$"))
            except SpnError as err:
                raise DelegationError(f"{where}: {err}") from None
            parsed.append(("pair", {"service": service, "host": host, "port": port, "forms": forms}))
        else:
            raise DelegationError(
                f"{where} is {item!r}; expected an SPN string such as cifs/fs01.corp.example.com "
                "or a {service, host} dictionary"
            )
    return parsed


def account_specs(params):
    """One settings dictionary per account to configure, checked before connecting.

    A single run (O(computer)) is a batch of one. In a batch each entry of O(accounts) takes every
    setting it does not give from the top-level option of the same name. Errors name the entry.
    """
    if params.get("accounts") is None:
        entries, prefixes = [dict(params)], [""]
    else:
        entries = params["accounts"]
        prefixes = [f"accounts[{index}]." for index in range(len(entries))]
    specs = []
    for entry, prefix in zip(entries, prefixes):
        spec = {key: params[key] if entry.get(key) is None else entry[key] for key in SETTINGS}
        spec["computer"] = entry.get("computer")
        if not isinstance(spec["computer"], str) or not spec["computer"].strip():
            raise DelegationError(f"{prefix}computer is empty; expected HYPERV01, HYPERV01$, a DNS name or a DN")
        if spec["exclusive"] and spec["state"] == "absent":
            raise DelegationError(
                f"{prefix}exclusive: true only goes with state: present (it makes the list exactly services)"
            )
        spec["parsed"] = parse_services(spec["services"], prefix=f"{prefix}services")
        spec["label"] = f"{prefix[:-1]} ({spec['computer']})" if prefix else spec["computer"]
        specs.append(spec)
    return specs


class Delegation:
    def __init__(self, module, conn, lookup=None):
        self.module = module
        self.conn = conn
        self.lookup = lookup or AccountLookup(conn)
        self.rights = WriteRights(conn)
        self.warnings = []

    # ------------------------------------------------------------------ resolving
    def prefetch(self, specs):
        """Look up every account and target host of a batch, and the holders of its raw SPNs, in a few searches."""
        names = [spec["computer"] for spec in specs]
        names += [item["host"] for spec in specs for kind, item in spec["parsed"] if kind == "pair"]
        spns = [item for spec in specs for kind, item in spec["parsed"] if kind == "spn"]
        self.lookup.prefetch(names, spns)
        # the rights on the accounts and target hosts found are read (in chunks) only when one is about to change
        self.rights.expect(self.lookup.prefetched())

    def resolve_services(self, spec):
        """(SPN strings, target accounts) for the requested services; errors name the bad item."""
        spns, targets = [], []
        for index, (kind, item) in enumerate(spec["parsed"]):
            where = f"services[{index}]"
            if kind == "pair":
                try:
                    host = self.lookup.account(item["host"], what=f"{where} host")
                except LdapClientError as err:
                    raise DelegationError(str(err)) from None
                forms = item["forms"] or spec["spn_forms"]
                dns_name = host.dns_host_name
                if not dns_name and "." in item["host"]:
                    dns_name = item["host"]
                if not dns_name and forms in ("both", "fqdn"):
                    dns_name = f"{host.short_name.lower()}.{self.conn.dns_domain}"
                    guessed = Spn(item["service"], dns_name, item["port"])
                    self.warnings.append(
                        f"{where}: {host.label} ({host.dn}) has no dNSHostName, so the DNS form of its SPN is a "
                        f"guess from the domain name: {guessed}; if the host's DNS name differs, give the raw SPN "
                        "instead or set its dNSHostName"
                    )
                try:
                    expanded = spn_forms(item["service"], host.short_name, dns_name, forms, item["port"])
                except SpnError as err:
                    raise DelegationError(f"{where}: {err}") from None
                spns.extend(str(s) for s in expanded)
                targets.append(host)
            else:
                holders = self.lookup.spn_holders(item)
                if spec["mode"] == "resource_based":
                    if len(holders) != 1:
                        raise DelegationError(
                            f"{where}: SPN {item} is held by "
                            + ("no account" if not holders else ", ".join(h.dn for h in holders))
                            + "; resource-based delegation needs exactly one target account"
                        )
                    target = resolve_account(self.conn, holders[0].dn, what=where)
                    targets.append(target)
                elif not holders and spec["state"] == "present":
                    self.warnings.append(
                        f"{where}: no account in {self.conn.base_dn} holds the SPN {item} (nor HOST/{item.host}); "
                        "Kerberos cannot issue tickets for it until it is registered"
                    )
                spns.append(str(item))
        return spns, targets

    @staticmethod
    def check_unconstrained(account, spec):
        if account.user_account_control & TRUSTED_FOR_DELEGATION and not spec["allow_unconstrained"]:
            raise DelegationError(
                f"{account.label} ({account.dn}) is trusted for unconstrained delegation (TRUSTED_FOR_DELEGATION, "
                "'Trust this computer for delegation to any service'): it can already delegate anywhere, "
                "so constrained delegation would not restrict it. Switch it to 'specified services only' first, "
                "or set allow_unconstrained: true to configure the list anyway"
            )

    # ------------------------------------------------------------------ writing
    def require_write_access(self, dn, attributes):
        """Fail before writing (and in check mode) when the bind account may not write ``attributes``."""
        writable = self.rights.writable(dn)
        missing = [a for a in attributes if a.lower() not in writable]
        if missing:
            raise DelegationError(
                f"{self.conn.credential_source} may not change {', '.join(missing)} on {dn} (the domain controller "
                "lists no write access to it). Setting delegation needs write access to these attributes and, for "
                "classic delegation, the SeEnableDelegationPrivilege user right on the domain controllers "
                "(Domain Admins have both)"
            )

    def run_classic(self, computer, requested, state, exclusive, protocol_transition):
        def plan(account):
            current = account.texts(A2D)
            uac = account.user_account_control
            after, added, removed = plan_values(current, requested, state, exclusive)
            new_uac = (
                uac
                if protocol_transition is None
                else with_flag(uac, TRUSTED_TO_AUTH_FOR_DELEGATION, protocol_transition)
            )
            result = {
                "dn": account.dn,
                "sam_account_name": account.sam_account_name,
                "allowed_to_delegate_to": after,
                "protocol_transition": bool(new_uac & TRUSTED_TO_AUTH_FOR_DELEGATION),
                "user_account_control": uac_flag_names(new_uac),
                "added": added,
                "removed": removed,
                "changed": bool(added or removed or new_uac != uac),
                "diff": {"before": self.classic_state(current, uac), "after": self.classic_state(after, new_uac)},
            }
            modlist = []
            if removed:
                modlist.append((ldap.MOD_DELETE, A2D, [v.encode("utf-8") for v in removed]))
            if added:
                modlist.append((ldap.MOD_ADD, A2D, [v.encode("utf-8") for v in added]))
            if new_uac != uac:
                # Delete exactly the value read, add the new one: fails if anyone changed it since.
                modlist.append((ldap.MOD_DELETE, UAC_ATTR, [account.uac_raw]))
                modlist.append((ldap.MOD_ADD, UAC_ATTR, [str(to_signed32(new_uac)).encode()]))
            return modlist, result

        def rights(result):
            changes_list = bool(result["added"] or result["removed"])
            changes_flag = result["diff"]["before"]["protocol_transition"] != result["protocol_transition"]
            self.require_write_access(
                result["dn"], ([A2D] if changes_list else []) + ([UAC_ATTR] if changes_flag else [])
            )

        return self.conn.compare_and_swap(
            computer.dn,
            lambda: resolve_account(self.conn, computer.dn),
            plan,
            f"{A2D}/{UAC_ATTR}",
            key=lambda account: (account.texts(A2D), account.uac_raw),
            snapshot=computer,
            before_write=rights,
            check_mode=self.module.check_mode,
            denied_hint=DENIED_HINT,
        )

    @staticmethod
    def classic_state(spns, uac):
        return {
            "allowed_to_delegate_to": sorted(spns, key=str.lower),
            "protocol_transition": bool(uac & TRUSTED_TO_AUTH_FOR_DELEGATION),
            "user_account_control": uac_flag_names(uac),
        }

    def _read_sd(self, dn):
        entry = self.conn.read(dn, ["sAMAccountName", RBCD])
        raw = (entry[1].get(RBCD) or [None])[0] if entry else None
        if raw is None:
            return None, None
        try:
            return raw, SecurityDescriptor.from_bytes(raw)
        except ValueError as err:
            raise DelegationError(f"{RBCD} on {dn} cannot be decoded: {err}; not touching it") from None

    def run_resource_based(self, computer, targets, state, exclusive):
        sid = computer.sid
        by_dn = {}
        for target in targets:
            by_dn.setdefault(target.dn.lower(), target)
        # Targets currently allowing the account, when exclusive=true must find strays domain-wide.
        holders = {}
        if exclusive:
            for dn, attrs in self.conn.search(f"({RBCD}=*)", ["sAMAccountName", RBCD]):
                try:
                    sd = SecurityDescriptor.from_bytes(attrs[RBCD][0])
                except ValueError as err:
                    self.warnings.append(
                        f"{RBCD} on {dn} cannot be decoded ({err}); exclusive: true could not tell whether it "
                        f"allows {computer.label}, so it was left as it is"
                    )
                    continue
                if sid in sd.allowed_sids():
                    holders[dn.lower()] = (dn, (attrs.get("sAMAccountName") or [dn.encode()])[0].decode())
        work = {key: (t.dn, t.label) for key, t in by_dn.items()}
        for key, value in holders.items():
            work.setdefault(key, value)
        before_list, after_list, added, removed = [], [], [], []
        for key, (dn, label) in sorted(work.items()):
            wanted_here = key in by_dn

            def plan(snapshot, wanted_here=wanted_here):
                raw, sd = snapshot
                allowed = sd.allowed_sids() if sd else []
                has = sid in allowed
                want = wanted_here or (not exclusive and has) if state == "present" else has and not wanted_here
                modlist = []
                if want != has:
                    new_sids = [*allowed, sid] if want else [s for s in allowed if s != sid]
                    if raw is not None:
                        modlist.append((ldap.MOD_DELETE, RBCD, [raw]))
                    if new_sids:
                        base = sd or SecurityDescriptor()
                        modlist.append((ldap.MOD_ADD, RBCD, [base.with_allowed_sids(new_sids).to_bytes()]))
                return modlist, (has, want)

            has, want = self.conn.compare_and_swap(
                dn,
                lambda dn=dn: self._read_sd(dn),
                plan,
                RBCD,
                key=lambda snapshot: snapshot[0],
                before_write=lambda _outcome, dn=dn: self.require_write_access(dn, [RBCD]),
                check_mode=self.module.check_mode,
                denied_hint=DENIED_HINT,
            )
            if has:
                before_list.append(label)
            if want:
                after_list.append(label)
            if want != has:
                (added if want else removed).append(label)
        return {
            "dn": computer.dn,
            "sam_account_name": computer.sam_account_name,
            "allowed_to_delegate_to": computer.texts(A2D),
            "protocol_transition": bool(computer.user_account_control & TRUSTED_TO_AUTH_FOR_DELEGATION),
            "user_account_control": uac_flag_names(computer.user_account_control),
            "resource_based_targets": sorted(after_list, key=str.lower),
            "added": added,
            "removed": removed,
            "changed": bool(added or removed),
            "diff": {
                "before": {"resource_based_targets": sorted(before_list, key=str.lower)},
                "after": {"resource_based_targets": sorted(after_list, key=str.lower)},
            },
        }

    def run_protocol_transition_only(self, computer, result, protocol_transition):
        """In resource-based mode protocol_transition still applies to the delegating account itself."""
        if protocol_transition is None:
            return result
        # the classic list stays exactly as it is: "present" with what is already there
        pt_result = self.run_classic(computer, computer.texts(A2D), "present", False, protocol_transition)
        result["protocol_transition"] = pt_result["protocol_transition"]
        result["user_account_control"] = pt_result["user_account_control"]
        if pt_result["changed"]:
            result["changed"] = True
            result["diff"]["before"]["protocol_transition"] = pt_result["diff"]["before"]["protocol_transition"]
            result["diff"]["after"]["protocol_transition"] = pt_result["diff"]["after"]["protocol_transition"]
        return result

    # ------------------------------------------------------------------ one account
    def configure(self, spec, fresh=False):
        """Bring one account to ``spec``; returns its result (raises DelegationError or LdapClientError)."""
        computer = self.lookup.account(spec["computer"])
        if fresh:  # written earlier in this batch: plan on what is there now, not on the batch's first read
            computer = resolve_account(self.conn, computer.dn)
        requested, targets = self.resolve_services(spec)
        self.check_unconstrained(computer, spec)
        if spec["mode"] == "classic":
            return self.run_classic(computer, requested, spec["state"], spec["exclusive"], spec["protocol_transition"])
        result = self.run_resource_based(computer, targets, spec["state"], spec["exclusive"])
        return self.run_protocol_transition_only(computer, result, spec["protocol_transition"])


def batch_labels(labels, shown=3):
    """``accounts[0] (HV01)``, or ``accounts[0] (HV01), accounts[1] (HV02), accounts[2] (HV03) and 997 more``."""
    rest = len(labels) - shown
    if rest <= 1:
        return ", ".join(labels)
    return f"{', '.join(labels[:shown])} and {rest} more"


def run_batch(module, work, specs):
    """Configure every account of O(accounts) on one connection; a failed account does not stop the others."""
    work.prefetch(specs)
    entries, written = [], set()
    warned = {}  # warning text -> labels of the accounts it was given for
    for spec in specs:
        work.warnings = []
        entry = {"computer": spec["computer"]}
        try:
            dn_key = work.lookup.account(spec["computer"]).dn.lower()
            outcome = work.configure(spec, fresh=dn_key in written)
        except (DelegationError, LdapClientError) as err:
            entry.update(failed=True, changed=False, msg=f"{spec['label']}: {err}")
        else:
            if not module._diff:
                outcome.pop("diff", None)
            entry.update(outcome, failed=False)
            if outcome["changed"] and not module.check_mode:
                written.add(dn_key)
        entry["warnings"] = list(work.warnings)
        for warning in work.warnings:
            warned.setdefault(warning, []).append(spec["label"])
        entries.append(entry)
    for warning, labels in warned.items():
        module.warn(f"{batch_labels(labels)}: {warning}")
    failed = [e for e in entries if e["failed"]]
    result = {
        "changed": any(e["changed"] for e in entries),
        "accounts": entries,
        "summary": {
            "accounts": len(entries),
            "changed": sum(1 for e in entries if e["changed"]),
            "failed": len(failed),
            "unchanged": sum(1 for e in entries if not e["changed"] and not e["failed"]),
        },
    }
    if module._diff:
        result["diff"] = [
            {
                "before_header": e["sam_account_name"],
                "after_header": e["sam_account_name"],
                "before": e["diff"]["before"],
                "after": e["diff"]["after"],
            }
            for e in entries
            if e["changed"]
        ]
    return result, failed


def main():
    account_options = {
        "computer": {"type": "str", "required": True},
        "services": {"type": "list", "elements": "raw"},
        "spn_forms": {"type": "str", "choices": CHOICES["spn_forms"]},
        "state": {"type": "str", "choices": CHOICES["state"]},
        "exclusive": {"type": "bool"},
        "protocol_transition": {"type": "bool"},
        "allow_unconstrained": {"type": "bool"},
        "mode": {"type": "str", "choices": CHOICES["mode"]},
    }
    argument_spec = {
        "computer": {"type": "str"},
        "accounts": {"type": "list", "elements": "dict", "options": account_options},
        "fail_on_account_error": {"type": "bool", "default": True},
        "services": {"type": "list", "elements": "raw", "default": []},
        "spn_forms": {"type": "str", "choices": CHOICES["spn_forms"], "default": "both"},
        "state": {"type": "str", "choices": CHOICES["state"], "default": "present"},
        "exclusive": {"type": "bool", "default": False},
        "protocol_transition": {"type": "bool"},
        "allow_unconstrained": {"type": "bool", "default": False},
        "mode": {"type": "str", "choices": CHOICES["mode"], "default": "classic"},
    }
    argument_spec.update(client.LDAP_CONNECTION_ARGUMENT_SPEC)
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_one_of=[("computer", "accounts")],
        mutually_exclusive=[("computer", "accounts")],
    )
    p = module.params

    for name, error in client.missing_libraries(p):
        module.fail_json(msg=missing_required_lib(name), exception=error)

    # Everything that can be checked without the directory is checked before connecting.
    try:
        specs = account_specs(p)
        client.check_connection_params(p)
    except (DelegationError, LdapClientError) as err:
        module.fail_json(msg=str(err))

    conn = None
    failed = []
    try:
        conn = client.connect(p)
        work = Delegation(module, conn)
        if p["accounts"] is None:
            result = work.configure(specs[0])
            if not module._diff:
                result.pop("diff", None)
            for warning in work.warnings:
                module.warn(warning)
        else:
            result, failed = run_batch(module, work, specs)
        result["server"] = conn.uri
    except (DelegationError, LdapClientError) as err:
        module.fail_json(msg=str(err))
    except Exception as err:  # an unexpected library error: still a clean failure with the trace
        module.fail_json(msg=f"unexpected error: {err}", exception=traceback.format_exc())
    finally:
        if conn is not None:
            conn.close()
    if failed and p["fail_on_account_error"]:
        shown = "; ".join(e["msg"] for e in failed[:10]) + ("; ..." if len(failed) > 10 else "")
        module.fail_json(msg=f"{len(failed)} of {len(specs)} accounts failed: {shown}", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
