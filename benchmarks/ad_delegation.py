"""Benchmark: constrained delegation for N hosts, batch mode vs community.general.ldap_attrs, in one run.

Against a throwaway Samba AD DC (tests/support/samba_dc.py, its own network namespace), N computer
accounts are configured to delegate to cifs on FS01 with "use any authentication protocol":

* batch: vaware.hyperv.ad_constrained_delegation with ``accounts``, one task for every host of the play
  (run_once on the controller, one LDAP connection);
* role: playbooks/delegation.yml (the hyperv_delegation role in its default batch mode: the same one
  task, plus the per-host tasks that give each host its result and its changed/failed status);
* ldap_attrs: community.general.ldap_attrs, two tasks per host, the SPN list and the whole
  userAccountControl value (it cannot flip one bit), both state=exact.

Each tool gets its own N fresh accounts per size and runs cold (everything to change) and warm (nothing
to change). All bind the same way (simple bind over LDAPS, the DC's CA given). Writes are counted on the
DC side: the sum of the accounts' uSNChanged before and after a run (unchanged = nothing written).

Each run prints the machine's load average (1, 5 and 15 minutes, os.getloadavg) before and after it: the figures
are whole ansible-playbook runs, which slow down in proportion when other work shares the CPUs.

Goals: batch at least 20x the hosts/s of ldap_attrs at N = 200 (cold and warm); warm N = 1000 under
10 s with zero writes. ldap_attrs runs two ansible tasks per host and the role a few (each host's own
result and status), and both take minutes at N = 1000, where Ansible's cost per host and task dominates;
they run only up to --ldap-attrs-max and --role-max hosts (default 200); the output says where they did not.

    .venv/bin/python benchmarks/ad_delegation.py [--sizes 200,1000] [--forks 10] [--ldap-attrs-max 200] [--role-max 200]
"""

from __future__ import annotations

import argparse
import json
import os
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
GOAL_RATIO = 20.0
GOAL_WARM_SECONDS = 10.0

BATCH = textwrap.dedent(
    f"""\
    - name: ad_constrained_delegation, every host in one task (batch)
      hosts: bench
      gather_facts: false
      tasks:
        - name: Trust every host for cifs on FS01, any authentication protocol
          vaware.hyperv.ad_constrained_delegation:
            accounts: "{{{{ ansible_play_hosts | map('community.general.dict_kv', 'computer') | list }}}}"
            services: [{{service: cifs, host: fs01}}]
            protocol_transition: true
            server: {samba_dc.DC_FQDN}
            transport: ldaps
            auth: simple
            username: Administrator@{samba_dc.DNS_DOMAIN}
            password: "{{{{ ldap_password }}}}"
            ca_cert: "{{{{ ca_cert }}}}"
          run_once: true
          delegate_to: localhost
    """
)

ROLE = textwrap.dedent(
    """\
    - name: playbooks/delegation.yml (role hyperv_delegation, batch mode)
      ansible.builtin.import_playbook: {playbook}
    """
).format(playbook=ROOT / "playbooks" / "delegation.yml")

