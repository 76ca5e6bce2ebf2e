"""Tests for robocopy exit codes and log parsing (fixtures in tests/unit/fixtures/robocopy)."""

from __future__ import annotations

import pathlib
import tracemalloc

import pytest

from ansible_collections.vaware.hyperv.plugins.plugin_utils._vss.robocopy import COLUMNS, outcome, parse_summary

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "robocopy"
MNT = "C:\\ProgramData\\vaware\\jobs\\20240115T020000Z\\mnt\\G1\\Hyper-V\\VM02\\"
GIB = 1024**3


def row(*values):
    return dict(zip(COLUMNS, values))


# ---------------------------------------------------------------- outcome


@pytest.mark.parametrize("rc", range(32))
def test_outcome_bits(rc):
    result = outcome(rc)
    assert result["rc"] == rc
    assert result["ok"] is (rc <= 7)
    assert result["fatal"] is (rc >= 16)
    assert len(result["flags"]) == bin(rc).count("1")


def test_outcome_meanings():
    assert outcome(0)["flags"] == []
    assert outcome(1)["flags"] == ["files were copied"]
    three = outcome(3)
    assert three["ok"] is True and three["flags"][1].startswith("extra files")
    eight = outcome(8)
    assert eight["ok"] is False and "could not be copied" in eight["flags"][0]
    assert "fatal" in outcome(16)["flags"][0]


@pytest.mark.parametrize("rc", [-1, 32, 3221225786])
def test_outcome_not_a_robocopy_code(rc):
    result = outcome(rc)
    assert result["ok"] is False and result["fatal"] is True
    assert str(rc) in result["flags"][0]


@pytest.mark.parametrize("rc", ["1", 1.0, None, True])
def test_outcome_rejects_non_int(rc):
    with pytest.raises(TypeError, match="must be an int"):
        outcome(rc)


# ---------------------------------------------------------------- parse_summary

THREE_JOBS_ERRORS = [
    {
        "code": 32,
        "path": MNT + "Virtual Hard Disks\\VM02_6A1B2C3D-4E5F-4A6B-8C7D-8E9F0A1B2C3D.avhdx",
        "reason": "The process cannot access the file because it is being used by another process.",
    },
    {"code": 5, "path": MNT + "Snapshots\\", "reason": "Access is denied."},
    {
        "code": 53,
        "path": "\\\\nas01\\backup\\HV01\\20240115T020000Z\\_extra\\Configs\\Archive\\",
        "reason": "The network path was not found.",
    },
]


def test_unilog_three_jobs_streamed_from_an_open_utf16_file():
    with open(FIXTURES / "unilog_three_jobs.utf16.log", encoding="utf-16") as handle:
        result = parse_summary(handle)
    assert result["jobs"] == 3
    # The last job's summary (with /BYTES plain numbers) ...
    assert result["dirs"] == row(1, 0, 1, 0, 0, 0)
    assert result["files"] == row(4, 4, 0, 0, 0, 1)
    assert result["bytes"] == row(7995, 7995, 0, 0, 0, 120)
    assert result["speed_bytes_per_sec"] == 7995
    # ... and the errors of every job; the two retries of the same file are one error.
    assert result["errors"] == THREE_JOBS_ERRORS


def test_crlf_lines_from_a_file_opened_without_newline_translation():
    with open(FIXTURES / "unilog_three_jobs.utf16.log", encoding="utf-16", newline="") as handle:
        first = handle.readline()
        assert first.endswith("\r\n")
        result = parse_summary(handle)
    assert result["jobs"] == 3
    assert result["errors"] == THREE_JOBS_ERRORS
    assert result["bytes"] == row(7995, 7995, 0, 0, 0, 120)


def test_string_generator_and_file_give_the_same_result():
    with open(FIXTURES / "unilog_three_jobs.utf16.log", encoding="utf-16") as handle:
        text = handle.read()
    from_text = parse_summary(text)
    from_generator = parse_summary(line for line in text.splitlines())
    assert from_text == from_generator
    assert from_text["errors"] == THREE_JOBS_ERRORS


