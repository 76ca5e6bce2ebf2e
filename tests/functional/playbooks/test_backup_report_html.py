"""The report path alone (role entry point ``report``) with recorded per-host results: 1 host and 200 hosts.

The HTML is opened in headless Chromium (in a network namespace of its own): one row per VM, failures
first, names shown as text (never markup), no request leaves the page. Screenshots land in
``tests/output/backup-report/`` for a human look.
"""

from __future__ import annotations

import html
import json
import os
import pathlib
import re
import subprocess

import jsonschema
import pytest
import yaml

from ansible_collections.vaware.hyperv.tests.functional.playbooks import chromium, html_checks, recorded_results
from ansible_collections.vaware.hyperv.tests.functional.playbooks.smtp_sink import SmtpSink

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[2]
PLAYBOOK_BIN = ROOT / ".venv" / "bin" / "ansible-playbook"
SCHEMA = json.loads((ROOT / "docs" / "backup-report.schema.json").read_text(encoding="utf-8"))
OUTPUT = ROOT / "tests" / "output" / "backup-report"


def write_report(tmp: pathlib.Path, results, *extra_args: str, proofs=None, core_only=False):
    """Run the report entry point; ``proofs`` (a document, or text written as is) is put in the report folder
    as restore-proofs.json first, where playbooks/test_restore.yml leaves it. ``core_only``: the controller has
    ansible-core and this collection, no other collection (the bundled ones are not scanned)."""
    tmp.mkdir(parents=True, exist_ok=True)
    inventory = tmp / "inventory.yml"
    hosts = {name: {"hyperv_backup_host_result": result} for name, result in results.items()}
    inventory.write_text(yaml.safe_dump({"all": {"children": {"hyperv_hosts": {"hosts": hosts}}}}), encoding="utf-8")
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".tmp" / "collections"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_LOCAL_TEMP": str(tmp / "ansible-local"),
            "ANSIBLE_REMOTE_TEMP": str(tmp / "ansible-remote"),
        }
    )
    if core_only:
        env["ANSIBLE_COLLECTIONS_SCAN_SYS_PATH"] = "false"
    report_dir = tmp / "report"
    if proofs is not None:
        report_dir.mkdir(exist_ok=True)
        text = proofs if isinstance(proofs, str) else json.dumps(proofs, indent=2)
        (report_dir / "restore-proofs.json").write_text(text, encoding="utf-8")
    proc = subprocess.run(
        [str(PLAYBOOK_BIN), str(HERE / "report_from_recorded_results.yml"), "-i", str(inventory),
         "-e", f"hyperv_backup_report_dir={report_dir}", *extra_args],
        env=env, cwd=tmp, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    report = json.loads((report_dir / "backup-report.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(report)
    return proc, report, report_dir / "backup-report.html"


def check_in_chromium(html_path: pathlib.Path, report, screenshot: str, height: int):
    if not chromium.binary():
        pytest.fail("chromium is not installed (Debian package 'chromium', bindep test profile)")
    html = html_path.read_text(encoding="utf-8")
    assert html_checks.external_references(html) == []
    seen = chromium.run(html_path, OUTPUT, screenshot=screenshot, height=height)
    assert seen["requests"] == []
    assert seen["screenshot"].stat().st_size > 10_000
    dom = html_checks.parse(seen["dom"])
    assert "script" not in dom.tags and "img" not in dom.tags and "link" not in dom.tags
    assert all(a.split("=", 1)[1].startswith("#") for a in dom.url_attributes), dom.url_attributes
    names = [h["name"] for h in report["hosts"]]
    assert [s["host"] for s in dom.sections] == names
    assert [r["host"] for r in dom.host_rows] == names
    assert html_checks.failures_first([r["status"] for r in dom.host_rows])
    for host in report["hosts"]:
        rows = dom.vm_rows.get(host["name"], [])
        assert [r["vm"] for r in rows] == [v["name"] for v in host["vms"]], host["name"]
        assert [r["status"] for r in rows] == [v["status"] for v in host["vms"]]
        assert html_checks.failures_first([r["status"] for r in rows])
    return dom


WIDTHS = (800, 1400)


def check_layout(html_path: pathlib.Path, name: str, texts):
    """At 800 px and 1400 px wide in Chromium: nothing reaches past the window's right edge (no horizontal scroll
    bar) and every text of ``texts`` is on the page as a reader sees it."""
    if not chromium.binary():
        pytest.fail("chromium is not installed (Debian package 'chromium', bindep test profile)")
    for width in WIDTHS:
        seen = chromium.layout(html_path, OUTPUT, width=width, screenshot=f"{name}-{width}px.png")
        assert seen["viewport"] <= width and seen["screenshot"].stat().st_size > 10_000
        assert seen["scroll"] <= seen["viewport"], (width, seen["scroll"], seen["overflowing"])
        assert seen["overflowing"] == [], (width, seen["overflowing"])
        for text in texts:
            assert text in seen["text"], (width, text)


def mail_args(sink: SmtpSink):
    return ["-e", json.dumps({
        "hyperv_backup_report_mail_to": ["hyperv-admins@example.test"],
        "hyperv_backup_report_mail_from": "backup@example.test",
        "hyperv_backup_report_mail_host": "127.0.0.1",
        "hyperv_backup_report_mail_port": sink.port,
        "hyperv_backup_report_mail_secure": "never",
    })]  # fmt: skip


def check_mail(sink: SmtpSink, html_path: pathlib.Path):
    (message,) = sink.messages
    assert message["To"] == "hyperv-admins@example.test"
    parts = {part.get_filename(): part for part in message.iter_attachments()}
    assert set(parts) == {"backup-report.html", "backup-report.json"}
    html = html_path.read_text(encoding="utf-8")
    attached = parts["backup-report.html"].get_payload(decode=True).decode("utf-8")
    assert attached.replace("\r\n", "\n").strip() == html.strip()
    body = message.get_body(preferencelist=("html",))
    assert body is not None and "Hyper-V backup report" in body.get_content()
    return str(message["Subject"])


def test_one_host(tmp_path):
    results = recorded_results.fleet(1)  # hv001 with VMs vm001-0 and vm001-1
    # vm001-0 passed a test restore 3 days ago; vm001-1 was tested yesterday and failed, never passed
    proofs = recorded_results.restore_proofs(("hv001", "vm001-0", 3, True), ("hv001", "vm001-1", 1, False))
    with SmtpSink() as sink:
        proc, report, html_path = write_report(
            tmp_path, results, *mail_args(sink), "-e", "hyperv_backup_report_chart=bytes", proofs=proofs
        )
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "VMs by data copied" in html_path.read_text(encoding="utf-8")
    assert report["status"] == "ok" and report["totals"]["hosts"] == 1
    subject = check_mail(sink, html_path)
    assert subject == "[Hyper-V backup] OK: 0/1 hosts failed, 0/2 VMs failed"
    dom = check_in_chromium(html_path, report, "one-host.png", 900)
    check_layout(html_path, "one-host", ["OK: 1 host(s), 2 VM(s) backed up", "Last proven restore", "vm001-1"])
    assert len(dom.sections) == 1 and sum(len(r) for r in dom.vm_rows.values()) == report["totals"]["vms"]
    # the last proven restore, from restore-proofs.json in the report folder
    assert report["restore_proofs"]["status"] == "read" and report["warnings"] == []
    assert report["restore_proofs"]["source"] == str(html_path.parent / "restore-proofs.json")
    vms = {v["name"]: v for v in report["hosts"][0]["vms"]}
    proven = vms["vm001-0"]["last_proven_restore"]
    assert proven["generation"] == "20261120T020000Z" and proven["seconds_to_heartbeat"] == 48.0
    assert proven["stale"] is False and 2.9 < proven["age_days"] < 3.1
    assert vms["vm001-1"]["last_proven_restore"] is None and vms["vm001-1"]["last_restore_test"]["passed"] is False
    assert "Last proven restore" in dom.column_headers
    proven_cell, never_cell = dom.restore_cells[("hv001", "vm001-0")], dom.restore_cells[("hv001", "vm001-1")]
    assert proven_cell["restore"] == "proven" and "latest test" not in proven_cell["text"]
    assert proven_cell["text"].startswith(proven["tested_at"][:10] + " · 20261120T020000Z heartbeat after 48")
    assert never_cell["restore"] == "never"
    assert (
        never_cell["text"].startswith("never latest test ")
        and "failed: no heartbeat within 600 s" in never_cell["text"]
    )
    assert report["totals"]["vms_restore_proven"] == 1 and report["totals"]["vms_restore_unproven"] == 1


def test_stale_and_unreadable_restore_proofs(tmp_path):
    results = recorded_results.fleet(1)
    stale = recorded_results.restore_proofs(("hv001", "vm001-0", 10, True), ("HV001", "VM001-1", 2, True))
    proc, report, html_path = write_report(
        tmp_path / "stale", results, "-e", "hyperv_backup_report_restore_max_age_days=7", proofs=stale
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    dom = html_checks.parse(html_path.read_text(encoding="utf-8"))
    assert dom.restore_cells[("hv001", "vm001-0")]["restore"] == "stale"
    assert "10 days old" in dom.restore_cells[("hv001", "vm001-0")]["text"]
    assert dom.restore_cells[("hv001", "vm001-1")]["restore"] == "proven"  # names match case-insensitively
    assert report["restore_proofs"]["max_age_days"] == 7 and report["status"] == "ok"

    # a damaged file is a warning in the report, not a failed run
    proc, report, html_path = write_report(tmp_path / "damaged", results, proofs='{"format": 1, "vms": [')
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert report["status"] == "warning" and report["restore_proofs"]["status"] == "unreadable"
    (warning,) = report["warnings"]
    assert "restore-proofs.json ignored, so no VM shows a proven restore: restore proofs: not valid JSON" in warning
    html = html_path.read_text(encoding="utf-8")
    assert "<ul id=report-warnings" in html and "1 report warning(s) below" in html
    dom = html_checks.parse(html)
    assert {c["restore"] for c in dom.restore_cells.values()} == {"never"}

    # a file that cannot be read (here a folder of that name) too
    (tmp_path / "folder" / "report" / "restore-proofs.json").mkdir(parents=True)
    proc, report, html_path = write_report(tmp_path / "folder", results)
    assert proc.returncode == 0, proc.stdout[-3000:]
    (warning,) = report["warnings"]
    assert "restore-proofs.json could not be read, so no VM shows a proven restore: " in warning, warning
    assert report["status"] == "warning" and report["restore_proofs"]["status"] == "unreadable"

    # no file: nothing proven yet, said once at the top, no warning
    proc, report, html_path = write_report(tmp_path / "absent", results)
    assert proc.returncode == 0 and report["status"] == "ok" and report["restore_proofs"]["status"] == "absent"
    assert "<p id=restore-hint" in html_path.read_text(encoding="utf-8")


def test_mail_defaults_to_starttls_and_never_sends_the_password_in_clear_text(tmp_path):
    results = recorded_results.fleet(1)
    secret = "s3cret-smtp-password"
    login = [
        "-e",
        json.dumps({"hyperv_backup_report_mail_username": "backup", "hyperv_backup_report_mail_password": secret}),
    ]
    with SmtpSink(offer_auth=True) as sink:
        args = json.loads(mail_args(sink)[1])
        del args["hyperv_backup_report_mail_secure"]  # the role's default is what is tested here
        proc, report, html_path = write_report(tmp_path / "default", results, "-e", json.dumps(args), *login)
    # the server offers no STARTTLS: nothing is sent, no login is tried, and the run fails saying so
    assert sink.auth_lines == [] and sink.messages == []
    assert proc.returncode == 2, proc.stdout[-3000:]
    assert "The report mail was not sent" in proc.stdout and report["status"] == "ok"
    assert secret not in proc.stdout + proc.stderr
    assert html_path.is_file()

    # the opt-out for an internal relay (secure: never, no login) still sends the report
    with SmtpSink() as sink:
        proc, report, html_path = write_report(tmp_path / "relay", results, *mail_args(sink))
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert check_mail(sink, html_path).startswith("[Hyper-V backup] OK")


def test_the_report_needs_no_other_collection_when_mail_is_off(tmp_path):
    """With ansible-core and this collection alone (no community.general), a run without mail writes the report,
    publishes set_stats and fails only the failed host; the mail task is read only when a mail is to be sent."""
    results = recorded_results.fleet(3)
    failed = sorted(name for name, result in results.items() if result["status"] == "failed")
    proc, report, html_path = write_report(tmp_path, results, core_only=True)
    assert "couldn't resolve" not in proc.stdout + proc.stderr, proc.stdout[-3000:]
    assert report["failed_hosts"] == failed and html_path.is_file()
    assert "Publish the summary for AWX workflows" in proc.stdout
    assert proc.returncode == (2 if failed else 0), proc.stdout[-3000:]
    # the same controller asked to mail the report: it stops naming the missing module, after the report
    with SmtpSink() as sink:
        proc, report, html_path = write_report(tmp_path / "mail", results, *mail_args(sink), core_only=True)
    assert proc.returncode != 0 and "community.general.mail" in proc.stdout + proc.stderr
    assert html_path.is_file() and sink.messages == []


def test_a_host_failing_before_its_copy_still_counts_the_vms_it_had(tmp_path):
    """Night one backs hv001 up; night two it is unreachable and records no VM: the report reads night one's
    backup-report.json and names both VMs as not backed up, with their last good backup, in JSON and HTML."""
    results = recorded_results.fleet(1)
    assert results["hv001"]["status"] == "ok"
    proc, first, _html = write_report(tmp_path, results)
    assert proc.returncode == 0, proc.stdout[-3000:]
    generation = first["hosts"][0]["generation"]
    down = {
        "host": "hv001", "status": "failed", "failed_task": "Read the volumes and where the VMs live",
        "msg": "read volumes: host unreachable while running payload win_volume_guid_facts: timed out",
        "check_mode": False, "started": None, "finished": "2026-11-26T02:00:05Z", "volumes": [], "backup": {},
    }  # fmt: skip
    proc, second, html_path = write_report(tmp_path, {"hv001": down})
    assert proc.returncode == 2, proc.stdout[-3000:]
    (host,) = second["hosts"]
    assert host["vms"] == [] and [v["name"] for v in host["unprotected_vms"]] == ["vm001-0", "vm001-1"]
    assert all(v["last_good_backup"]["generation"] == generation for v in host["unprotected_vms"])
    assert second["totals"]["vms_unprotected"] == 2
    text = html_path.read_text(encoding="utf-8")
    assert "2 VM(s) without a backup from this run" in text
    assert 'class="e unprotected" data-count=2>' in text
    dom = html_checks.parse(text)
    assert dom.unprotected_rows == {"hv001": ["vm001-0", "vm001-1"]} and dom.vm_rows == {"hv001": []}
    assert text.count(f"last good backup {generation}") == 2
    # their restore points are those the last report counted: no retention ran since
    assert [(v["restore_points"], v["oldest_restore_point"]) for v in host["unprotected_vms"]] == [
        (vm["restore_points"], vm["oldest_restore_point"])
        for vm in sorted(first["hosts"][0]["vms"], key=lambda v: v["name"])
    ]


def test_no_chart_of_a_single_bar(tmp_path):
    """A host with one VM gets no VM chart, and a fleet of one host no fleet chart: one bar only repeats the
    table row above it. Hosts with two VMs or more keep theirs."""
    results = recorded_results.fleet(6)
    _proc, report, html_path = write_report(tmp_path, results)
    text = html_path.read_text(encoding="utf-8")
    for host in report["hosts"]:
        chart = f'<svg class=chart-vms role=img aria-label="{host["name"]}: VMs by duration"'
        assert (chart in text) == (len(host["vms"]) > 1), host["name"]
    assert any(len(h["vms"]) == 1 for h in report["hosts"]) and any(len(h["vms"]) > 1 for h in report["hosts"])
    assert "<svg class=chart-hosts " in text
    _proc, _report, html_path = write_report(tmp_path / "one", {"hv001": results["hv001"]})
    assert "<svg class=chart-hosts " not in html_path.read_text(encoding="utf-8")


def test_two_hundred_hosts(tmp_path):
    """200 hosts with 14 earlier runs in the history and restore proofs for every tenth host: the HTML is under
    100 KB (100,000 bytes), fits 800 px and 1400 px, and Chromium shows every host and VM."""
    results = recorded_results.fleet(200)
    history = tmp_path / "report" / "history"
    history.mkdir(parents=True)
    (history / "index.json").write_text(json.dumps(recorded_results.history_index(200, 14)), encoding="utf-8")
    tests = [
        (name, r["backup"]["vms"][0]["name"], 3, True) for name, r in list(results.items())[::10] if r["backup"]["vms"]
    ]
    proofs = recorded_results.restore_proofs(*tests)
    with SmtpSink() as sink:
        proc, report, html_path = write_report(tmp_path, results, *mail_args(sink), proofs=proofs)
    assert proc.returncode == 2, proc.stdout[-3000:]
    size = html_path.stat().st_size
    assert size < 100_000, f"backup-report.html of 200 hosts is {size} bytes"
    page = html_path.read_text(encoding="utf-8")
    assert page.count("<style") == 1 and " style=" not in page
    assert len(report["history"]["runs"]) == 15 and report["history"]["status"] == "read"
    assert "Trend of the last 15 run(s)" in page and "<svg class=chart-trend " in page
    assert "chart-vms" not in page  # more hosts than hyperv_backup_report_vm_charts_max_hosts (10)
    failed = report["failed_hosts"]
    check_layout(
        html_path,
        "two-hundred-hosts",
        [f"FAILED: {len(failed)} of 200 host(s) failed", "Needs attention", "Free at destination", failed[-1], "hv200"],
    )
    # a failed run never sends an OK mail
    assert check_mail(sink, html_path) == (
        f"[Hyper-V backup] FAILED: {report['totals']['hosts_failed']}/200 hosts failed,"
        f" {report['totals']['vms_failed']}/{report['totals']['vms']} VMs failed"
    )
    assert "Backup FAILED on" in proc.stdout
    totals = report["totals"]
    assert totals["hosts"] == 200
    failed = sorted(n for n, r in results.items() if r["status"] == "failed")
    assert report["failed_hosts"] == failed and totals["hosts_failed"] == len(failed)
    assert totals["vms"] == sum(len(r["backup"]["vms"]) for r in results.values())
    dom = check_in_chromium(html_path, report, "two-hundred-hosts.png", 2400)
    assert sum(len(rows) for rows in dom.vm_rows.values()) == totals["vms"]
    assert len(dom.trend_rows) == 15 and sum(1 for c in dom.restore_cells.values() if c["restore"] == "proven") == len(
        tests
    )
    # awkward VM names arrive as text: the DOM holds them as attribute values, nothing was executed
    awkward = {r["vm"] for r in dom.vm_rows["hv003"]}
    assert set(recorded_results.AWKWARD_NAMES) <= awkward
    # the fleet chart stops at hyperv_backup_report_chart_max_hosts (50) bars; the tables list everyone
    assert "Hosts by duration (first 50 of 200)" in html_path.read_text(encoding="utf-8")


LONG_VM = "SQL-PROD-CLUSTER-NODE-0001-REPLICA-WESTEUROPE-ARCHIVE-2026"
LONG_HOST = "HYPERV-PRODUCTION-HOST-0001.CORP.EXAMPLE.COM"


def measure_labels(html_path: pathlib.Path, out: pathlib.Path):
    """Open a test-only copy of the page with a script that measures every chart label in Chromium."""
    script = """<script>
      const labels = [...document.querySelectorAll('svg text.bar-label')].map(t => {
        const title = t.querySelector('title').textContent;
        return {text: t.textContent.slice(title.length), right: t.getBBox().x + t.getComputedTextLength(), title,
                bar: Number(t.closest('svg').querySelector('rect.ok, rect.failed, rect.warning').getAttribute('x'))};
      });
      document.body.setAttribute('data-labels', JSON.stringify(labels));
    </script>"""
    page = out / "measure.html"
    page.write_text(html_path.read_text(encoding="utf-8").replace("</body>", script + "</body>"), encoding="utf-8")
    seen = chromium.run(page, OUTPUT, screenshot="long-names.png", height=900)
    match = re.search(r'<body[^>]*data-labels="([^"]*)"', seen["dom"])
    assert match, seen["dom"][:2000]
    return json.loads(html.unescape(match.group(1)))


def test_long_names_stay_left_of_the_bars_and_tables_need_no_svg(tmp_path):
    results = recorded_results.fleet(2)
    results[LONG_HOST] = {**results.pop("hv002"), "host": LONG_HOST}
    results["hv001"]["backup"]["vms"][0]["name"] = LONG_VM
    proc, report, html_path = write_report(tmp_path, results)
    assert proc.returncode == (2 if report["status"] == "failed" else 0), proc.stdout[-3000:]
    page = html_path.read_text(encoding="utf-8")
    assert html_checks.external_references(page) == []
    if not chromium.binary():
        pytest.fail("chromium is not installed (Debian package 'chromium', bindep test profile)")
    labels = measure_labels(html_path, tmp_path)
    names = {label["title"]: label for label in labels}
    assert LONG_VM in names and LONG_HOST in names  # the full name is the row's tooltip
    for label in labels:
        assert label["right"] <= 212 < label["bar"], label  # the drawn label ends before its bar starts
        assert label["text"] == label["title"] or (
            len(label["text"]) <= 22 and label["text"].endswith("...") and label["title"].startswith(label["text"][:-3])
        ), label
    assert names[LONG_VM]["text"] == LONG_VM[:19] + "..."

    # a mail client that drops inline SVG: the tables still carry every VM with its size and duration
    stripped = re.sub(r"<svg\b.*?</svg>", "", page, flags=re.S)
    assert "<svg" not in stripped and "VMs by duration" not in stripped
    dom = html_checks.parse(stripped)
    assert [r["host"] for r in dom.host_rows] == [h["name"] for h in report["hosts"]]
    for host in report["hosts"]:
        assert [r["vm"] for r in dom.vm_rows.get(host["name"], [])] == [v["name"] for v in host["vms"]]
    assert {"Data", "Duration"} <= set(dom.column_headers)


def test_failed_unreachable_and_long_named_hosts_fit_800_and_1400_px(tmp_path):
    """Night one backs up six hosts; night two one of them is unreachable (its VMs unprotected), one has a 44
    character name and a VM of 58, and one fails with an error holding a long unbroken path. Nothing may stick out
    past the window's right edge at 800 px or 1400 px, and the unprotected VMs and the errors must show."""
    results = recorded_results.fleet(6)
    proc, _first, _html = write_report(tmp_path, results)
    night_two = recorded_results.fleet(6)
    night_two["hv002"] = {
        "host": "hv002", "status": "failed", "failed_task": "Read the volumes and where the VMs live",
        "msg": "read volumes: host unreachable while running payload win_volume_guid_facts: timed out",
        "check_mode": False, "started": None, "finished": "2026-11-26T02:00:05Z", "volumes": [], "backup": {},
    }  # fmt: skip
    night_two[LONG_HOST] = {**night_two.pop("hv003"), "host": LONG_HOST}
    night_two["hv001"]["backup"]["vms"][0]["name"] = LONG_VM
    path = "\\\\nas01\\hyperv\\" + "V" * 90 + "\\20261125T010000Z\\Virtual Hard Disks\\" + "d" * 60 + ".vhdx"
    night_two["hv004"]["backup"]["vms"][0].update(status="failed", errors=[f"size mismatch of {path}"])
    proc, report, html_path = write_report(tmp_path, night_two)
    assert proc.returncode == 2, proc.stdout[-3000:]
    assert report["totals"]["vms_unprotected"] >= 2 and LONG_HOST in [h["name"] for h in report["hosts"]]
    check_layout(
        html_path,
        "failed-and-long-names",
        [
            "Needs attention",
            "Not backed up this run",
            "host unreachable",
            LONG_HOST,
            "size mismatch of",
            "not backed up",
        ],
    )


def test_a_failed_writer_shows_its_service_and_the_fix(tmp_path):
    """hv001's Hyper-V writer failed (its preflight listing, read by the module's own code): the host's section
    names the writer, its state and last error, the service that hosts it and the fix."""
    from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.writer_remedies import listing_problems
    from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.writers import parse_writers

    listing = (
        ROOT / "tests" / "unit" / "fixtures" / "win_vss_backup" / "vssadmin_writers_hyperv_failed.txt"
    ).read_text(encoding="utf-8")
    problems = listing_problems(parse_writers(listing), True)
    msg = "preflight: the Microsoft Hyper-V VSS Writer is in state 8 (VSS_WS_FAILED_AT_PREPARE_SNAPSHOT)"
    results = recorded_results.fleet(2)
    results["hv001"].update(status="failed", msg=msg, failed_task="Run the VSS backup")
    results["hv001"]["backup"] = {
        "failed": True, "msg": msg, "step": "preflight", "vms": [], "expired": [], "writer_problems": problems,
    }  # fmt: skip
    proc, report, html_path = write_report(tmp_path, results)
    assert proc.returncode == 2, proc.stdout[-3000:]
    host = next(h for h in report["hosts"] if h["name"] == "hv001")
    assert [(p["name"], p["service"], p["state"]) for p in host["writer_problems"]] == [
        ("Microsoft Hyper-V VSS Writer", "vmms", 8)
    ]
    assert next(h for h in report["hosts"] if h["name"] == "hv002")["writer_problems"] == []
    text = html_path.read_text(encoding="utf-8")
    assert text.count('class="writer-problems"') == 1
    assert 'data-writer="Microsoft Hyper-V VSS Writer" data-service="vmms"' in text
    assert (
        "VSS writer <strong>Microsoft Hyper-V VSS Writer</strong>: failed (state 8 VSS_WS_FAILED_AT_PREPARE_SNAPSHOT)"
        in text
    )
    assert "last error Retryable error; hosted by Hyper-V Virtual Machine Management (vmms)" in text
    assert (
        "Fix: restart the Hyper-V Virtual Machine Management service (vmms) on the host"
        " (`Restart-Service -Name vmms`), then `vssadmin list writers` must show"
        " &#39;Microsoft Hyper-V VSS Writer&#39; as [1] Stable" in text
    )
