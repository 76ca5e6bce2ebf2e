"""Checks of a rendered backup-report.html: structure from Chromium's DOM, and self-containment."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Dict, List


class ReportDom(HTMLParser):
    """Collects the host sections and VM rows (``data-*`` attributes) and every URL-bearing attribute."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: List[Dict[str, str]] = []
        self.vm_rows: Dict[str, List[Dict[str, str]]] = {}
        self.host_rows: List[Dict[str, str]] = []
        self.url_attributes: List[str] = []
        self.tags: set = set()
        self.svgs = 0
        self.restore_cells: Dict[tuple, Dict[str, str]] = {}  # (host, vm) -> data-restore, data-latest-test, text
        self.column_headers: List[str] = []
        self._table_host = None
        self._row_vm = None
        self._restore_cell = None
        self._header = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        for key in ("src", "srcset", "href", "action", "data", "poster", "background", "xlink:href"):
            if key in a:
                self.url_attributes.append(f"{tag}.{key}={a[key]}")
        cls = (a.get("class") or "").split()
        if tag == "svg":
            self.svgs += 1
        if tag == "section" and "host" in cls:
            self.sections.append({"host": a.get("data-host"), "status": a.get("data-status")})
        if tag == "table" and "vms" in cls:
            self._table_host = a.get("data-host")
            self.vm_rows.setdefault(self._table_host, [])
        if tag == "tr" and "vm-row" in cls:
            self.vm_rows[self._table_host].append({"vm": a.get("data-vm"), "status": a.get("data-status")})
            self._row_vm = a.get("data-vm")
        if tag == "td" and "restore" in cls and self._row_vm is not None:
            self._restore_cell = {"restore": a.get("data-restore"), "latest": a.get("data-latest-test"), "text": ""}
            self.restore_cells[(self._table_host, self._row_vm)] = self._restore_cell
        if tag == "th" and self._table_host is not None:
            self._header = ""
        if tag == "br" and self._restore_cell is not None:
            self._restore_cell["text"] += " "
        if tag == "tr" and "host-row" in cls:
            self.host_rows.append({"host": a.get("data-host"), "status": a.get("data-status")})

    def handle_data(self, data):
        if self._restore_cell is not None:
            self._restore_cell["text"] += data
        if self._header is not None:
            self._header += data

    def handle_endtag(self, tag):
        if tag == "td" and self._restore_cell is not None:
            self._restore_cell["text"] = " ".join(self._restore_cell["text"].split())
            self._restore_cell = None
        if tag == "th" and self._header is not None:
            if self._header.strip() not in self.column_headers:
                self.column_headers.append(self._header.strip())
            self._header = None
        if tag == "tr":
            self._row_vm = None


def parse(dom: str) -> ReportDom:
    parser = ReportDom()
    parser.feed(dom)
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
