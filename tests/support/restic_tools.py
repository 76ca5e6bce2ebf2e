# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The real restic on this machine, for tests and benchmarks: run it, make VM-shaped folders, serve SFTP.

* :class:`Restic` runs ``restic`` with the argument lists ``plugins/plugin_utils/_restic/command.py``
  builds and the environment ``options.restic_environment`` builds (the password only in a file).
* :func:`make_vm_folder` writes a folder shaped like a Hyper-V VM (``Virtual Machines\\<id>.vmcx``,
  ``.vmrs``, ``Virtual Hard Disks\\<name>.vhdx``) with random disk content; :func:`change_blocks`
  rewrites a share of a file's blocks, as a night of guest writes does.
* :class:`SftpServer` starts OpenSSH's sshd on 127.0.0.1 on a free port with a throwaway host key and
  user key. As root it runs in its own mount namespace with a private tmpfs on /run (sshd wants
  /run/sshd; the system's /run is not touched). It is stopped by its own process id.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import random
import shutil
import socket
import subprocess
import time
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence

RESTIC = shutil.which("restic")
#: The password of every throwaway repository the tests and benchmarks make.
TEST_PASSWORD = "correct horse battery staple"
SSHD = shutil.which("sshd") or ("/usr/sbin/sshd" if os.path.exists("/usr/sbin/sshd") else None)


class Restic:
    """Run the real restic against one repository with the password in a file."""

    def __init__(self, repository: Mapping[str, Any], password_file: pathlib.Path, cache_dir: pathlib.Path):
        from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic.options import restic_environment

        self.repository = dict(repository)
        self.password_file = pathlib.Path(password_file)
        self.password_file.write_text(self.repository["password"] + "\n", encoding="utf-8")
        self.password_file.chmod(0o600)
        self.env = dict(os.environ)
        for name in [n for n in self.env if n.startswith("RESTIC_")]:
            del self.env[name]
        self.env.update(restic_environment(self.repository, str(self.password_file), str(cache_dir)))
        self.env["TZ"] = "UTC"  # forget's days and weeks are those of restic's local time zone
        self.calls: List[List[str]] = []

    def run(
        self, args: Sequence[str], cwd: Optional[os.PathLike] = None, timeout: int = 300
    ) -> subprocess.CompletedProcess:
        if RESTIC is None:
            raise RuntimeError("restic is not installed (bindep.txt lists it for tests; run scripts/setup.sh)")
        argv = [RESTIC, *args]
        self.calls.append(argv)
        return subprocess.run(argv, cwd=cwd, env=self.env, capture_output=True, text=True, timeout=timeout, check=False)


def make_vm_folder(root: pathlib.Path, name: str, vm_id: str, disk_bytes: int, seed: int = 1) -> Dict[str, Any]:
    """A VM folder as Hyper-V lays it out; returns the relative paths and sizes of its files."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not a secret
    vm = root / name
    (vm / "Virtual Machines").mkdir(parents=True, exist_ok=True)
    (vm / "Virtual Hard Disks").mkdir(parents=True, exist_ok=True)
    files = {
        f"Virtual Machines/{vm_id.upper()}.vmcx": rng.randbytes(32 * 1024),
        f"Virtual Machines/{vm_id.upper()}.vmgs": rng.randbytes(16 * 1024),
        f"Virtual Machines/{vm_id.upper()}.VMRS": rng.randbytes(8 * 1024),
    }
    for rel, data in files.items():
        (vm / rel).write_bytes(data)
    disk = vm / "Virtual Hard Disks" / f"{name}.vhdx"
    with open(disk, "wb") as handle:
        left = disk_bytes
        while left > 0:
            chunk = min(left, 4 * 1024 * 1024)
            handle.write(rng.randbytes(chunk))
            left -= chunk
    listing = {rel: len(data) for rel, data in files.items()}
    listing[f"Virtual Hard Disks/{name}.vhdx"] = disk_bytes
    return {"path": vm, "files": listing}


def change_blocks(path: pathlib.Path, fraction: float, block: int, seed: int) -> int:
    """Overwrite ``fraction`` of the ``block``-sized blocks of a file with new random data; returns bytes written."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not a secret
    size = path.stat().st_size
    blocks = max(1, size // block)
    count = max(1, round(blocks * fraction))
    written = 0
    with open(path, "r+b") as handle:
        for index in rng.sample(range(blocks), count):
            handle.seek(index * block)
            handle.write(rng.randbytes(block))
            written += block
    return written


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SftpServer:
    """sshd on 127.0.0.1:<free port> serving SFTP to one throwaway key for the current user."""

    def __init__(self, workdir: pathlib.Path):
        self.dir = pathlib.Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = 0
        self.user = os.environ.get("USER") or __import__("getpass").getuser()
        self.proc: Optional[subprocess.Popen] = None

    def _keygen(self, name: str) -> None:
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"vaware-test-{name}", "-f", str(self.dir / name)],
            check=True,
        )

    def start(self) -> SftpServer:
        if SSHD is None:
            raise RuntimeError("sshd is not installed (bindep.txt lists openssh-server for tests)")
        self._keygen("host_key")
        self._keygen("user_key")
        shutil.copy(self.dir / "user_key.pub", self.dir / "authorized_keys")
        last_log = ""
        for _attempt in range(5):
            self.port = free_port()
            config = self.dir / "sshd_config"
            config.write_text(
                "\n".join(
                    [
                        "ListenAddress 127.0.0.1",
                        f"Port {self.port}",
                        f"HostKey {self.dir / 'host_key'}",
                        f"PidFile {self.dir / 'sshd.pid'}",
                        f"AuthorizedKeysFile {self.dir / 'authorized_keys'}",
                        f"AllowUsers {self.user}",
                        "PasswordAuthentication no",
                        "KbdInteractiveAuthentication no",
                        "UsePAM no",
                        "StrictModes no",
                        "PermitRootLogin prohibit-password",
                        "Subsystem sftp internal-sftp",
                        "",
                    ]
                ),
                encoding="utf-8",
            )
            sshd = [SSHD, "-D", "-e", "-f", str(config)]
            if os.geteuid() == 0:
                # sshd as root insists on /run/sshd: give it a private /run in its own mount namespace.
                argv = [
                    "unshare",
                    "--mount",
                    "--propagation",
                    "private",
                    "sh",
                    "-c",
                    'mount -t tmpfs tmpfs /run && mkdir -m 755 /run/sshd && exec "$@"',
                    "sshd",
                    *sshd,
                ]
            else:
                argv = sshd
            log = open(self.dir / "sshd.log", "wb")  # noqa: SIM115 - closed in stop()
            self._log = log
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.proc.poll() is None:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
                time.sleep(0.1)
            if self.proc.poll() is None:
                (self.dir / "known_hosts").write_text(
                    f"[127.0.0.1]:{self.port} " + (self.dir / "host_key.pub").read_text(encoding="utf-8"),
                    encoding="utf-8",
                )
                return self
            log.close()
            last_log = (self.dir / "sshd.log").read_text(errors="replace")
        raise RuntimeError(f"sshd did not start on 127.0.0.1: {last_log}")

    def sftp_command(self) -> str:
        """The ssh command restic's ``sftp.command`` option runs (strict host key check, only our key)."""
        return " ".join(
            [
                "ssh",
                "-i",
                str(self.dir / "user_key"),
                "-p",
                str(self.port),
                "-o",
                f"UserKnownHostsFile={self.dir / 'known_hosts'}",
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                "BatchMode=yes",
                "-o",
                "IdentitiesOnly=yes",
                "-F",
                "/dev/null",
                f"{self.user}@127.0.0.1",
                "-s",
                "sftp",
            ]
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if getattr(self, "_log", None):
            self._log.close()


@contextlib.contextmanager
def sftp_server(workdir: pathlib.Path) -> Iterator[SftpServer]:
    server = SftpServer(workdir).start()
    try:
        yield server
    finally:
        server.stop()
