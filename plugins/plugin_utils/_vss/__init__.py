# Copyright: (c) 2026, vaware.hyperv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a private module for vaware.hyperv's internal use only; its API may change at any time.
"""A VSS backup of a Hyper-V host into plain-file generations, pure Python on the controller.

* :mod:`.common`       the Hyper-V writer's identity and the planning error type (imports nothing);
* :mod:`.volumes`      volume facts from CIM, normalized; which volume holds a path; VM file placement;
* :mod:`.plan`         the backup plan: shadow set, exposure folders, robocopy steps, generation id;
* :mod:`.scripts`      the diskshadow script and the copy wrapper rendered from a plan; their markers read back;
* :mod:`.diskshadow`   a diskshadow transcript read (shadow ids, writer components, errors);
* :mod:`.writers`      ``vssadmin list writers`` and diskshadow writer status read;
* :mod:`.writer_remedies` a failed, stuck or missing writer: the service that hosts it and the usual fix;
* :mod:`.robocopy`     robocopy exit codes and log summaries read;
* :mod:`.manifest`     the manifest of a generation built and validated;
* :mod:`.retention`    which generations a ``keep_*`` policy expires;
* :mod:`.generations`  the generations a destination lists, and what to expire to make room.

Imports go one way: ``common`` <- ``volumes`` / ``scripts`` <- ``plan`` <- ``manifest`` <- ``generations``;
``tests/unit/test_import_graph.py`` fails on a cycle.
"""
