"""Demo: Kerberos constrained delegation for Hyper-V hosts on a throwaway Samba AD domain.

1. provisions a test domain CORP.EXAMPLE.TEST on a private loopback (its own namespaces, no root
   needed; nothing is sent anywhere else) with three Hyper-V hosts, a file server and a user;
2. shows the hosts' delegation settings and that a host cannot yet act for the user on the file share;
3. runs playbooks/delegation.yml (ISO library on FS01 and live migration between the hosts), twice;
4. shows the settings again and the Kerberos proof (S4U2Self + S4U2Proxy, as Hyper-V does it);
5. stops the domain controller and removes everything it created.

Run ``make demo`` (which installs what is missing, as root only then) or ``.venv/bin/python scripts/demo.py``.
"""

from __future__ import annotations

import pathlib
import sys
import textwrap
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))

import run_module  # noqa: E402
import samba_dc  # noqa: E402

HOSTS = ["HYPERV01", "HYPERV02", "HYPERV03"]
FILE_SERVER = "FS01"
USER, USER_PASSWORD = "alice", "Al1ce!pass"
BOLD, GREEN, RED, DIM, RESET = (
    ("\033[1m", "\033[32m", "\033[31m", "\033[2m", "\033[0m") if sys.stdout.isatty() else ("",) * 5
)


def step(text: str) -> None:
    print(f"\n{BOLD}== {text}{RESET}", flush=True)


def show_delegation(dc: samba_dc.SambaDC) -> None:
    for host in HOSTS:
        shown = dc.delegation_show(host + "$")
        services = shown["allowed_to_delegate_to"] or ["(nothing)"]
        any_protocol = "yes" if shown.get("protocol_transition") else "no"
        print(f"  {host}$  use any authentication protocol: {any_protocol}")
        for spn in services:
            print(f"      may delegate to: {spn}")


def kerberos_proof(dc: samba_dc.SambaDC, host: str, spn: str) -> bool:
    result = dc.kvno_as(host, USER, spn)
    ok = result.returncode == 0
    mark = f"{GREEN}OK{RESET}  " if ok else f"{RED}NO{RESET}  "
    detail = result.stdout.strip() if ok else (result.stderr.strip().splitlines() or ["failed"])[-1]
    print(f"  {mark}{host}$ gets a ticket for {spn} on behalf of {USER}: {DIM}{detail}{RESET}")
    return ok


def run_playbook(dc: samba_dc.SambaDC, inventory: pathlib.Path, label: str) -> str:
    env = {
        "ANSIBLE_COLLECTIONS_PATH": str(run_module.ensure_collection_link()),
        "ANSIBLE_HOME": str(dc.workdir / "ansible-home"),
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_FORCE_COLOR": "1" if sys.stdout.isatty() else "0",
        "ANSIBLE_CALLBACK_RESULT_FORMAT": "yaml",
        # The LDAP password reaches the module through the environment, as an AWX credential would pass it.
        "VAWARE_LDAP_PASSWORD": samba_dc.ADMIN_PASSWORD,
    }
    playbook = str(pathlib.Path(sys.executable).parent / "ansible-playbook")
    started = time.monotonic()
    proc = dc.run(
        [playbook, "-i", str(inventory), str(ROOT / "playbooks" / "delegation.yml")], env=env, check=False, timeout=600
    )
    print(textwrap.indent(proc.stdout.rstrip(), "  "))
    if proc.returncode != 0:
        print(textwrap.indent(proc.stderr.rstrip(), "  "))
        raise SystemExit(f"{label} failed (exit {proc.returncode})")
    print(f"  {DIM}{label} took {time.monotonic() - started:.1f}s{RESET}")
    return proc.stdout


def main() -> int:
    missing = samba_dc.missing_programs()
    if missing:
        print(
            "Missing programs: " + ", ".join(missing) + "\nInstall: apt-get install samba samba-ad-dc krb5-user "
            "smbclient ldb-tools iproute2 uidmap",
            file=sys.stderr,
        )
        return 2

    dc = samba_dc.SambaDC(log=lambda msg: print(f"  {msg}"))
    try:
        step(f"Provisioning the throwaway domain {samba_dc.REALM} (DC {samba_dc.DC_FQDN}, loopback only)")
        dc.start()
        computers = [(h, [f"HOST/{h.lower()}", f"HOST/{h.lower()}.{samba_dc.DNS_DOMAIN}"]) for h in HOSTS]
        computers.append(
            (FILE_SERVER, [f"cifs/{FILE_SERVER.lower()}", f"cifs/{FILE_SERVER.lower()}.{samba_dc.DNS_DOMAIN}"])
        )
        dc.create_accounts(computers=computers, users=[(USER, USER_PASSWORD)])
        print(f"  created computer accounts {', '.join(h + '$' for h in HOSTS)} and {FILE_SERVER}$, user {USER}")

        fs_spn = f"cifs/{FILE_SERVER.lower()}.{samba_dc.DNS_DOMAIN}"
        peer_spn = f"cifs/{HOSTS[1].lower()}.{samba_dc.DNS_DOMAIN}"
        step("Delegation before")
        show_delegation(dc)
        step("Kerberos before: can HYPERV01 reach the ISO share as alice?")
        kerberos_proof(dc, HOSTS[0], fs_spn)

        inventory = dc.workdir / "inventory.yml"
        inventory.write_text(
            textwrap.dedent(
                f"""\
                hyperv_hosts:
                  hosts:
                    {HOSTS[0].lower()}:
                    {HOSTS[1].lower()}:
                    {HOSTS[2].lower()}:
                  vars:
                    # the demo's "Hyper-V hosts" are only names in AD; the LDAP work runs on this machine
                    ansible_connection: local
                    ansible_python_interpreter: {sys.executable}
                    hyperv_iso_library_servers: [{FILE_SERVER.lower()}]
                    hyperv_live_migration_delegation: true
                    hyperv_delegation_ldap_server: {samba_dc.DC_FQDN}
                    hyperv_delegation_ldap_username: {samba_dc.ADMIN_USER}
                localhost:
                  hosts:
                    localhost:
                      ansible_connection: local
                      ansible_python_interpreter: {sys.executable}
                """
            )
        )
        step("Running playbooks/delegation.yml (ISO library on FS01 + live migration between the hosts)")
        print(f"  {DIM}inventory: {inventory}{RESET}")
        run_playbook(dc, inventory, "first run")

        step("Running it again: nothing left to change, no write sent to AD")
        second = run_playbook(dc, inventory, "second run")
        if "changed=0" not in second or "changed=1" in second:
            print(f"  {RED}the second run changed something{RESET}")

        step("Delegation after")
        show_delegation(dc)
        step("Kerberos after (S4U2Self + S4U2Proxy: what Hyper-V does to reach a share for a remote user)")
        ok = kerberos_proof(dc, HOSTS[0], fs_spn)
        ok &= kerberos_proof(dc, HOSTS[2], fs_spn)
        ok &= kerberos_proof(dc, HOSTS[0], peer_spn)
        step("Result")
        print(
            f"  {GREEN}delegation works: the hosts can mount ISO images from FS01 and live-migrate{RESET}"
            if ok
            else f"  {RED}the Kerberos proof failed{RESET}"
        )
        return 0 if ok else 1
    finally:
        step("Stopping the domain controller and removing the test domain")
        dc.stop()
        print("  stopped: every process of its network namespace ended, namespace and work directory removed")


if __name__ == "__main__":
    raise SystemExit(main())
