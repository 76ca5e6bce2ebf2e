# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""A restic repository as a backup target: what to run and how to read what restic printed.

Everything here is pure and runs on the controller. The host runs ``restic.exe`` with the argument
lists and environment built here (the job runner executes them; nothing is formatted into script
text), and the controller parses what restic printed with the functions here.

* :mod:`.options`  the ``repository`` option of ``type: restic``: validation, tags, environment.
* :mod:`.command`  argument lists of ``backup``, ``forget``, ``prune``, ``check``, ``snapshots``,
  ``ls``, ``restore``, ``stats``, ``init`` and ``version``; retention policy -> ``--keep-*`` flags.
* :mod:`.messages` restic's ``--json`` messages and its text diagnostics: backup status and summary,
  forget groups, snapshots, ls nodes, check, restore, stats; errors classified (wrong password,
  locked repository, no repository, incomplete backup, ...).
* :mod:`.version`  ``restic version`` output and the minimum version the collection needs.

The password never appears on a command line: restic reads it from the file named by
``RESTIC_PASSWORD_FILE`` (written by the job runner into the job folder and removed when the job ends).
"""
