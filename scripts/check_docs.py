"""Build gate: the collection builds, installs from its tarball, and every plugin's docs render.

Runs ``ansible-galaxy collection build`` into a temporary folder, installs the tarball into a
temporary collections path (without dependencies: Galaxy is not reachable here, and the
``ansible`` package in the virtualenv already bundles ansible.windows), then runs ``ansible-doc``
for every module and plugin found in the source tree, against the *installed* copy. A plugin whose
documentation does not render, or that ``ansible-doc`` does not list, fails the gate.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import tempfile

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = pathlib.Path(sys.executable).parent
# plugin folder -> ansible-doc type
TYPES = {
    "modules": "module",
    "filter": "filter",
    "test": "test",
    "lookup": "lookup",
    "inventory": "inventory",
    "callback": "callback",
    "connection": "connection",
}


def run(cmd: list[str], cwd: pathlib.Path, **kw) -> subprocess.CompletedProcess:
    # Run outside the checkout: ansible finds collections in a project-adjacent .ansible/ folder
    # (ansible-lint makes one), which would shadow the installed copy under test.
    return subprocess.run(cmd, check=False, capture_output=True, text=True, cwd=cwd, **kw)


def expected_plugins() -> dict[str, set[str]]:
    """Plugin names by ansible-doc type, from the source tree (what users must be able to read)."""
    found: dict[str, set[str]] = {}
    for folder, kind in TYPES.items():
        base = ROOT / "plugins" / folder
        if not base.is_dir():
            continue
        names = set()
        for path in base.glob("*.py"):
            if path.name.startswith("_") or path.name == "__init__.py":
                continue
            if kind in ("filter", "test"):
                # One file may define several Jinja2 plugins; each needs its own docs (a .yml beside it
                # or DOCUMENTATION in a file of the same name).
                continue
            names.add(path.stem)
        if kind in ("filter", "test"):
            names.update(p.stem for p in base.glob("*.yml"))
            names.update(p.stem for p in base.glob("*.py") if "DOCUMENTATION" in p.read_text())
        if names:
            found[kind] = names
    return found


def main() -> int:
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    fqcn = f"{galaxy['namespace']}.{galaxy['name']}"
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="vaware-build-") as tmp:
        out = pathlib.Path(tmp)
        res = run([str(BIN / "ansible-galaxy"), "collection", "build", str(ROOT), "--output-path", str(out)], out)
        if res.returncode:
            print(res.stdout + res.stderr)
            print("check_docs: ansible-galaxy collection build failed")
            return 1
        tarball = next(out.glob("*.tar.gz"))
        print(f"check_docs: built {tarball.name} ({tarball.stat().st_size // 1024} KiB)")
        cpath = out / "collections"
        res = run(
            [
                str(BIN / "ansible-galaxy"),
                "collection",
                "install",
                "--no-deps",
                "--force",
                "-p",
                str(cpath),
                str(tarball),
            ],
            out,
            env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(cpath)),
        )
        if res.returncode:
            print(res.stdout + res.stderr)
            print("check_docs: installing the built tarball failed")
            return 1
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(cpath), ANSIBLE_NOCOLOR="1")
        checked = 0
        for kind, names in sorted(expected_plugins().items()):
            listed = run([str(BIN / "ansible-doc"), "-t", kind, "-l", fqcn, "--json"], out, env=env)
            have = {n.split(".")[-1] for n in json.loads(listed.stdout or "{}")} if listed.returncode == 0 else set()
            for name in sorted(names):
                full = f"{fqcn}.{name}"
                if name not in have:
                    failures.append(f"{kind} {full}: not listed by ansible-doc -l ({listed.stderr.strip()[:300]})")
                    continue
                res = run([str(BIN / "ansible-doc"), "-t", kind, full], out, env=env)
                if res.returncode or "ERROR" in res.stderr or not res.stdout.strip():
                    failures.append(f"{kind} {full}: ansible-doc failed: {(res.stderr or res.stdout).strip()[:500]}")
                else:
                    checked += 1
    for failure in failures:
        print("check_docs: " + failure)
    print(f"check_docs: docs of {checked} plugin(s) rendered from the installed tarball, {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
