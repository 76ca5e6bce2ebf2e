# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``backup_report_history`` filter (docs in ``backup_report_history.yml``; logic in ``_report_history.py``)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.vaware.hyperv.plugins.plugin_utils._report_history import (
    DEFAULT_KEEP_RUNS,
    HistoryError,
    history_update,
)


def backup_report_history(report, index=None, keep=DEFAULT_KEEP_RUNS):
    """Jinja2 entry point; see backup_report_history.yml."""
    try:
        return history_update(report, index, keep)
    except HistoryError as exc:
        raise AnsibleFilterError(f"vaware.hyperv.backup_report_history: {exc}") from None


class FilterModule:
    """Ansible filter plugin loader entry point."""

    def filters(self):
        return {"backup_report_history": backup_report_history}