def test_german_log_with_unit_suffixes_and_decimal_commas():
    with open(FIXTURES / "german_suffixes.log", encoding="utf-8") as handle:
        result = parse_summary(handle)
    assert result["dirs"] == row(2, 2, 0, 0, 0, 0)
    assert result["files"] == row(3, 2, 0, 0, 1, 0)
    # 849,175 g = 849.175 * 2**30 (rounded to whole bytes); 3,9 k = 3.9 * 1024 = 3993.6 -> 3994
    assert result["bytes"] == row(
        round(849175 * GIB / 1000), round(848175 * GIB / 1000), 0, 0, GIB, round(39 * 1024 / 10)
    )
    assert result["speed_bytes_per_sec"] == 242795637
    assert result["errors"] == [
        {
            "code": 32,
            "path": "C:\\mnt\\G1\\Hyper-V\\Virtual Hard Disks\\DB01_log.avhdx",
            "reason": "Der Prozess kann nicht auf die Datei zugreifen, "
            "da sie von einem anderen Prozess verwendet wird.",
        }
    ]


def test_french_log_with_only_megabytes_per_minute():
    with open(FIXTURES / "french_mb_per_min_only.log", encoding="utf-8") as handle:
        result = parse_summary(handle)
    assert result["files"] == row(2, 2, 0, 0, 0, 0)
    assert result["bytes"]["copied"] == round(12503 * GIB / 1000)
    # 1726,480 MegaBytes/min = 1726.48 * 2**20 / 60 bytes per second
    assert result["speed_bytes_per_sec"] == round(172648 * 1048576 / 6000)


def test_interrupted_job_keeps_previous_summary_and_its_errors():
    with open(FIXTURES / "interrupted_second_job.log", encoding="utf-8") as handle:
        result = parse_summary(handle)
    assert result["jobs"] == 1
    assert result["files"] == row(3, 3, 0, 0, 0, 0)
    assert result["bytes"] == row(42949769216, 42949769216, 0, 0, 0, 0)
    assert result["speed_bytes_per_sec"] == 178216884
    assert result["errors"] == THREE_JOBS_ERRORS[:1]


def test_speed_belongs_to_the_last_summary_only():
    with open(FIXTURES / "unilog_three_jobs.utf16.log", encoding="utf-16") as handle:
        text = handle.read()
    # Only the first two jobs: the second printed no speed rows, so there is no speed.
    two_jobs = text[: text.index("Monday, January 15, 2024 2:06:23 AM")]
    result = parse_summary(two_jobs)
    assert result["jobs"] == 2
    assert result["bytes"] == row(22548668416, 21474926592, 0, 0, 1073741824, 0)
    assert result["speed_bytes_per_sec"] is None


def test_no_summary_at_all():
    result = parse_summary("\n-------\n  Started : today\n   Source : C:\\a\\\n")
    assert result == {
        "dirs": None,
        "files": None,
        "bytes": None,
        "speed_bytes_per_sec": None,
        "errors": [],
        "jobs": 0,
    }


def test_error_anchor_is_the_hex_code_not_the_word():
    log = (
        "2024-01-15 02:13:44 ERREUR 112 (0x00000070) Copie du fichier D:\\vms\\big.vhdx\n"
        "Espace insuffisant sur le disque.\n"
        "15.01.2024 02:13:45 FEHLER 1450 (0x000005AA) Verzeichnis wird erstellt \\\\srv\\share\\x\\\n"
        "Nicht genügend Systemressourcen.\n"
        "2024/01/15 02:13:46 ERROR 2 (0x00000002) Accessing Source Directory\n"
        "\n"
        "The system cannot find the file specified.\n"
    )
    assert parse_summary(log)["errors"] == [
        {"code": 112, "path": "D:\\vms\\big.vhdx", "reason": "Espace insuffisant sur le disque."},
        {"code": 1450, "path": "\\\\srv\\share\\x\\", "reason": "Nicht genügend Systemressourcen."},
        {"code": 2, "path": None, "reason": "The system cannot find the file specified."},
    ]


