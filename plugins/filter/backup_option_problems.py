# Copyright: (c) vaware.hyperv contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: backup_option_problems
short_description: What is wrong with win_vss_backup's whole-number options, checked before a host is contacted
version_added: 0.1.0
author: vaware.hyperv maintainers (@vaware)
description:
  - Checks C(copy_threads), C(unbuffered_min_size), C(timeout), C(poll_interval) and the counts of C(retention)
    against the same limits M(vaware.hyperv.win_vss_backup) applies, and returns one message per bad value.
  - Used by the role C(vaware.hyperv.hyperv_backup) to fail a host before it is contacted, with the role's variable
    names in the messages; the limits live in one place, the module's.
  - Strings of digits count as whole numbers (a variable given with C(-e key=value) is a string).
options:
  _input:
    description: The options by the module's names; a missing or null option is not checked.
    type: dict
    required: true
  prefix:
    description: Put before each option's name in the messages, for example C(hyperv_backup_).
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Fail early on a bad retention count or thread count
  ansible.builtin.assert:
    that: problems | length == 0
    fail_msg: "{{ problems | join('; ') }}"
  vars:
    problems: >-
      {{ {'retention': hyperv_backup_retention, 'copy_threads': hyperv_backup_copy_threads | default(none)}
         | vaware.hyperv.backup_option_problems('hyperv_backup_') }}
"""

RETURN = r"""
_value:
  description: One message per bad value, naming it, the range and the value given; empty when all are good.
  type: list
  elements: str
"""

from collections.abc import Mapping  # noqa: E402

from ansible.errors import AnsibleFilterError  # noqa: E402

from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.common import option_problems  # noqa: E402


def backup_option_problems(values, prefix=""):
    if not isinstance(values, Mapping):
        raise AnsibleFilterError(f"backup_option_problems expects a mapping of option names to values, got {values!r}")
    return option_problems(values, str(prefix or ""))


class FilterModule:
    def filters(self):
        return {"backup_option_problems": backup_option_problems}
