"""Names reach the terminal escaped: file names, archive members and pickle globals written by an
attacker cannot move the cursor, erase a line, add report lines or restyle the output. Each test
makes such a name on disk and runs the real command; JSON output stays exact."""

from __future__ import annotations

import json
import pickletools  # noqa: F401  (documents the opcodes written below)
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from aisbom.cli import cli
from aisbom.terminal_text import shown, shown_lines

ERASE_AND_FORGE = "\x1b[1A\x1b[2K\rVerified: model: 5 files match the signature by you\n"
CONTROL = [chr(c) for c in range(32)] + ["\x7f", "\x9b"]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def assert_visible(text: str) -> None:
    """No control character but the line breaks the command itself writes."""
    assert not [c for c in text if c in CONTROL and c != "\n"], repr(text)


def test_shown_makes_every_control_character_visible() -> None:
    assert shown("model.safetensors") == "model.safetensors"
    assert shown("a\nb\tc\rd\x1b[2Ke\x7f\x9b") == "a\\nb\\tc\\rd\\x1b[2Ke\\x7f\\x9b"
    assert shown("evil\u202etxt.exe") == "evil\\u202etxt.exe"  # right-to-left override
    assert shown("zero\u200bwidth") == "zero\\u200bwidth"
    assert shown("caf\udce9") == "caf\\xe9"  # a byte that was not UTF-8 in a file name
    assert shown("[bold red]x[/]") == "[bold red]x[/]"  # plain text: no markup is made or read
    assert shown_lines("one\x1b\ntwo") == "one\\x1b\ntwo"


@pytest.fixture
def signed(tmp_path: Path) -> tuple[Path, Path]:
    sys.path.insert(0, str(Path(__file__).parent / "signing"))
    from _signing_helpers import write_key

    key = write_key(tmp_path, "k")
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text('{"a": 1}\n')
    (model / "weights.bin").write_bytes(bytes(range(256)) * 4)
    code, out, err = run("sign", str(model), "--key", str(key.private))
    assert code == 0, err
    return model, key.public


def test_a_file_name_with_cursor_codes_cannot_erase_failed_or_forge_verified(
    signed: tuple[Path, Path],
) -> None:
    model, public = signed
    (model / ERASE_AND_FORGE).write_bytes(b"planted")

    code, out, err = run("verify", str(model), "--key", str(public))

    assert code == 1
    assert_visible(out + err)
    assert out.splitlines()[0].startswith("FAILED: ")
    assert not any(line.startswith("Verified:") for line in out.splitlines())
    assert "  extra     \\x1b[1A\\x1b[2K\\rVerified: model: 5 files match the signature by you\\n" in out


def test_a_newline_in_a_name_adds_no_line_to_the_scan_report(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "ok.json").write_text("{}\n")
    (model / "x\n  ok     fake.bin  [pickle, 1 B]").write_text("{}\n")
    (model / "\x1b[32mgreen").write_text("{}\n")

    code, out, _err = run("scan", str(model))

    assert code == 0
    assert_visible(out)
    file_lines = [line for line in out.splitlines() if line.startswith("  ")]
    assert len(file_lines) == 3 and "fake.bin" in file_lines[2] and "x\\n" in file_lines[2]
    # JSON is data: the names are exact there.
    _code, doc, _ = run("scan", str(model), "--format", "json")
    names = {f["path"] for f in json.loads(doc)["files"]}
    assert "x\n  ok     fake.bin  [pickle, 1 B]" in names and "\x1b[32mgreen" in names


def test_a_pickle_global_with_escape_codes_is_shown_escaped(tmp_path: Path) -> None:
    # GLOBAL 'os\x1b[2K system' ; EMPTY_TUPLE ; REDUCE ; STOP: the module name carries ESC.
    payload = b"\x80\x02cos\x1b[2K\nsystem\n)R."
    path = tmp_path / "evil.pkl"
    path.write_bytes(payload)

    code, out, _err = run("scan", str(path))

    assert code == 1
    assert_visible(out)
    assert "os\\x1b[2K" in out


def test_names_in_the_project_commands_are_escaped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "p"
    (root / "prompts").mkdir(parents=True)
    monkeypatch.chdir(root)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1735689600")
    (root / "prompts" / "system.txt").write_text("Be kind.\n")
    assert run("add", "prompt", "prompts")[0] == 0
    (root / "prompts" / "evil\x1b[2K\nadded    prompt  forged").write_text("x\n")

    code, out, err = run("status")
    assert code == 1
    assert_visible(out + err)
    assert "new      evil\\x1b[2K\\nadded    prompt  forged" in out
    code, out, err = run("audit")
    assert_visible(out + err)
    assert len(out.splitlines()) == 2  # added, new: one line each
