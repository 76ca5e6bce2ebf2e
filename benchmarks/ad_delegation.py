"""Benchmark: constrained delegation for N hosts with ad_constrained_delegation vs community.general.ldap_attrs.

Against a throwaway Samba AD DC (tests/support/samba_dc.py, its own network namespace), N computer
accounts are configured to delegate to cifs on FS01 with "use any authentication protocol":

* vaware.hyperv.ad_constrained_delegation: one task per host (services + protocol_transition);
* community.general.ldap_attrs: two tasks per host, the SPN list and the whole userAccountControl
  value (it cannot flip one bit), both state=exact.

Each tool gets its own N fresh accounts and runs cold (everything to change) and warm (nothing to
change). Both bind the same way (simple bind over LDAPS, the DC's CA given). Writes are counted on
the DC side: the sum of the accounts' uSNChanged before and after a run (0 = nothing written).

    .venv/bin/python benchmarks/ad_delegation.py [-n 200] [--forks 10]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import textwrap
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))

import run_module  # noqa: E402
import samba_dc  # noqa: E402

SPNS = ["cifs/FS01", f"cifs/fs01.{samba_dc.DNS_DOMAIN}"]
UAC_WITH_PROTOCOL_TRANSITION = 0x1000 | 0x1000000  # WORKSTATION_TRUST_ACCOUNT | TRUSTED_TO_AUTH_FOR_DELEGATION

OURS = textwrap.dedent(
    f"""\
    - name: ad_constrained_delegation, one task per host
      hosts: bench
      gather_facts: false
      tasks:
        - name: Trust the host for cifs on FS01, any authentication protocol
          vaware.hyperv.ad_constrained_delegation:
            computer: "{{{{ inventory_hostname }}}}"
            services: [{{service: cifs, host: fs01}}]
            protocol_transition: true
            server: {samba_dc.DC_FQDN}
            transport: ldaps
            auth: simple
            username: Administrator@{samba_dc.DNS_DOMAIN}
            password: "{{{{ ldap_password }}}}"
            ca_cert: "{{{{ ca_cert }}}}"
    """
)

THEIRS = textwrap.dedent(
    f"""\
    - name: community.general.ldap_attrs, two tasks per host
      hosts: bench
      gather_facts: false
      module_defaults:
        community.general.ldap_attrs:
          server_uri: ldaps://{samba_dc.DC_FQDN}
          bind_dn: Administrator@{samba_dc.DNS_DOMAIN}
          bind_pw: "{{{{ ldap_password }}}}"
          ca_path: "{{{{ ca_cert }}}}"
          dn: "CN={{{{ inventory_hostname | upper }}}},CN=Computers,{samba_dc.BASE_DN}"
          state: exact
      tasks:
        - name: The SPN list
          community.general.ldap_attrs:
            attributes:
              msDS-AllowedToDelegateTo: {json.dumps(SPNS)}
        - name: The whole userAccountControl value
          community.general.ldap_attrs:
            attributes:
              userAccountControl: "{UAC_WITH_PROTOCOL_TRANSITION}"
    """
)


def usn_sum(dc: samba_dc.SambaDC, prefix: str) -> int:
    sam = dc.workdir / "dc" / "private" / "sam.ldb"
    out = dc.run(["ldbsearch", "-H", str(sam), f"(sAMAccountName={prefix}*)", "uSNChanged"]).stdout
    return sum(int(line.split(":", 1)[1]) for line in out.splitlines() if line.startswith("uSNChanged:"))


def run_play(dc, workdir: pathlib.Path, name: str, play: str, hosts: list[str], forks: int) -> float:
    playbook = workdir / f"{name}.yml"
    playbook.write_text(play)
    inventory = workdir / f"{name}-inventory.json"
    inventory.write_text(
        json.dumps(
            {
                "bench": {
                    "hosts": dict.fromkeys(hosts),
                    "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
                }
            }
        )
    )
    secrets = workdir / "secrets.json"
    secrets.write_text(json.dumps({"ldap_password": samba_dc.ADMIN_PASSWORD, "ca_cert": str(dc.ca_cert)}))
    env = {
        "ANSIBLE_COLLECTIONS_PATH": str(run_module.ensure_collection_link()),
        "ANSIBLE_HOME": str(workdir / "ansible-home"),
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_HOST_KEY_CHECKING": "false",
        "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.null",
    }
    ansible_playbook = str(pathlib.Path(sys.executable).parent / "ansible-playbook")
    started = time.monotonic()
    proc = dc.run(
        [ansible_playbook, "-f", str(forks), "-i", str(inventory), "-e", f"@{secrets}", str(playbook)],
        env=env,
        check=False,
        timeout=3600,
    )
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return elapsed


def check_result(dc: samba_dc.SambaDC, host: str) -> None:
    shown = dc.delegation_show(host.upper() + "$")
    assert sorted(shown["allowed_to_delegate_to"], key=str.lower) == sorted(SPNS, key=str.lower), shown
    assert shown["protocol_transition"] is True, shown


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("-n", type=int, default=200, help="computer accounts per tool (default 200)")
    parser.add_argument("--forks", type=int, default=10, help="ansible-playbook --forks for both tools (default 10)")
    args = parser.parse_args()

    ours_hosts = [f"bva{i:04d}" for i in range(args.n)]
    theirs_hosts = [f"bvb{i:04d}" for i in range(args.n)]
    dc = samba_dc.SambaDC(log=lambda msg: print(f"  {msg}", flush=True))
    try:
        print(f"Starting a Samba AD DC and creating 2 x {args.n} computer accounts ...", flush=True)
        dc.start()
        dc.create_accounts(
            computers=[("FS01", SPNS)] + [(h.upper(), []) for h in ours_hosts + theirs_hosts],
        )
        work = dc.workdir / "bench"
        work.mkdir()
        rows = []
        for tool, play, hosts, prefix in (
            ("ad_constrained_delegation", OURS, ours_hosts, "BVA"),
            ("ldap_attrs (2 tasks/host)", THEIRS, theirs_hosts, "BVB"),
        ):
            for phase in ("cold", "warm"):
                before = usn_sum(dc, prefix)
                seconds = run_play(dc, work, f"{prefix.lower()}-{phase}", play, hosts, args.forks)
                written = usn_sum(dc, prefix) != before
                rows.append((tool, phase, seconds, args.n / seconds, written))
                print(
                    f"  {tool:28} {phase}: {seconds:7.1f}s  {args.n / seconds:6.1f} hosts/s  "
                    f"{'wrote to AD' if written else 'no write'}",
                    flush=True,
                )
            for host in (hosts[0], hosts[-1]):
                check_result(dc, host)
    finally:
        dc.stop()

    print()
    print(f"{'tool':30} {'run':5} {'seconds':>8} {'hosts/s':>8}  writes")
    for tool, phase, seconds, rate, written in rows:
        print(f"{tool:30} {phase:5} {seconds:8.1f} {rate:8.1f}  {'yes' if written else 'none'}")
    ours = {phase: rate for tool, phase, _seconds, rate, _written in rows if tool.startswith("ad_")}
    theirs = {phase: rate for tool, phase, _seconds, rate, _written in rows if tool.startswith("ldap_attrs")}
    for phase in ("cold", "warm"):
        print(f"ratio {phase}: ad_constrained_delegation is {ours[phase] / theirs[phase]:.2f}x ldap_attrs (hosts/s)")
    warm_writes = [r for r in rows if r[1] == "warm" and r[4]]
    if warm_writes:
        print("warm run wrote to AD: " + ", ".join(r[0] for r in warm_writes))
    ok = (
        ours["cold"] >= theirs["cold"]
        and ours["warm"] >= theirs["warm"]
        and not [r for r in warm_writes if r[0].startswith("ad_")]
    )
    print("goal (at least as fast as ldap_attrs, zero writes warm):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
