"""The namespaces the test DC lives in: commands run inside as root of the user namespace, on a loopback
of their own, and nothing is left running after a stop or after the process that made them is killed."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time

SUPPORT = pathlib.Path(__file__).resolve().parents[2] / "support"
sys.path.insert(0, str(SUPPORT))

import samba_dc  # noqa: E402


def _gone(pid: int, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not pathlib.Path(f"/proc/{pid}").exists():
            return True
        time.sleep(0.1)
    return False


def test_commands_run_inside_as_root_on_a_private_loopback(tmp_path):
    ns = samba_dc.Namespaces(tmp_path / "etc")
    ns.create("127.0.0.1 localhost\n127.0.0.1 dc1.corp.example.test dc1\n")
    try:
        probe = "import os, socket; print(os.getuid(), socket.gethostbyname('dc1.corp.example.test'))"
        out = subprocess.run(ns.command([sys.executable, "-c", probe]), capture_output=True, text=True, check=True)
        assert out.stdout.split() == ["0", "127.0.0.1"]
        links = subprocess.run(ns.command(["ip", "-o", "link"]), capture_output=True, text=True, check=True).stdout
        # only the namespace's own loopback: no interface of the machine is visible inside
        assert [line.split(":")[1].strip() for line in links.splitlines()] == ["lo"]
        # the machine's /etc/hosts is untouched
        assert "dc1.corp.example.test" not in pathlib.Path("/etc/hosts").read_text()
    finally:
        ns.destroy()


def test_stop_ends_every_process_inside(tmp_path):
    ns = samba_dc.Namespaces(tmp_path / "etc")
    ns.create("127.0.0.1 localhost\n")
    sleeper = subprocess.Popen(ns.command(["sh", "-c", "sleep 300 & sleep 300 & wait"]))
    deadline = time.monotonic() + 10
    while len(ns.pids()) < 4 and time.monotonic() < deadline:  # init, sh and two sleeps
        time.sleep(0.1)
    inside = ns.pids()
    assert len(inside) >= 4
    ns.destroy()
    assert all(_gone(pid) for pid in inside)
    sleeper.wait(timeout=10)


def test_killing_the_process_that_made_them_ends_them(tmp_path):
    # a test process killed with SIGKILL cannot clean up: the kernel must end the namespaces anyway
    child = textwrap.dedent(
        f"""\
        import json, pathlib, subprocess, sys, time
        sys.path.insert(0, {str(SUPPORT)!r})
        import samba_dc
        ns = samba_dc.Namespaces(pathlib.Path({str(tmp_path / "etc")!r}))
        ns.create("127.0.0.1 localhost\\n")
        subprocess.Popen(ns.command(["sleep", "300"]))
        time.sleep(1)
        print(json.dumps(ns.pids()), flush=True)
        time.sleep(300)
        """
    )
    maker = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True)
    inside = json.loads(maker.stdout.readline())
    assert len(inside) >= 2
    os.kill(maker.pid, signal.SIGKILL)
    maker.wait(timeout=10)
    assert all(_gone(pid) for pid in inside), inside
