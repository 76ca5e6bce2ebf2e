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
        self._table_host = None

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
        if tag == "tr" and "host-row" in cls:
            self.host_rows.append({"host": a.get("data-host"), "status": a.get("data-status")})


def parse(dom: str) -> ReportDom:
    parser = ReportDom()
    parser.feed(dom)
    return parser


_EXTERNAL = re.compile(
    r"""(?ix) (?:https?|ftp)://  |  //[a-z0-9.-]+\.[a-z]{2,}/  |  url\s*\(  |  @import
        |  <link\b  |  <script\b  |  <iframe\b  |  <img\b  |  <object\b  |  \bsrc\s*="""
)


def external_references(html: str) -> List[str]:
    """Everything in the HTML source that could make a mail client or browser fetch something."""
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
