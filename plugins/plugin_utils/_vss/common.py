# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""What every part of a VSS backup shares: the Hyper-V writer's identity and the planning error type.

It imports nothing of the collection, so the plan, the script renderers and the manifest can all use it
without importing each other.
"""

from __future__ import annotations

HYPERV_WRITER_ID = "66841cd4-6ded-4f4b-8f17-fd23f8ddc3de"
HYPERV_WRITER_NAME = "Microsoft Hyper-V VSS Writer"


class BackupPlanError(ValueError):
    """The inventory, the volume facts or the options cannot make a safe backup plan."""
