"""A throwaway Samba Active Directory domain controller on a private loopback.

One place for the test suite, ``scripts/demo.py`` and ``benchmarks/ad_delegation.py``.

The DC runs inside namespaces made for it (user, network, mount and PID: :class:`Namespaces`), so:

* it listens only on that namespace's own loopback; nothing it does can reach another
  machine (DNS is off as well, and no forwarder points anywhere);
* every command run in it sees the harness's own ``hosts`` and ``resolv.conf`` bind-mounted on
  ``/etc/hosts`` and ``/etc/resolv.conf`` in its mount namespace, which carries the DC's name for
  Kerberos without touching the machine's files;
* ending the PID namespace's first process ends every process in it (Samba's workers leave the
  process group of the first PID), which is how :meth:`SambaDC.stop` ends all of them; when the test
  process dies, the kernel ends the namespaces too.

It needs no root: the user namespace maps the caller to root inside, and Samba's domain ids
(3000000 and up) to the caller's subordinate ids (``/etc/subuid``, ``/etc/subgid``, through
``newuidmap``/``newgidmap`` from the ``uidmap`` package). Run as root, the map is the identity.
Extended attributes live in a tdb (``xattr_tdb``), since a user namespace may not write ``security.*``
attributes. Every client that talks to the DC (kinit, kvno, samba-tool, the module) is started
through :meth:`SambaDC.run` / :meth:`SambaDC.command`.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import pathlib
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from typing import Dict, List, Optional, Sequence, Tuple

REALM = "CORP.EXAMPLE.TEST"
DOMAIN = "CORP"
DNS_DOMAIN = REALM.lower()
BASE_DN = "DC=corp,DC=example,DC=test"
DC_HOST = "dc1"
DC_FQDN = f"{DC_HOST}.{DNS_DOMAIN}"
ADMIN_USER = "Administrator"
ADMIN_PASSWORD = "Passw0rd!Adm1n"  # throwaway domain, lives only inside the namespace

REQUIRED_PROGRAMS = ("samba", "samba-tool", "kinit", "kvno", "klist", "ip", "ldbmodify", "ldbsearch", "unshare")
REQUIRED_PROGRAMS += ("nsenter",)
# Samba AD DCs give domain accounts unix ids from here (idmap.ldb lowerBound)
SAMBA_XID_BASE = 3000000


class SambaDCError(RuntimeError):
    """The DC could not be provisioned, started or reached."""


def missing_programs() -> List[str]:
    return [p for p in REQUIRED_PROGRAMS if shutil.which(p) is None and not os.path.exists(f"/usr/sbin/{p}")]


def _which(name: str) -> str:
    found = shutil.which(name) or (f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None)
    if not found:
        raise SambaDCError(
            f"program {name!r} not found; install the Debian packages samba samba-ad-dc krb5-user iproute2"
        )
    return found


class Namespaces:
    """User, network, mount and PID namespaces held open by one sleeping process (the PID namespace's first).

    Commands enter all four with ``nsenter`` as root of the user namespace. The holder is started with
    ``--kill-child`` and a parent-death signal, so the namespaces end with the process that made them.
    """

    def __init__(self, etc_dir: pathlib.Path) -> None:
        self.etc_dir = etc_dir
        self.hosts = etc_dir / "hosts"
        self.resolv_conf = etc_dir / "resolv.conf"
        self._holder: Optional[subprocess.Popen] = None
        self.init_pid: Optional[int] = None

    def create(self, hosts: str) -> None:
        self.etc_dir.mkdir(parents=True, exist_ok=True)
        self.hosts.write_text(hosts)
        # No resolver inside: every name the tests use is in the hosts file.
        self.resolv_conf.write_text("# no name servers inside the test namespace\n")
        self._holder = subprocess.Popen(
            [_which("unshare"), "--user", "--net", "--mount", "--pid", "--fork", "--kill-child", "sleep", "infinity"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=_die_with_parent,
        )
        holder = self._holder.pid
        mine = os.readlink("/proc/self/ns/user")
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError):
                children = pathlib.Path(f"/proc/{holder}/task/{holder}/children").read_text().split()
                if os.readlink(f"/proc/{holder}/ns/user") != mine and children:
                    self.init_pid = int(children[0])
                    break
            if self._holder.poll() is not None or time.monotonic() > deadline:
                err = self._holder.stderr.read().decode(errors="replace") if self._holder.poll() is not None else ""
                self.destroy()
                raise SambaDCError(f"unshare could not make the namespaces for the DC: {err.strip() or 'timed out'}")
            time.sleep(0.02)
        self._map_ids(holder)
        self.run_inside(
            [
                "sh",
                "-c",
                'ip link set lo up && mount --bind "$1" /etc/hosts && mount --bind "$2" /etc/resolv.conf',
                "sh",
                str(self.hosts),
                str(self.resolv_conf),
            ]
        )

    @staticmethod
    def _subordinate(path: str) -> Tuple[int, int]:
        """(first id, count) of the caller's subordinate ids in /etc/subuid or /etc/subgid."""
        name = pwd.getpwuid(os.getuid()).pw_name
        with contextlib.suppress(OSError):
            for line in pathlib.Path(path).read_text().splitlines():
                parts = line.strip().split(":")
                if (
                    len(parts) == 3
                    and parts[0] in (name, str(os.getuid()))
                    and parts[1].isdigit()
                    and parts[2].isdigit()
                ):
                    return int(parts[1]), int(parts[2])
        raise SambaDCError(
            f"{path} gives {name} no subordinate ids, which the DC's domain accounts need inside its user"
            f" namespace: add a line such as '{name}:100000:65536' (as root), or run the tests as root"
        )

    def _map_ids(self, pid: int) -> None:
        if os.geteuid() == 0:
            for name in ("uid_map", "gid_map"):
                pathlib.Path(f"/proc/{pid}/{name}").write_text("0 0 4294967295\n")
            return
        for tool, path, own in (("newuidmap", "/etc/subuid", os.getuid()), ("newgidmap", "/etc/subgid", os.getgid())):
            first, count = self._subordinate(path)
            # root inside is the caller; Samba's domain ids map onto the subordinate range
            argv = [_which(tool), str(pid), "0", str(own), "1", str(SAMBA_XID_BASE), str(first), str(count)]
            done = subprocess.run(argv, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise SambaDCError(
                    f"{tool} could not map ids into the DC's user namespace: {done.stderr.strip()}"
                    " (Debian package uidmap)"
                )

    def command(self, argv: Sequence[str]) -> List[str]:
        if self.init_pid is None:
            raise SambaDCError("the DC's namespaces are not there (not started, or stopped)")
        return [_which("nsenter"), "--target", str(self.init_pid), "--user", "--net", "--mount", "--pid", *argv]

    def run_inside(self, argv: Sequence[str]) -> None:
        done = subprocess.run(self.command(argv), capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SambaDCError(f"{argv[0]} failed inside the DC's namespaces: {done.stderr.strip()}")

    def pids(self) -> List[int]:
        """Processes in the PID namespace, as this (outer) system numbers them."""
        if self.init_pid is None:
            return []
        try:
            target = os.readlink(f"/proc/{self.init_pid}/ns/pid")
        except OSError:
            return []
        found = []
        for entry in pathlib.Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    if os.readlink(entry / "ns" / "pid") == target:
                        found.append(int(entry.name))
        return found

    def destroy(self, remove: Optional[pathlib.Path] = None) -> None:
        """End every process in the namespaces. ``remove`` (a folder) is deleted from inside first: files the
        DC's domain accounts made belong to ids that only the namespace's root may delete."""
        if self.init_pid is not None:
            if remove is not None and remove.exists():
                with contextlib.suppress(SambaDCError, OSError):
                    self.run_inside(["rm", "-rf", str(remove)])
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.init_pid, signal.SIGKILL)  # the kernel ends the rest of the PID namespace
            self.init_pid = None
        if self._holder is not None:
            if self._holder.poll() is None:
                self._holder.kill()
            self._holder.wait(timeout=10)
            if self._holder.stderr:
                self._holder.stderr.close()
            self._holder = None


def _die_with_parent() -> None:
    """In the child before exec: be killed when the process that started it dies (Linux prctl)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG


class SambaDC:
    """Provision, start, use and stop one Samba AD DC in its own network namespace."""

    def __init__(self, workdir: Optional[str] = None, log=None):
        self._own_workdir = workdir is None
        self.workdir = pathlib.Path(workdir or tempfile.mkdtemp(prefix="vaware-samba-"))
        self.smb_conf = self.workdir / "dc" / "etc" / "smb.conf"
        self.krb5_conf = self.workdir / "krb5.conf"
        self.ca_cert = self.workdir / "dc" / "private" / "tls" / "ca.pem"
        self.log_file = self.workdir / "samba.log"
        self._samba: Optional[subprocess.Popen] = None
        self.namespaces = Namespaces(self.workdir / "etc")
        self.resolv_conf = self.namespaces.resolv_conf
        self._log = log or (lambda msg: None)
        self.server = DC_FQDN
        self.realm = REALM
        self.base_dn = BASE_DN

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 90.0) -> SambaDC:
        missing = missing_programs()
        if missing:
            raise SambaDCError(
                "cannot start a Samba AD DC, missing programs: "
                + ", ".join(missing)
                + " (Debian packages: samba samba-ad-dc krb5-user smbclient ldb-tools iproute2)"
            )
        atexit.register(self.stop)
        try:
            self.namespaces.create(f"127.0.0.1 localhost\n127.0.0.1 {DC_FQDN} {DC_HOST}\n::1 localhost\n")
            self._write_krb5_conf()
            self._provision()
            self._start_samba(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _write_krb5_conf(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.krb5_conf.write_text(
            textwrap.dedent(
                f"""\
                [libdefaults]
                    default_realm = {REALM}
                    dns_lookup_realm = false
                    dns_lookup_kdc = false
                    rdns = false
                    forwardable = true
                [realms]
                    {REALM} = {{
                        kdc = 127.0.0.1
                        admin_server = 127.0.0.1
                    }}
                [domain_realm]
                    .{DNS_DOMAIN} = {REALM}
                    {DNS_DOMAIN} = {REALM}
                """
            )
        )

    def _provision(self) -> None:
        run_dir = self.workdir / "run"
        run_dir.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        self.run(
            [
                "samba-tool",
                "domain",
                "provision",
                f"--targetdir={self.workdir / 'dc'}",
                f"--realm={REALM}",
                f"--domain={DOMAIN}",
                "--server-role=dc",
                "--dns-backend=NONE",
                f"--host-name={DC_HOST}",
                "--host-ip=127.0.0.1",
                "--option=interfaces=lo",
                "--option=bind interfaces only=yes",
                "--option=server services=-dns",
                "--option=disable netbios=yes",
                "--option=dns forwarder=127.0.0.1",
                f"--option=pid directory={run_dir}",
                # directories Samba would otherwise take under /run and /var/lib (not ours to write)
                f"--option=ncalrpc dir={run_dir / 'ncalrpc'}",
                f"--option=ntp signd socket directory={run_dir / 'ntp_signd'}",
                f"--option=winbindd socket directory={run_dir / 'winbindd'}",
                # a user namespace may not write security.* extended attributes: keep them in a tdb
                "--option=vfs objects=dfs_samba4 acl_xattr xattr_tdb",
                f"--option=xattr_tdb:file={self.workdir / 'dc' / 'xattr.tdb'}",
            ],
            timeout=300,
        )
        self._log(f"provisioned {REALM} in {time.monotonic() - started:.1f}s")
        self._allow_rbcd_writes()
        # Test accounts use short passwords (computer password = lowercase name, as --prepare-oldjoin sets).
        self.samba_tool(
            "domain",
            "passwordsettings",
            "set",
            "--complexity=off",
            "--min-pwd-length=1",
            "--min-pwd-age=0",
            "--max-pwd-age=0",
            "--history-length=0",
        )
        # Provisioned without --adminpass (secrets never on command lines): set it through Samba's API, via stdin.
        self.set_password("Administrator", ADMIN_PASSWORD)

    def _allow_rbcd_writes(self) -> None:
        """Let LDAP clients write msDS-AllowedToActOnBehalfOfOtherIdentity, as Windows DCs do.

        Samba 4.17 keeps the schema's ``systemOnly: TRUE`` literally and answers every LDAP write of
        this attribute with "can only be modified as system"; Windows DCs (and newer Samba) let any
        principal with write access set it (that is how Set-ADComputer
        -PrincipalsAllowedToDelegateToAccount works). The test domain's schema is adjusted offline,
        before the DC starts, so resource-based delegation can be exercised over LDAP.
        """
        ldif = self.workdir / "rbcd-writable.ldif"
        ldif.write_text(
            f"dn: CN=ms-DS-Allowed-To-Act-On-Behalf-Of-Other-Identity,CN=Schema,CN=Configuration,{BASE_DN}\n"
            "changetype: modify\nreplace: systemOnly\nsystemOnly: FALSE\n"
        )
        sam = self.workdir / "dc" / "private" / "sam.ldb"
        self.run(["ldbmodify", "-H", str(sam), "--option=dsdb:schema update allowed=true", str(ldif)])

    def _start_samba(self, timeout: float) -> None:
        log = open(self.log_file, "wb")  # noqa: SIM115 - closed with the process
        self._samba = subprocess.Popen(
            self.command([_which("samba"), "-i", "-s", str(self.smb_conf), "--debug-stdout"]),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=self.env(),
        )
        log.close()
        probe = textwrap.dedent(
            """\
            import socket, sys, time
            deadline = time.monotonic() + float(sys.argv[1])
            while time.monotonic() < deadline:
                ok = 0
                for port in (88, 389, 636):
                    s = socket.socket()
                    s.settimeout(0.5)
                    try:
                        s.connect(("127.0.0.1", port)); ok += 1
                    except OSError:
                        pass
                    finally:
                        s.close()
                if ok == 3:
                    sys.exit(0)
                time.sleep(0.3)
            sys.exit(1)
            """
        )
        started = time.monotonic()
        result = self.run([sys.executable, "-c", probe, str(timeout)], check=False, timeout=timeout + 10)
        if result.returncode != 0 or self._samba.poll() is not None:
            tail = self.log_file.read_text(errors="replace")[-3000:]
            raise SambaDCError(f"samba did not start listening on 88/389/636 within {timeout}s:\n{tail}")
        # The KDC answers a little after the port opens; wait for a real ticket.
        deadline = time.monotonic() + timeout
        while True:
            r = self.kinit(
                f"{ADMIN_USER}@{REALM}", ADMIN_PASSWORD, ccache=f"FILE:{self.workdir / 'probe.cc'}", check=False
            )
            if r.returncode == 0:
                break
            if time.monotonic() > deadline:
                raise SambaDCError(f"the KDC does not issue tickets: {r.stderr.strip()}")
            time.sleep(0.5)
        self._log(f"samba listening after {time.monotonic() - started:.1f}s (in its own namespaces)")

    def stop(self) -> None:
        """End every process in the namespace, delete the namespace and the work directory."""
        atexit.unregister(self.stop)
        keep = not self._own_workdir or os.environ.get("VAWARE_KEEP_SAMBA") == "1"
        self.namespaces.destroy(remove=None if keep else self.workdir / "dc")
        if self._samba is not None:
            try:
                self._samba.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._samba.kill()
            self._samba = None
        if self._own_workdir and os.environ.get("VAWARE_KEEP_SAMBA") != "1":
            shutil.rmtree(self.workdir, ignore_errors=True)

    def pids(self) -> List[int]:
        return self.namespaces.pids()

    def __enter__(self) -> SambaDC:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------ running things inside
    def env(self, ccache: Optional[str] = None, extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KRB5", "VAWARE_LDAP_"))}
        env["KRB5_CONFIG"] = str(self.krb5_conf)
        env["KRB5CCNAME"] = ccache or f"FILE:{self.workdir / 'default.cc'}"
        env.setdefault("LC_ALL", "C.UTF-8")
        if extra:
            env.update(extra)
        return env

    def command(self, argv: Sequence[str]) -> List[str]:
        """argv wrapped so it runs inside the DC's namespaces, as root of its user namespace."""
        return self.namespaces.command(argv)

    def run(
        self,
        argv: Sequence[str],
        *,
        input: Optional[str] = None,
        ccache: Optional[str] = None,
        env: Optional[Dict[str, str]] = None,
        check: bool = True,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess:
        argv = list(argv)
        if argv and not os.path.isabs(argv[0]):
            argv[0] = _which(argv[0])
        r = subprocess.run(
            self.command(argv),
            input=input,
            capture_output=True,
            text=True,
            env=self.env(ccache, env),
            timeout=timeout,
            check=False,
        )
        if check and r.returncode != 0:
            raise SambaDCError(
                f"{' '.join(argv[:4])} ... failed ({r.returncode}): {r.stderr.strip() or r.stdout.strip()}"
            )
        return r

    def samba_tool(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run(["samba-tool", *args, f"--configfile={self.smb_conf}"], check=check)

    def kinit(self, principal: str, password: str, *, ccache: str, forwardable: bool = True, check: bool = True):
        argv = ["kinit"] + (["-f"] if forwardable else []) + [principal]
        # The password goes through stdin, never the command line.
        return self.run(argv, input=password + "\n", ccache=ccache, check=check)

    # ------------------------------------------------------------------ accounts
    def set_password(self, account: str, password: str) -> None:
        """Set an account's password offline through Samba's Python API; the password travels on stdin."""
        script = textwrap.dedent(
            """\
            import json, sys
            from samba.auth import system_session
            from samba.param import LoadParm
            from samba.samdb import SamDB
            from ldb import binary_encode
            spec = json.load(sys.stdin)
            lp = LoadParm()
            lp.load(spec["smb_conf"])
            db = SamDB(url=spec["url"], session_info=system_session(), lp=lp)
            db.setpassword("(sAMAccountName=%s)" % binary_encode(spec["account"]), spec["password"])
            """
        )
        spec = {
            "url": str(self.workdir / "dc" / "private" / "sam.ldb"),
            "smb_conf": str(self.smb_conf),
            "account": account,
            "password": password,
        }
        self.run(["/usr/bin/python3", "-c", script], input=json.dumps(spec))

    def create_accounts(
        self,
        computers: Sequence[Tuple[str, Sequence[str]]] = (),
        users: Sequence[Tuple[str, str]] = (),
        groups: Sequence[str] = (),
        ous: Sequence[str] = (),
    ) -> None:
        """Create many objects in one go through Samba's own Python API (seconds for hundreds).

        ``computers`` are ``(NAME, [spn, ...])``; each gets the password ``name.lower()`` like
        ``samba-tool computer create --prepare-oldjoin`` gives it. ``users`` are ``(name, password)``.
        """
        spec = {
            "url": str(self.workdir / "dc" / "private" / "sam.ldb"),
            "smb_conf": str(self.smb_conf),
            "computers": [[name, list(spns)] for name, spns in computers],
            "users": [list(u) for u in users],
            "groups": list(groups),
            "ous": list(ous),
        }
        script = textwrap.dedent(
            """\
            import json, sys
            from samba.auth import system_session
            from samba.param import LoadParm
            from samba.samdb import SamDB
            spec = json.load(sys.stdin)
            lp = LoadParm()
            lp.load(spec["smb_conf"])
            db = SamDB(url=spec["url"], session_info=system_session(), lp=lp)
            base = str(db.domain_dn())
            for ou in spec["ous"]:
                db.create_ou("OU=%s,%s" % (ou, base))
            for name, spns in spec["computers"]:
                db.newcomputer(name, prepare_oldjoin=True, service_principal_name_list=spns or None)
            for name, password in spec["users"]:
                db.newuser(name, password)
            for name in spec["groups"]:
                db.newgroup(name)
            """
        )
        # Samba's bindings belong to the system Python, not to any virtualenv.
        self.run(["/usr/bin/python3", "-c", script], input=json.dumps(spec), timeout=600)

    def delegation_show(self, account: str) -> Dict[str, object]:
        """Independent read-back with ``samba-tool delegation show`` (reads the DC's database directly)."""
        out = self.samba_tool("delegation", "show", account).stdout
        result: Dict[str, object] = {"raw": out, "allowed_to_delegate_to": [], "resource_based": []}
        for line in out.splitlines():
            key, _sep, value = line.strip().partition(":")
            value = value.strip()
            if key == "UF_TRUSTED_FOR_DELEGATION":
                result["unconstrained"] = value == "True"
            elif key == "UF_TRUSTED_TO_AUTHENTICATE_FOR_DELEGATION":
                result["protocol_transition"] = value == "True"
            elif key == "msDS-AllowedToDelegateTo":
                result["allowed_to_delegate_to"].append(value)
            elif key == "msDS-AllowedToActOnBehalfOfOtherIdentity":
                result["resource_based"].append(value)
        return result

    def kvno_as(self, host: str, user: str, spn: str) -> subprocess.CompletedProcess:
        """The S4U proof: the host account gets a service ticket for ``spn`` on behalf of ``user``."""
        ccache = f"FILE:{self.workdir / ('s4u-' + uuid.uuid4().hex[:8] + '.cc')}"
        self.kinit(f"{host.upper()}$@{REALM}", host.lower(), ccache=ccache)
        return self.run(["kvno", "-U", user, "-P", spn], ccache=ccache, check=False)

    def ldb_attr(self, dn_filter: str, attr: str) -> List[str]:
        """Read an attribute straight from the DC's database with ldbsearch (no LDAP involved)."""
        sam = self.workdir / "dc" / "private" / "sam.ldb"
        r = self.run(["ldbsearch", "-H", str(sam), dn_filter, attr], check=True)
        values = []
        for line in r.stdout.splitlines():
            if line.lower().startswith(attr.lower() + ":"):
                values.append(line.split(":", 1)[1].strip())
        return values


if __name__ == "__main__":  # manual use: python tests/support/samba_dc.py  (starts, prints, stops)
    with SambaDC(log=print) as dc:
        print(dc.samba_tool("domain", "info", "127.0.0.1", check=False).stdout)
        print("pids in namespace:", len(dc.pids()))
