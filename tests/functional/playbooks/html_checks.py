"""Checks of a rendered backup-report.html: structure from Chromium's DOM, and self-containment."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Dict, List


class ReportDom(HTMLParser):
    """The tables of a report (hosts, VMs, trend) as rows of cells, from the page source (end tags of cells and rows
    left out, as the template writes them) or from Chromium's DOM (with them); and every URL-bearing attribute.

    ``host_rows``: ``{"host", "status"}`` per row of the hosts table. ``sections``: ``{"host"}`` per host in the VM
    table (in order). ``vm_rows[host]``: ``{"vm", "status"}`` per VM row; ``unprotected_rows[host]``: the VM names of
    rows for VMs a failed host did not back up. ``restore_cells[(host, vm)]``: ``{"restore": proven|stale|never,
    "text"}``. ``column_headers``: the VM table's headers.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: List[Dict[str, str]] = []
        self.vm_rows: Dict[str, List[Dict[str, str]]] = {}
        self.unprotected_rows: Dict[str, List[str]] = {}
        self.host_rows: List[Dict[str, str]] = []
        self.trend_rows: List[List[str]] = []
        self.url_attributes: List[str] = []
        self.tags: set = set()
        self.svgs = 0
        self.restore_cells: Dict[tuple, Dict[str, str]] = {}
        self.column_headers: List[str] = []
        self._tables: List[str] = []
        self._row = None  # {"class": [...], "cells": [{"tag", "class", "text"}]}
        self._host = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        for key in ("src", "srcset", "href", "action", "data", "poster", "background", "xlink:href"):
            if key in a:
                self.url_attributes.append(f"{tag}.{key}={a[key]}")
        if tag == "svg":
            self.svgs += 1
        if tag == "table":
            self._end_row()
            self._tables.append(a.get("id") or "")
        elif tag == "tr" and self._tables:
            self._end_row()
            self._row = {"class": (a.get("class") or "").split(), "cells": []}
        elif tag in ("td", "th") and self._row is not None:
            self._row["cells"].append({"tag": tag, "class": (a.get("class") or "").split(), "text": ""})
        elif tag == "br" and self._row is not None and self._row["cells"]:
            self._row["cells"][-1]["text"] += " "

    def handle_data(self, data):
        if self._row is not None and self._row["cells"]:
            self._row["cells"][-1]["text"] += data

    def handle_endtag(self, tag):
        if tag == "table" and self._tables:
            self._end_row()
            self._tables.pop()
        elif tag == "tr":
            self._end_row()

    def _end_row(self):
        row, self._row = self._row, None
        if row is None or not row["cells"] or not self._tables:
            return
        table = self._tables[-1]
        cells = [dict(c, text=" ".join(c["text"].split())) for c in row["cells"]]
        if cells[0]["tag"] == "th":
            if table == "vms":
                self.column_headers = [c["text"] for c in cells]
            return
        if table == "hosts":
            self.host_rows.append({"host": cells[0]["text"], "status": cells[1]["text"].lower()})
        elif table == "trend":
            self.trend_rows.append([c["text"] for c in cells])
        elif table == "vms":
            if cells[0]["text"]:
                self._host = cells[0]["text"]
                self.sections.append({"host": self._host})
                self.vm_rows.setdefault(self._host, [])
            if "x" in row["class"]:
                return
            vm = cells[1]["text"]
            if "u" in row["class"]:
                self.unprotected_rows.setdefault(self._host, []).append(vm)
            else:
                self.vm_rows[self._host].append({"vm": vm, "status": cells[2]["text"].lower()})
            if "Last proven restore" in self.column_headers:
                cell = cells[self.column_headers.index("Last proven restore")]
                state = "proven" if "p" in cell["class"] else "stale" if "s" in cell["class"] else "never"
                self.restore_cells[(self._host, vm)] = {"restore": state, "text": cell["text"]}


def parse(dom: str) -> ReportDom:
    parser = ReportDom()
    parser.feed(dom)
    parser.close()
    parser._end_row()
    return parser


_EXTERNAL = re.compile(
    r"""(?ix) (?:https?|ftp)://  |  //[a-z0-9.-]+\.[a-z]{2,}/  |  url\s*\((?!\#[a-z0-9_-]+\))  |  @import
        |  <link\b  |  <script\b  |  <iframe\b  |  <img\b  |  <object\b  |  \bsrc\s*="""
)


def external_references(html: str) -> List[str]:
    """Everything in the HTML source that could make a mail client or browser fetch something.

    ``url(#id)`` (the charts' clip paths) names an element of the same page and fetches nothing."""
    found = [m.group(0) for m in _EXTERNAL.finditer(html)]
    found += [h for h in re.findall(r"""href\s*=\s*["']([^"']*)["']""", html, re.I) if not h.startswith("#")]
    return found


def failures_first(statuses: List[str]) -> bool:
    """``failed`` items all come before any other item."""
    seen_other = False
    for status in statuses:
        if status != "failed":
            seen_other = True
        elif seen_other:
            return False
    return True
