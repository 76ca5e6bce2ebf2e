"""One Samba AD DC for the whole AD test session, and a way to run the module against it.

The DC lives in its own network namespace (see tests/support/samba_dc.py); the module runs
inside that namespace through tests/support/run_module.py, so nothing leaves it.
If the DC cannot be started the tests fail: a missing DC is a broken test setup, not a skip.
"""

from __future__ import annotations

import json
import pathlib
import sys
import uuid
from typing import Any, Dict, List, Optional

import pytest

SUPPORT = pathlib.Path(__file__).resolve().parents[2] / "support"
sys.path.insert(0, str(SUPPORT))

import samba_dc  # noqa: E402

PYTHON = sys.executable
RUNNER = str(SUPPORT / "run_module.py")
MODULE = "ad_constrained_delegation"

ALICE_PASSWORD = "Al1ce!pass"
BOB_PASSWORD = "B0b!plain-user"

# Every account the tests use, each test on its own so tests do not depend on each other's order.
COMPUTERS = [
    ("FS01", ["cifs/fs01.corp.example.test", "cifs/fs01", "HOST/fs01.corp.example.test", "HOST/fs01"]),
    ("FS02", ["HOST/fs02.corp.example.test", "HOST/fs02"]),
    ("FS03", ["HOST/fs03.corp.example.test", "HOST/fs03"]),
    ("SQL01", ["MSSQLSvc/sql01.corp.example.test:1433", "HOST/sql01"]),
    ("DUP", []),
    ("UNCON", []),
    ("FSB1", ["HOST/fsb1.corp.example.test", "HOST/fsb1"]),
    ("FSAUD", ["HOST/fsaud.corp.example.test", "HOST/fsaud"]),
    *[
        (name, [])
        for name in (
            "HVE2E",
            "HVIDEM",
            "HVCHECK",
            "HVDIFF",
            "HVEXCL",
            "HVFORMS",
            "HVFORMS2",
            "HVRAW",
            "HVRBCD",
            "HVBAD",
            "HVCONC",
            "HVLOG",
            "HVENV",
            "HVTLS",
            "HVTLS2",
            "HVCC",
            "HVPT",
            "HVROLE1",
            "HVROLE2",
            "HVROLE3",
            "HVROLE4",
            "HVNOVAL",
            "HVPRIV",
            "HVPAGE",
            "PG1",
            "PG2",
            "PG3",
            "PG4",
            "HVNODNS",
            "NODNS",
            "BCONC",
            "AUDUNC",
            "AUDINFO",
            "AUDRBCD",
            "HVBATCH1",
            "HVBATCH2",
            "HVBATCH3",
        )
    ],
    # batches: cold/warm, one bad entry among many, check mode
    *[(f"BAT{i:02d}", []) for i in range(40)],
    *[(f"BMS{i:02d}", []) for i in range(8)],
    *[(f"BCK{i:02d}", []) for i in range(8)],
    # batch rights and warnings
    *[(f"BRC{i:02d}", []) for i in range(20)],
    ("BRT1", []),
    ("BRT2", []),
    *[(f"BWN{i}", []) for i in range(6)],
]
USERS = [("alice", ALICE_PASSWORD), ("bob", BOB_PASSWORD), ("DUP", "Dup!pass1")]


class Run:
    def __init__(self, result: Dict[str, Any], writes: List[Dict[str, Any]], stdout: str, stderr: str, rc: int):
        self.result = result
        self.writes = writes
        self.stdout = stdout
        self.stderr = stderr
        self.rc = rc

    @property
    def failed(self) -> bool:
        return bool(self.result.get("failed"))

    @property
    def msg(self) -> str:
        return str(self.result.get("msg", ""))

    @property
    def warnings(self) -> List[str]:
        out = []
        for w in self.result.get("warnings", []):
            out.append(w["event"]["msg"] if isinstance(w, dict) and "event" in w else str(w))
        return out


