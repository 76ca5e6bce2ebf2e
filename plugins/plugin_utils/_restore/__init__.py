# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""Restoring a VM from a backup generation, pure Python on the controller.

* :mod:`.options`  what the user asked (validated), restored names and the marker in their notes;
* :mod:`.select`   the generations of a host folder, the one chosen, the VM's files and the restore steps;
* :mod:`.verify`   files, import configuration and disks against the manifest; the test boot's verdict.

The record of a test restore and the proofs file live in :mod:`.._proofs`.
"""
