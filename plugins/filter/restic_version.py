# Copyright: (c) vaware.hyperv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: restic_version
short_description: Read C(restic version) output and refuse a restic that is missing or too old
version_added: 0.1.0
author: vaware.hyperv maintainers (@vaware)
description:
  - Takes the registered result of running C(restic.exe version) (for example with M(ansible.windows.win_command)
    and O(ansible.windows.win_command#module:argv)), or its standard output as text, and returns the version found.
  - Fails with a message naming the path and what was found when restic did not run (missing file, not executable),
    printed something that is not its version line, or is older than O(minimum).
  - Reads both the text form (C(restic 0.16.4 compiled with go1.21.6 on windows/amd64)) and the JSON form of
    restic 0.17 and later.
options:
  _input:
    description: The registered command result (a dict with C(rc), C(stdout), C(stderr)) or the standard output.
    type: raw
    required: true
  path:
    description: The restic binary the output came from, named in error messages.
    type: str
    default: restic
  minimum:
    description: The oldest acceptable version, as C(major.minor.patch).
    type: str
    default: 0.14.0
"""

EXAMPLES = r"""
# restic_exe: C:\Program Files\restic\restic.exe
- name: Ask restic for its version
  ansible.windows.win_command:
    argv: ["{{ restic_exe }}", version]
  register: restic_version_run
  changed_when: false
  failed_when: false

- name: Refuse a missing or too old restic
  ansible.builtin.set_fact:
    restic_found: "{{ restic_version_run | vaware.hyperv.restic_version(path=restic_exe) }}"
"""

RETURN = r"""
_value:
  description:
    - C(version) (the release as C(major.minor.patch) text, with a suffix such as C(-dev) for a development build),
      C(os) and C(arch) (null when restic did not print them).
  type: dict
"""

import re  # noqa: E402
from collections.abc import Mapping  # noqa: E402

from ansible.errors import AnsibleFilterError  # noqa: E402

from ansible_collections.vaware.hyperv.plugins.plugin_utils._restic.version import (  # noqa: E402
    MIN_VERSION,
    ResticVersionError,
    check_version,
    version_text,
)

_MINIMUM_RE = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


def restic_version_filter(result, path="restic", minimum=None):
    """Jinja2 filter: ``restic_version_run | vaware.hyperv.restic_version(path=...)``."""
    floor = MIN_VERSION
    if minimum is not None:
        match = _MINIMUM_RE.match(str(minimum))
        if not match:
            raise AnsibleFilterError(
                f"restic_version: minimum must be major.minor.patch such as 0.14.0; got {minimum!r}"
            )
        floor = tuple(int(part) for part in match.groups())
    if isinstance(result, Mapping):
        if result.get("rc") not in (0, None) or (result.get("failed") and "stdout" not in result):
            said = " ".join(
                str(result.get(key) or "").strip() for key in ("stderr", "msg") if str(result.get(key) or "").strip()
            )
            raise AnsibleFilterError(
                f"restic did not run at {path} (exit code {result.get('rc')}): {said or 'no message'}; "
                f"install restic {version_text(floor)} or newer there (role variable hyperv_backup_restic_binary "
                "deploys one from the controller)"
            )
        output = result.get("stdout")
    else:
        output = result
    try:
        found = check_version(output, floor)
    except ResticVersionError as err:
        raise AnsibleFilterError(f"restic_version: {path}: {err}") from None
    return {"version": found["text"], "os": found["os"], "arch": found["arch"]}


class FilterModule:
    def filters(self):
        return {"restic_version": restic_version_filter}