def test_summary_rows_tolerate_odd_spacing_and_large_suffixes():
    log = (
        "------------------------------------------------------------------------------\n"
        "\n"
        "               Total    Copied   Skipped  Mismatch    FAILED    Extras\n"
        "    Dirs :        12        10         2         0         0         0\n"
        "   Files :      1234      1200        30         1         3         7\n"
        "   Bytes :   2.001 t   1.5 t   512.0 m         0   1.25 g   10 k\n"
        "   Times :   2:00:00   1:59:00                       0:01:00   0:00:00\n"
    )
    result = parse_summary(log)
    tib, mib = 1024**4, 1024**2
    assert result["dirs"] == row(12, 10, 2, 0, 0, 0)
    assert result["files"] == row(1234, 1200, 30, 1, 3, 7)
    assert result["bytes"] == row(round(2001 * tib / 1000), 3 * tib // 2, 512 * mib, 0, 5 * GIB // 4, 10240)
    assert result["speed_bytes_per_sec"] is None


def test_rejects_bytes():
    with pytest.raises(TypeError, match="decode the log first"):
        parse_summary(b"   Dirs :  1 1 0 0 0 0")
    with pytest.raises(TypeError, match="lines of text"):
        parse_summary([b"   Dirs :  1 1 0 0 0 0"])


def _synthetic_log(jobs: int):
    """Yield a long multi-job log line by line without ever building it."""
    for job in range(jobs):
        yield "------------------------------------------------------------------------------\n"
        yield f"  Started : Monday, January 15, 2024 2:{job % 60:02d}:00 AM\n"
        yield "------------------------------------------------------------------------------\n"
        for n in range(400):
            yield f"\t    New File  \t\t  {n * 1000 + job}\tC:\\mnt\\G1\\VMs\\job{job}\\file{n}.bin\n"
        yield f"2024/01/15 02:06:22 ERROR 5 (0x00000005) Copying File C:\\mnt\\G1\\VMs\\job{job}\\locked.bin\n"
        yield "Access is denied.\n"
        yield "               Total    Copied   Skipped  Mismatch    FAILED    Extras\n"
        yield "    Dirs :         1         1         0         0         0         0\n"
        yield f"   Files :       401       400         0         0         1         {job}\n"
        yield f"   Bytes :  {job + 1000}  {job + 900}         0         0       100         0\n"
        yield "   Times :   0:00:01   0:00:01                       0:00:00   0:00:00\n"
        yield f"   Speed :  {job + 1} Bytes/sec.\n"


def test_streaming_memory_stays_flat():
    jobs = 150  # about 60,000 lines, 5 MB of text
    tracemalloc.start()
    try:
        result = parse_summary(_synthetic_log(jobs))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result["jobs"] == jobs
    assert result["files"] == row(401, 400, 0, 0, 1, jobs - 1)
    assert result["bytes"] == row(jobs - 1 + 1000, jobs - 1 + 900, 0, 0, 100, 0)
    assert result["speed_bytes_per_sec"] == jobs
    assert len(result["errors"]) == jobs
    # Holding the log would take megabytes; the parser keeps only the errors and one summary.
    assert peak < 400_000, peak


def test_speed_rows_with_words_that_do_not_start_with_m():
    summary = (
        "    Dirs :         1         1         0         0         0         0\n"
        "   Files :         1         1         0         0         0         0\n"
        "   Bytes :   18.00 m   18.00 m         0         0         0         0\n"
        "   Times :   0:00:00   0:00:00                       0:00:00   0:00:00\n"
    )
    russian = "Скорость :            30198988 Байт/сек.\nСкорость :            1728,000 МБ/мин.\n"  # noqa: RUF001
    assert parse_summary(summary + russian)["speed_bytes_per_sec"] == 30198988
    # 1728 MB/min = 1728 * 2**20 / 60 = 30198988.8 bytes per second
    mb_only = russian.splitlines()[1]
    assert parse_summary(summary + mb_only)["speed_bytes_per_sec"] == 30198989
    assert parse_summary(summary + "   Speed :   1,234,567 Bytes/sec.\n")["speed_bytes_per_sec"] == 1234567


def test_file_named_like_an_error_is_not_an_error():
    log = "\t    New File  \t\t  1234\tC:\\mnt\\G1\\docs\\report 12 (0x00000001).txt\n\tnext line\n"
    assert parse_summary(log)["errors"] == []
