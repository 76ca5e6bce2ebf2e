"""The writer troubleshooting tables of docs/win_vss_backup.md agree with plugins/plugin_utils/_vss/writer_remedies."""

from __future__ import annotations

import pathlib
import re

from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.writer_remedies import (
    HRESULTS,
    WRITER_SERVICES,
    hosting_service,
)

DOC = (pathlib.Path(__file__).resolve().parents[2] / "docs" / "win_vss_backup.md").read_text(encoding="utf-8")
_WRITER_ROW = re.compile(r"^\| (.+?) \| (?:`\{([0-9a-f-]{36})\}`|\(not published\)) \| `(\w+)` \| (.+?) \|$", re.M)
_HRESULT_ROW = re.compile(r"^\| `0x([0-9A-F]{8})` \| `(VSS_E_\w+)` \| (.+?) \| (.+?) \|$", re.M)


def test_every_writer_of_the_table_is_documented_with_its_service():
    rows = _WRITER_ROW.findall(DOC)
    documented = {
        (tuple(names.split(" / ")), writer_id or None, service, display) for names, writer_id, service, display in rows
    }
    in_code = {(e["names"], e["id"], e["service"], e["display_name"]) for e in WRITER_SERVICES}
    assert documented == in_code
    for names, writer_id, service, _display in rows:
        assert hosting_service(writer_id or None, names.split(" / ")[0])["service"] == service


def test_every_hresult_is_documented_with_its_meaning_and_fix():
    rows = {int(code, 16): (symbol, meaning, action) for code, symbol, meaning, action in _HRESULT_ROW.findall(DOC)}
    assert rows == HRESULTS
