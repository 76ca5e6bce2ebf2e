"""Run one of the collection's modules the way Ansible does, reading the task JSON from stdin.

Usage (inside the DC's namespace): ``python run_module.py ad_constrained_delegation < args.json``
where args.json is ``{"ANSIBLE_MODULE_ARGS": {...}}``. Prints the module's JSON result.

The arguments come through stdin, so passwords never show up in a command line. When the
environment variable ``VAWARE_LDAP_WRITE_LOG`` names a file, every LDAP write operation
python-ldap sends (modify/add/delete/rename) is appended to it as one JSON line: tests use it
as evidence of what went over the wire (python-ldap is the library boundary, not the module).
``VAWARE_LDAP_SEARCH_LOG`` does the same for search requests (base, scope, filter, attributes and the
paged-results control sent), ``VAWARE_TEST_LDAP_PAGE_SIZE`` sets the page size of paged searches and
``VAWARE_TEST_LDAP_OR_CHUNK`` how many names a batch lookup ORs into one filter.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import runpy
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
COLLECTIONS = ROOT / ".tmp" / "collections"


def ensure_collection_link() -> pathlib.Path:
    """``.tmp/collections`` with ``ansible_collections/vaware/hyperv`` pointing at this checkout."""
    link = COLLECTIONS / "ansible_collections" / "vaware" / "hyperv"
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.is_symlink():
        with contextlib.suppress(FileExistsError):
            os.symlink(ROOT, link, target_is_directory=True)
    return COLLECTIONS


def _install_finder() -> None:
    ensure_collection_link()
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    _AnsibleCollectionFinder(paths=[str(COLLECTIONS)], scan_sys_paths=True)._install()


def _record_writes(path: str, barrier: str = "") -> None:
    """Log every LDAP write python-ldap sends; optionally hold the first one at a barrier.

    ``barrier`` is ``<directory>:<count>``: the first write of this process waits until ``count``
    processes have reached their first write, so all of them write on what they read before anyone
    wrote (a deterministic race for the concurrency test).
    """
    import ldap.ldapobject

    cls = ldap.ldapobject.SimpleLDAPObject
    held = {"done": not barrier}

    def wait_at_barrier():
        if held["done"]:
            return
        held["done"] = True
        folder, _sep, count = barrier.rpartition(":")
        pathlib.Path(folder, str(os.getpid())).touch()
        deadline = time.monotonic() + 60
        while len(list(pathlib.Path(folder).iterdir())) < int(count) and time.monotonic() < deadline:
            time.sleep(0.02)

    def wrap(name):
        original = getattr(cls, name)

        def recorder(self, *args, **kwargs):
            wait_at_barrier()
            with open(path, "a") as handle:
                handle.write(json.dumps({"op": name, "dn": str(args[0]) if args else None, "pid": os.getpid()}) + "\n")
            return original(self, *args, **kwargs)

        setattr(cls, name, recorder)

    for name in ("modify_ext", "add_ext", "delete_ext", "rename"):
        wrap(name)


def _record_searches(path: str) -> None:
    """Log every search request python-ldap sends: base, filter and the paged-results control sent with it."""
    import ldap.ldapobject
    from ldap.controls import SimplePagedResultsControl

    cls = ldap.ldapobject.SimpleLDAPObject
    original = cls.search_ext

    def recorder(
        self, base, scope, filterstr="(objectClass=*)", attrlist=None, attrsonly=0, serverctrls=None, *a, **kw
    ):
        paged = [c for c in serverctrls or [] if c.controlType == SimplePagedResultsControl.controlType]
        entry = {"base": base, "scope": scope, "filter": filterstr, "attrs": list(attrlist or []), "paged": bool(paged)}
        if paged:
            entry.update(page_size=paged[0].size, cookie=bool(paged[0].cookie))
        with open(path, "a") as handle:
            handle.write(json.dumps(entry) + "\n")
        return original(self, base, scope, filterstr, attrlist, attrsonly, serverctrls, *a, **kw)

    cls.search_ext = recorder


def main() -> None:
    name = sys.argv[1]
    args = sys.stdin.buffer.read()
    _install_finder()
    if os.environ.get("VAWARE_LDAP_WRITE_LOG"):
        _record_writes(os.environ["VAWARE_LDAP_WRITE_LOG"], os.environ.get("VAWARE_LDAP_WRITE_BARRIER", ""))
    if os.environ.get("VAWARE_LDAP_SEARCH_LOG"):
        _record_searches(os.environ["VAWARE_LDAP_SEARCH_LOG"])
    if os.environ.get("VAWARE_TEST_LDAP_OR_CHUNK"):
        # a small chunk makes a batch of a few dozen accounts need several OR-filter searches
        from ansible_collections.vaware.hyperv.plugins.module_utils._ldap import accounts

        accounts.OR_FILTER_CHUNK = int(os.environ["VAWARE_TEST_LDAP_OR_CHUNK"])
    if os.environ.get("VAWARE_TEST_LDAP_PAGE_SIZE"):
        # a small page size makes a test domain of a few dozen accounts need several pages
        from ansible_collections.vaware.hyperv.plugins.module_utils._ldap import client

        client.AdConnection.page_size = int(os.environ["VAWARE_TEST_LDAP_PAGE_SIZE"])
    from ansible.module_utils import basic

    basic._ANSIBLE_ARGS = args
    basic._ANSIBLE_PROFILE = "legacy"
    sys.argv = [name]
    runpy.run_module(f"ansible_collections.vaware.hyperv.plugins.modules.{name}", run_name="__main__")


if __name__ == "__main__":
    main()
