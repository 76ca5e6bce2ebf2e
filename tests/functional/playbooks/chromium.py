"""Headless Chromium for the HTML report tests, in a network namespace of its own.

Chromium runs under ``unshare --net`` (a new network namespace whose only interface is a loopback that
is down), so neither the page nor the browser's own background services can reach any network. Its
network log still records every request that was *attempted*; :func:`page_requests` returns those
the page made (requests in the page's ``file://`` context), leaving out the browser's own
(update checks and the like, which carry no page context).
"""

from __future__ import annotations

import html
import json
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
from typing import Dict, List

# A network namespace of its own; a user who is not root gets it inside a user namespace of their own.
NO_NETWORK = ["unshare", "--net"] if os.geteuid() == 0 else ["unshare", "--user", "--map-root-user", "--net"]
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]


def binary() -> str:
    return shutil.which("chromium") or shutil.which("chromium-browser") or ""


def run(page: pathlib.Path, out_dir: pathlib.Path, *, screenshot: str, width: int = 1200, height: int = 1600) -> Dict:
    """Open ``page`` twice (DOM dump, screenshot) with a fresh profile each; return dom, png path, requests."""
    out_dir.mkdir(parents=True, exist_ok=True)
    url = page.resolve().as_uri()
    results: Dict = {}
    for mode in ("dom", "shot"):
        with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
            netlog = pathlib.Path(profile) / "netlog.json"
            cmd = [*NO_NETWORK, binary(), *FLAGS, f"--user-data-dir={profile}", f"--log-net-log={netlog}"]
            if mode == "dom":
                cmd += ["--dump-dom", url]
            else:
                png = out_dir / screenshot
                cmd += [f"--screenshot={png}", f"--window-size={width},{height}", url]
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL, check=False
            )
            assert proc.returncode == 0, f"chromium failed ({proc.returncode}): {proc.stderr[-2000:]}"
            results.setdefault("requests", []).extend(page_requests(netlog))
            if mode == "dom":
                results["dom"] = proc.stdout
            else:
                results["screenshot"] = png
    return results


def page_requests(netlog: pathlib.Path) -> List[str]:
    """URLs (other than file://) the page itself tried to load, from Chromium's network log."""
    data = json.loads(netlog.read_text(encoding="utf-8"))
    names = {v: k for k, v in data["constants"]["logEventTypes"].items()}
    urls = []
    for event in data.get("events", []):
        if names.get(event.get("type")) != "URL_REQUEST_START_JOB":
            continue
        params = event.get("params") or {}
        url = str(params.get("url") or "")
        if not url or url.startswith("file://"):  # the end of a request has no parameters
            continue
        if "file://" in str(params.get("network_isolation_key", "")) or str(params.get("initiator")) not in (
            "not an origin",
            "",
        ):
            urls.append(url)
    return urls


# Written at the end of the page's body (a test-only copy); reading the boxes makes Chromium lay the page out
# first: the document's width against the viewport's, and every element that reaches past the viewport's right edge
# (the widest first).
_LAYOUT_SCRIPT = """<script>
  (() => {
    const vw = document.documentElement.clientWidth;
    const over = [...document.body.querySelectorAll('*')]
      .map(e => ({tag: e.tagName.toLowerCase(), id: e.id, cls: String(e.className && e.className.baseVal !== undefined
                   ? e.className.baseVal : e.className), right: Math.ceil(e.getBoundingClientRect().right)}))
      .filter(e => e.right > vw).sort((a, b) => b.right - a.right).slice(0, 10);
    const out = {viewport: vw, inner: window.innerWidth, scroll: document.documentElement.scrollWidth,
                 body_scroll: document.body.scrollWidth, overflowing: over, text: document.body.innerText};
    document.body.setAttribute('data-layout', JSON.stringify(out));
  })();
</script>"""


def layout(page: pathlib.Path, out_dir: pathlib.Path, *, width: int, height: int = 2000, screenshot: str) -> Dict:
    """Open a copy of ``page`` at ``width`` px with :data:`_LAYOUT_SCRIPT`; return its measurements (viewport,
    scroll widths, overflowing elements, the visible text) and a screenshot of the original page at that width."""
    probe = out_dir / f"{page.stem}.layout-{width}.html"
    out_dir.mkdir(parents=True, exist_ok=True)
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", _LAYOUT_SCRIPT + "</body>"), encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        cmd = [*NO_NETWORK, binary(), *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"]
        proc = subprocess.run(
            [*cmd, "--dump-dom", probe.resolve().as_uri()],
            capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, f"chromium failed ({proc.returncode}): {proc.stderr[-2000:]}"
    match = re.search(r'<body[^>]*\bdata-layout="([^"]*)"', proc.stdout)
    assert match, f"the layout script did not run: {proc.stdout[:1000]}"
    measured = json.loads(html.unescape(match.group(1)))
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        png = out_dir / screenshot
        cmd = [*NO_NETWORK, binary(), *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"]
        proc = subprocess.run(
            [*cmd, f"--screenshot={png}", page.resolve().as_uri()],
            capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, f"chromium failed ({proc.returncode}): {proc.stderr[-2000:]}"
    measured["screenshot"] = png
    return measured