class AD:
    """The running DC plus helpers to call the module and read the directory back independently."""

    def __init__(self, dc: samba_dc.SambaDC):
        self.dc = dc
        self.connection = {
            "server": samba_dc.DC_FQDN,
            "username": samba_dc.ADMIN_USER,
            "password": samba_dc.ADMIN_PASSWORD,
        }

    def run(
        self,
        args: Dict[str, Any],
        *,
        module: str = MODULE,
        check_mode: bool = False,
        diff: bool = False,
        connection: Optional[Dict[str, Any]] = None,
        env: Optional[Dict[str, str]] = None,
    ) -> Run:
        module_args = dict(self.connection if connection is None else connection)
        module_args.update(args)
        module_args["_ansible_check_mode"] = check_mode
        module_args["_ansible_diff"] = diff
        log = self.dc.workdir / f"writes-{uuid.uuid4().hex}.jsonl"
        extra = {"VAWARE_LDAP_WRITE_LOG": str(log)}
        extra.update(env or {})
        ccache = f"FILE:{self.dc.workdir / ('mod-' + uuid.uuid4().hex[:8] + '.cc')}"
        proc = self.dc.run(
            [PYTHON, RUNNER, module],
            input=json.dumps({"ANSIBLE_MODULE_ARGS": module_args}),
            ccache=ccache,
            env=extra,
            check=False,
        )
        try:
            result = json.loads(proc.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise AssertionError(
                f"module printed no JSON (rc {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
            ) from None
        writes = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        run = Run(result, writes, proc.stdout, proc.stderr, proc.returncode)
        # The secrets given never come back, whatever happened.
        for secret in (module_args.get("password"), (env or {}).get("VAWARE_LDAP_PASSWORD")):
            if secret:
                assert secret not in proc.stdout and secret not in proc.stderr, "a password leaked into the output"
        return run

    def show(self, account: str) -> Dict[str, Any]:
        return self.dc.delegation_show(account if account.endswith("$") else account + "$")

    def delegation_of(self, prefix: str) -> Dict[str, Dict[str, Any]]:
        """Straight from the DC's database, for every account whose sAMAccountName starts with ``prefix``:
        ``{SAM$: {"spns": sorted list, "uac": int, "usn": int}}`` (one ldbsearch for all of them)."""
        sam = self.dc.workdir / "dc" / "private" / "sam.ldb"
        out = self.dc.run(
            [
                "ldbsearch",
                "-H",
                str(sam),
                f"(sAMAccountName={prefix}*)",
                "sAMAccountName",
                "msDS-AllowedToDelegateTo",
                "userAccountControl",
                "uSNChanged",
            ]
        ).stdout
        accounts: Dict[str, Dict[str, Any]] = {}
        for block in out.split("\n\n"):
            fields: Dict[str, List[str]] = {}
            last: List[str] = []
            for line in block.splitlines():
                if line.startswith(" ") and last:  # LDIF folds long values onto continuation lines
                    last[-1] += line[1:]
                    continue
                key, sep, value = line.partition(": ")
                if sep:
                    last = fields.setdefault(key, [])
                    last.append(value)
            if "sAMAccountName" in fields:
                accounts[fields["sAMAccountName"][0]] = {
                    "spns": sorted(fields.get("msDS-AllowedToDelegateTo", []), key=str.lower),
                    "uac": int(fields["userAccountControl"][0]),
                    "usn": int(fields["uSNChanged"][0]),
                }
        return accounts

    def usn_changed(self, name: str) -> str:
        sam = self.dc.workdir / "dc" / "private" / "sam.ldb"
        out = self.dc.run(["ldbsearch", "-H", str(sam), f"(sAMAccountName={name})", "uSNChanged"]).stdout
        return next(line for line in out.splitlines() if line.startswith("uSNChanged:"))

    def s4u(self, host: str, spn: str = "cifs/fs01.corp.example.test"):
        return self.dc.kvno_as(host, "alice", spn)


@pytest.fixture(scope="session")
def ad():
    missing = samba_dc.missing_programs()
    if missing:
        pytest.fail(
            "the AD tests need a Samba AD DC; missing: " + ", ".join(missing) + " (install the Debian packages "
            "samba samba-ad-dc krb5-user smbclient ldb-tools iproute2)"
        )
    dc = samba_dc.SambaDC()
    try:
        dc.start()
        dc.create_accounts(computers=COMPUTERS, users=USERS, groups=["HVGROUP"], ous=["HVOU"])
        dc.samba_tool("delegation", "for-any-service", "UNCON$", "on")
    except Exception as err:
        dc.stop()
        pytest.fail(f"could not start the Samba AD DC for the AD tests: {err}")
    try:
        yield AD(dc)
    finally:
        dc.stop()
