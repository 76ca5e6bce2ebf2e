# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``backup_report`` filter (docs in ``backup_report.yml``); the report is made by ``plugin_utils/_report.py``."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.vaware.hyperv.plugins.plugin_utils._report import (
    DEFAULT_KEEP_RUNS,
    DEFAULT_RESTORE_MAX_AGE_DAYS,
    ReportInputError,
    build_report,
)


def backup_report(
    results,
    hosts=None,
    title=None,
    generated_at=None,
    restore_proofs=None,
    restore_proofs_source=None,
    restore_proofs_error=None,
    restore_max_age_days=DEFAULT_RESTORE_MAX_AGE_DAYS,
    previous_report=None,
    previous_report_source=None,
    history=None,
    history_source=None,
    history_keep=DEFAULT_KEEP_RUNS,
):
    """Jinja2 entry point; see backup_report.yml."""
    try:
        return build_report(
            results,
            hosts=hosts,
            title=title,
            generated_at=generated_at,
            restore_proofs=restore_proofs,
            restore_proofs_source=restore_proofs_source,
            restore_proofs_error=restore_proofs_error,
            restore_max_age_days=restore_max_age_days,
            previous_report=previous_report,
            previous_report_source=previous_report_source,
            history=history,
            history_source=history_source,
            history_keep=history_keep,
        )
    except ReportInputError as exc:
        raise AnsibleFilterError(f"vaware.hyperv.backup_report: {exc}") from None


class FilterModule:
    """Ansible filter plugin loader entry point."""

    def filters(self):
        return {"backup_report": backup_report}