LDAP_ATTRS = textwrap.dedent(
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

TOOLS = {
    "batch": ("ad_constrained_delegation batch", BATCH, "bench"),
    "role": ("role hyperv_delegation (batch)", ROLE, "hyperv_hosts"),
    "ldap_attrs": ("ldap_attrs (2 tasks/host)", LDAP_ATTRS, "bench"),
}


def usn_sum(dc: samba_dc.SambaDC, prefix: str) -> int:
    sam = dc.workdir / "dc" / "private" / "sam.ldb"
    out = dc.run(["ldbsearch", "-H", str(sam), f"(sAMAccountName={prefix}*)", "uSNChanged"]).stdout
    return sum(int(line.split(":", 1)[1]) for line in out.splitlines() if line.startswith("uSNChanged:"))


def run_play(dc, workdir: pathlib.Path, name: str, play: str, group: str, hosts: list[str], forks: int) -> float:
    playbook = workdir / f"{name}.yml"
    playbook.write_text(play)
    inventory = workdir / f"{name}-inventory.json"
    inventory.write_text(
        json.dumps(
            {
                group: {
                    "hosts": dict.fromkeys(hosts),
                    "vars": {
                        "ansible_connection": "local",
                        "ansible_python_interpreter": sys.executable,
                        # for the role (playbooks/delegation.yml)
                        "hyperv_iso_library_servers": ["fs01"],
                        "hyperv_delegation_ldap_server": samba_dc.DC_FQDN,
                        "hyperv_delegation_ldap_transport": "ldaps",
                        "hyperv_delegation_ldap_auth": "simple",
                        "hyperv_delegation_ldap_username": f"Administrator@{samba_dc.DNS_DOMAIN}",
                        "hyperv_delegation_ldap_password": "{{ ldap_password }}",
                        "hyperv_delegation_ldap_ca_cert": "{{ ca_cert }}",
                    },
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


def loads(triple) -> str:
    return "/".join(f"{value:.1f}" for value in triple)


def check_result(dc: samba_dc.SambaDC, host: str) -> None:
    shown = dc.delegation_show(host.upper() + "$")
    assert sorted(shown["allowed_to_delegate_to"], key=str.lower) == sorted(SPNS, key=str.lower), shown
    assert shown["protocol_transition"] is True, shown


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--sizes", default="200,1000", help="numbers of hosts, comma-separated (default 200,1000)")
    parser.add_argument("--forks", type=int, default=10, help="ansible-playbook --forks for every tool (default 10)")
    parser.add_argument(
        "--ldap-attrs-max", type=int, default=200, help="run ldap_attrs only up to this many hosts (default 200)"
    )
    parser.add_argument(
        "--role-max", type=int, default=200, help="run the role only up to this many hosts (default 200)"
    )
    parser.add_argument("--tools", default="batch,role,ldap_attrs", help="tools to run (default all)")
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")]
    tools = [t for t in args.tools.split(",") if t]
    unknown = set(tools) - set(TOOLS)
    if unknown:
        parser.error(f"unknown tools {', '.join(sorted(unknown))}; expected some of {', '.join(TOOLS)}")

    plan = []  # (tool, n, hosts, prefix)
    skipped = []
    for size_index, n in enumerate(sizes):
        for tool in tools:
            limit = {"ldap_attrs": args.ldap_attrs_max, "role": args.role_max}.get(tool)
            if limit is not None and n > limit:
                skipped.append((tool, n, limit))
                continue
            prefix = f"b{tool[0]}{size_index}"  # bb0, br0, bl0, ...: 15 characters at most with the number
            plan.append((tool, n, [f"{prefix}{i:04d}" for i in range(n)], prefix))

    print(f"load average at the start: {loads(os.getloadavg())} on {os.cpu_count()} CPUs", flush=True)
    dc = samba_dc.SambaDC(log=lambda msg: print(f"  {msg}", flush=True))
    rows = []
    try:
        total = sum(len(hosts) for _tool, _n, hosts, _prefix in plan)
        print(f"Starting a Samba AD DC and creating {total} computer accounts ...", flush=True)
        dc.start()
        started = time.monotonic()
        dc.create_accounts(
            computers=[("FS01", SPNS)] + [(h.upper(), []) for _t, _n, hosts, _p in plan for h in hosts],
        )
        print(f"  accounts created in {time.monotonic() - started:.1f}s", flush=True)
        work = dc.workdir / "bench"
        work.mkdir()
        for tool, n, hosts, prefix in plan:
            label, play, group = TOOLS[tool]
            for phase in ("cold", "warm"):
                before = usn_sum(dc, prefix)
                load_before = os.getloadavg()
                seconds = run_play(dc, work, f"{prefix}-{phase}", play, group, hosts, args.forks)
                load_after = os.getloadavg()
                written = usn_sum(dc, prefix) != before
                rows.append(
                    {
                        "tool": tool,
                        "n": n,
                        "phase": phase,
                        "seconds": seconds,
                        "written": written,
                        "load": (load_before, load_after),
                    }
                )
                print(
                    f"  {label:34} N={n:<5} {phase}: {seconds:7.1f}s  {n / seconds:7.1f} hosts/s  "
                    f"{'wrote to AD' if written else 'no write'}  load {loads(load_before)} -> {loads(load_after)}",
                    flush=True,
                )
            for host in (hosts[0], hosts[-1]):
                check_result(dc, host)
    finally:
        dc.stop()

    print()
    print(f"machine: {os.cpu_count()} CPUs; load average (1/5/15 min) before -> after each run")
    print(f"{'tool':36} {'N':>5} {'run':5} {'seconds':>8} {'hosts/s':>8}  {'writes':6}  load")
    for row in rows:
        before, after = row["load"]
        print(
            f"{TOOLS[row['tool']][0]:36} {row['n']:5} {row['phase']:5} {row['seconds']:8.1f} "
            f"{row['n'] / row['seconds']:8.1f}  {'yes' if row['written'] else 'none':6}  "
            f"{loads(before)} -> {loads(after)}"
        )
    for tool, n, limit in skipped:
        option = "--ldap-attrs-max" if tool == "ldap_attrs" else "--role-max"
        print(f"{TOOLS[tool][0]:36} {n:5} not run (more than {option} {limit} hosts; one ansible task per host)")

    def rate(tool, n, phase):
        for row in rows:
            if (row["tool"], row["n"], row["phase"]) == (tool, n, phase):
                return row["n"] / row["seconds"]
        return None

    print()
    verdicts = []
    for n in sizes:
        for tool in ("batch", "role"):
            for phase in ("cold", "warm"):
                ours, theirs = rate(tool, n, phase), rate("ldap_attrs", n, phase)
                if ours and theirs:
                    ratio = ours / theirs
                    print(f"ratio N={n} {phase}: {TOOLS[tool][0]} is {ratio:.1f}x ldap_attrs (hosts/s)")
                    if n == 200 and tool == "batch":
                        verdicts.append(
                            (f"batch >= {GOAL_RATIO:.0f}x ldap_attrs at N=200 {phase}", ratio >= GOAL_RATIO)
                        )
    for tool in ("batch", "role"):
        warm = [r for r in rows if r["tool"] == tool and r["n"] == 1000 and r["phase"] == "warm"]
        if warm:
            ok = warm[0]["seconds"] < GOAL_WARM_SECONDS and not warm[0]["written"]
            print(
                f"warm N=1000, {TOOLS[tool][0]}: {warm[0]['seconds']:.1f}s, "
                f"{'wrote to AD' if warm[0]['written'] else 'no write'}"
            )
            if tool == "batch":
                verdicts.append((f"batch warm N=1000 under {GOAL_WARM_SECONDS:.0f}s with zero writes", ok))
    for row in rows:
        if row["phase"] == "warm" and row["written"] and row["tool"] != "ldap_attrs":
            verdicts.append((f"{TOOLS[row['tool']][0]} N={row['n']} warm run wrote to AD", False))
    print()
    if not verdicts:
        print("goals: not checked (they need batch and ldap_attrs at N=200, and batch at N=1000)")
        return 0
    for text, ok in verdicts:
        print(f"goal {text}: {'met' if ok else 'NOT met'}")
    return 0 if all(ok for _text, ok in verdicts) else 1


if __name__ == "__main__":
    raise SystemExit(main())
