"""`aisbom verify TARGET --bom BOM.json`: a model against the hashes of its AI-BOM, with or
without the model's signature and the BOM's own; and `aisbom bom --sign-…`, the signed BOM.

Real files throughout: BOMs built by `aisbom bom`, keys and certificates made at test time,
the OpenSSF model_signing package as the second opinion on the BOM's signature."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from _signing_helpers import VECTOR_IDENTITY, VECTOR_ISSUER, KeyPair, Pki, copy_model, flip_byte
from click.testing import CliRunner, Result

from aisbom.cli import cli
from aisbom.signing.keys import key_hint, load_public_key

# Every file of the `model_dir` fixture, as `aisbom bom` lists it (it lists .git files too).
BOM_FILES = [".git/HEAD", ".gitattributes", "config.json", "empty", "tokenizer/vocab.txt", "weights.bin"]


def run(*args: object) -> Result:
    """`aisbom ARGS` in-process, never a traceback."""
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"command raised {result.exception!r}\n{result.output}")
    assert "Traceback" not in result.output
    return result


def build_bom(target: Path, out: Path, *extra: object) -> Result:
    result = run("bom", target, "-o", out, "--reproducible", *extra)
    assert result.exit_code == 0, result.output
    return result


def hint(key: KeyPair) -> str:
    """How `verify` names a key: the start of its OMS key hint."""
    return key_hint(load_public_key(key.public))[:16]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def file_components(doc: dict[str, Any]) -> list[dict[str, Any]]:
    out, stack = [], list(doc["components"])
    while stack:
        component = stack.pop()
        stack += component.get("components", [])
        if component["type"] == "file":
            out.append(component)
    return out


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A model (the `model_dir` files) and its BOM, built once; tests verify copies of it."""
    base = tmp_path_factory.mktemp("released")
    model = base / "model"
    (model / "tokenizer").mkdir(parents=True)
    (model / "weights.bin").write_bytes(bytes(range(256)) * 9000)
    (model / "config.json").write_text('{"hidden": 8}\n')
    (model / "tokenizer" / "vocab.txt").write_text("a\nb\nc\n")
    (model / "empty").write_bytes(b"")
    (model / ".git").mkdir()
    (model / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (model / ".gitattributes").write_text("*.bin filter=lfs\n")
    bom = base / "model.cdx.json"
    build_bom(model, bom)
    return model, bom


@pytest.fixture
def model(released: tuple[Path, Path], tmp_path: Path) -> Path:
    return Path(shutil.copytree(released[0], tmp_path / "model"))


@pytest.fixture
def bom(released: tuple[Path, Path]) -> Path:
    return released[1]


def crafted(bom: Path, tmp_path: Path, change: Any) -> Path:
    """A copy of a real (schema-valid) BOM with its file components changed by `change`."""
    doc = json.loads(bom.read_text())
    change(file_components(doc))
    out = tmp_path / "crafted.cdx.json"
    out.write_text(json.dumps(doc, indent=2))
    return out


# --- the BOM alone ---------------------------------------------------------------------------


def test_a_model_matches_the_bom_built_from_it(model: Path, bom: Path) -> None:
    names = sorted(c["name"] for c in file_components(json.loads(bom.read_text())))
    assert names == BOM_FILES
    result = run("verify", model, "--bom", bom)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Verified: {model}: {len(BOM_FILES)} files match the BOM {bom}\n"


def test_one_modified_byte_is_named_with_both_hashes(model: Path, bom: Path) -> None:
    expected = sha256(model / "weights.bin")
    flip_byte(model / "weights.bin", 1_000_000)
    result = run("verify", model, "--bom", bom)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"FAILED: {model}: 1 modified, 0 missing, 0 extra against the BOM {bom}",
        "  modified  weights.bin",
        f"            expected sha256:{expected}",
        f"            actual   sha256:{sha256(model / 'weights.bin')}",
    ]


def test_added_removed_and_renamed_files_are_named(model: Path, bom: Path) -> None:
    (model / "added.py").write_text("import os\n")
    (model / "config.json").unlink()
    (model / "tokenizer" / "vocab.txt").rename(model / "tokenizer" / "vocab-2.txt")
    result = run("verify", model, "--bom", bom)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"FAILED: {model}: 0 modified, 2 missing, 2 extra against the BOM {bom}",
        "  missing   config.json",
        "  missing   tokenizer/vocab.txt",
        "  extra     added.py",
        "  extra     tokenizer/vocab-2.txt",
    ]


def test_files_under_the_default_exclusions_are_checked_when_the_bom_lists_them(
    model: Path, bom: Path
) -> None:
    (model / ".git" / "HEAD").write_text("ref: refs/heads/evil\n")
    result = run("verify", model, "--bom", bom)
    assert result.exit_code == 1 and "modified  .git/HEAD" in result.stdout


def test_the_bom_and_the_signatures_inside_the_target_are_not_extra(model: Path, key: KeyPair) -> None:
    bom = model / "model.cdx.json"
    build_bom(model, bom, "--sign-key", key.private)  # model.cdx.json.sig too
    assert run("sign", model, "--key", key.private).exit_code == 0  # model/model.sig, after the BOM
    names = {c["name"] for c in file_components(json.loads(bom.read_text()))}
    assert names == set(BOM_FILES)
    for args in (
        ["--bom", bom],
        ["--bom", bom, "--bom-signature", model / "model.cdx.json.sig", "--key", key.public],
        ["--bom", bom, "--signature", model / "model.sig", "--key", key.public],
    ):
        result = run("verify", model, *args)
        assert result.exit_code == 0, result.output
    (model / "stray.json").write_text("{}")
    result = run("verify", model, "--bom", bom)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[1:] == ["  extra     stray.json"]


def test_a_single_file_model(model: Path, tmp_path: Path) -> None:
    target = model / "weights.bin"
    bom = tmp_path / "weights.cdx.json"
    build_bom(target, bom)
    assert run("verify", target, "--bom", bom).exit_code == 0
    flip_byte(target)
    result = run("verify", target, "--bom", bom)
    assert result.exit_code == 1 and "modified  weights.bin" in result.stdout


def test_symlinks_are_refused_unless_allowed(model: Path, tmp_path: Path) -> None:
    (model / "alias.bin").symlink_to("weights.bin")
    bom = tmp_path / "bom.json"
    build_bom(model, bom)
    result = run("verify", model, "--bom", bom)
    assert result.exit_code == 1 and "symlink 'alias.bin'" in result.stdout
    assert run("verify", model, "--bom", bom, "--allow-symlinks").exit_code == 0
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"x")
    (model / "alias.bin").unlink()
    (model / "alias.bin").symlink_to(outside)
    result = run("verify", model, "--bom", bom, "--allow-symlinks")
    assert result.exit_code == 1 and "points outside the target" in result.stdout


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda fs: fs[0].update(name="../x"), "file component '../x' contains '..'"),
        (lambda fs: fs[0].update(name="tokenizer/../../x"), "contains '..'"),
        (lambda fs: fs[0].update(name="/etc/passwd"), "file component '/etc/passwd' is absolute"),
        (lambda fs: fs[0].update(name="C:\\model\\x.bin"), "is absolute"),
        (lambda fs: fs[0].update(name="./config.json"), "is not a normalized relative path"),
        (lambda fs: fs[0].update(name=fs[1]["name"]), "is listed twice"),
        (lambda fs: fs[0].pop("hashes"), "has no SHA-256 hash: it cannot be verified"),
        (
            lambda fs: fs[0]["hashes"].append({"alg": "SHA-256", "content": "0" * 64}),
            "different SHA-256 hashes",
        ),
        (lambda fs: fs[0]["hashes"][0].update(content="ab" * 64), "malformed SHA-256 hash"),
    ],
)
def test_an_unusable_bom_is_exit_2_with_a_clear_line(
    model: Path, bom: Path, tmp_path: Path, change: Any, message: str
) -> None:
    crafted_bom = crafted(bom, tmp_path, change)
    result = run("verify", model, "--bom", crafted_bom)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.startswith(f"aisbom: error: {crafted_bom}: ")
    assert message in result.stderr and len(result.stderr.splitlines()) == 1


def test_a_bom_without_file_components_is_exit_2(model: Path, bom: Path, tmp_path: Path) -> None:
    doc = json.loads(bom.read_text())
    for component in doc["components"]:
        component.pop("components", None)
    empty = tmp_path / "empty.cdx.json"
    empty.write_text(json.dumps(doc))
    result = run("verify", model, "--bom", empty)
    assert result.exit_code == 2 and "lists no file components" in result.stderr


def test_a_file_that_is_not_a_valid_bom_is_exit_2(model: Path, tmp_path: Path) -> None:
    for name, text, message in [
        ("missing.json", None, "no such file"),
        ("notjson.json", "{", "not JSON"),
        ("other.json", '{"bomFormat": "SPDX"}', "not a CycloneDX BOM"),
        ("invalid.json", '{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": 3}', "not a valid"),
    ]:
        path = tmp_path / name
        if text is not None:
            path.write_text(text)
        result = run("verify", model, "--bom", path)
        assert result.exit_code == 2 and message in result.stderr, (name, result.output)


# --- the BOM and the model's signature ---------------------------------------------------------


def test_signature_and_bom_must_both_pass(model: Path, bom: Path, key: KeyPair, tmp_path: Path) -> None:
    sig = tmp_path / "model.sig"
    assert run("sign", model, "--signature", sig, "--key", key.private).exit_code == 0
    args = ["--signature", sig, "--key", key.public, "--bom", bom]
    result = run("verify", model, *args)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"Verified: {model}: 4 files match the signature by public key {hint(key)}",
        f"Verified: {model}: 6 files match the BOM {bom}",
    ]
    flip_byte(model / "config.json")
    result = run("verify", model, *args)
    assert result.exit_code == 1
    assert result.stdout.count("modified  config.json") == 2
    assert "signature by public key" in result.stdout and "against the BOM" in result.stdout


def test_an_invalid_bom_is_told_before_the_signature_checked_meanwhile(
    model: Path, keys: dict[str, KeyPair], tmp_path: Path
) -> None:
    """The model's signature is checked while a child process checks the BOM's schema: an
    invalid BOM is still the one verdict, and nothing of the signature is told."""
    sig = tmp_path / "model.sig"
    assert run("sign", model, "--signature", sig, "--key", keys["other"].private).exit_code == 0
    invalid = tmp_path / "invalid.cdx.json"
    invalid.write_text('{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": 3}')
    for key in (keys["other"], keys["p256"]):  # the signature valid, then by another key
        result = run("verify", model, "--signature", sig, "--key", key.public, "--bom", invalid)
        assert result.exit_code == 2, result.output
        assert result.stdout == ""
        assert result.stderr == (
            f"aisbom: error: {invalid}: not a valid CycloneDX 1.6 BOM: schema: at /components: "
            '3 is not of type "array"\n'
        )


def test_a_bom_match_does_not_excuse_a_bad_signature(
    model: Path, bom: Path, keys: dict[str, KeyPair], tmp_path: Path
) -> None:
    sig = tmp_path / "model.sig"
    assert run("sign", model, "--signature", sig, "--key", keys["other"].private).exit_code == 0
    result = run("verify", model, "--signature", sig, "--key", keys["p256"].public, "--bom", bom)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"FAILED: {model}: signed by another key")
    assert lines[1] == f"Verified: {model}: 6 files match the BOM {bom}"


def test_a_signature_match_does_not_excuse_a_bom_mismatch(
    model: Path, bom: Path, key: KeyPair, tmp_path: Path
) -> None:
    (model / "config.json").write_text('{"hidden": 9}\n')  # then signed: the signature matches
    sig = tmp_path / "model.sig"
    assert run("sign", model, "--signature", sig, "--key", key.private).exit_code == 0
    result = run("verify", model, "--signature", sig, "--key", key.public, "--bom", bom)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"Verified: {model}: 4 files match the signature")
    assert lines[1] == f"FAILED: {model}: 1 modified, 0 missing, 0 extra against the BOM {bom}"


# --- the signed BOM ----------------------------------------------------------------------------


def test_bom_sign_key_writes_a_signature_that_verifies(
    model: Path, key: KeyPair, keys: dict[str, KeyPair], tmp_path: Path
) -> None:
    bom = tmp_path / "model.cdx.json"
    result = build_bom(model, bom, "--sign-key", key.private)
    sig = tmp_path / "model.cdx.json.sig"
    assert f"aisbom: signed {bom}: {sig}" in result.stderr
    args = ["--bom", bom, "--bom-signature", sig]
    result = run("verify", model, *args, "--key", key.public)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"Verified: BOM {bom}: signed by public key {hint(key)}",
        f"Verified: {model}: 6 files match the BOM {bom}",
    ]

    result = run("verify", model, *args, "--key", keys["other"].public)
    assert result.exit_code == 1
    assert result.stdout.startswith(
        f"FAILED: BOM {bom}: its signature {sig} does not verify: signed by another"
    )

    # One byte of the BOM (the first digit of a file's hash): its signature fails, the BOM is unused.
    digest = sha256(model / "config.json").encode()
    forged = digest[:1].replace(b"0", b"1") if digest[:1] == b"0" else b"0"
    bom.write_bytes(bom.read_bytes().replace(digest, forged + digest[1:]))
    result = run("verify", model, *args, "--key", key.public)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"FAILED: BOM {bom}: signature by public key") and "differs" in lines[0]
    assert lines[1] == f"  modified  {bom.name}" and len(lines) == 4  # nothing about the model


def test_a_renamed_signed_bom_still_verifies(model: Path, key: KeyPair, tmp_path: Path) -> None:
    bom = tmp_path / "model.cdx.json"
    build_bom(model, bom, "--sign-key", key.private, "--bom-signature", tmp_path / "bom.sig")
    renamed = Path(shutil.move(bom, tmp_path / "downloaded.json"))
    result = run(
        "verify", model, "--bom", renamed, "--bom-signature", tmp_path / "bom.sig", "--key", key.public
    )
    assert result.exit_code == 0, result.output


def test_model_signing_verifies_the_bom_signature(model: Path, key: KeyPair, tmp_path: Path) -> None:
    try:
        import model_signing
    except ImportError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"model_signing is not importable: {exc}")
        pytest.skip(f"model_signing is not importable: {exc}")
    bom = tmp_path / "model.cdx.json"
    build_bom(model, bom, "--sign-key", key.private)
    sig = tmp_path / "model.cdx.json.sig"
    verifier = model_signing.verifying.Config().use_elliptic_key_verifier(public_key=key.public)
    verifier.verify(bom, sig)
    flip_byte(bom, 10)
    with pytest.raises(ValueError):
        verifier.verify(bom, sig)


def test_bom_signed_with_a_certificate_chain(model: Path, pki: Pki, tmp_path: Path) -> None:
    bom = tmp_path / "model.cdx.json"
    build_bom(
        model, bom,
        "--sign-certificate", pki.leaf, "--sign-chain", pki.intermediate, "--sign-key", pki.leaf_key,
    )  # fmt: skip
    args = ["--bom", bom, "--bom-signature", tmp_path / "model.cdx.json.sig"]
    result = run("verify", model, *args, "--certificate-chain", pki.root)
    assert result.exit_code == 0, result.output
    assert "signed by" in result.stdout and "model-signer" in result.stdout
    assert run("verify", model, *args, "--certificate-chain", pki.other_root).exit_code == 1


def test_plain_sign_of_a_bom_file_still_works(model: Path, bom: Path, key: KeyPair, tmp_path: Path) -> None:
    copy = Path(shutil.copy(bom, tmp_path / "model.cdx.json"))
    result = run("sign", copy, "--key", key.private)  # OMS v1.0 naming: the file's name
    assert result.exit_code == 0, result.output
    sig = tmp_path / "model.cdx.json.sig"
    payload = json.loads(base64.b64decode(json.loads(sig.read_text())["dsseEnvelope"]["payload"]))
    assert [r["name"] for r in payload["predicate"]["resources"]] == ["model.cdx.json"]
    result = run("verify", model, "--bom", copy, "--bom-signature", sig, "--key", key.public)
    assert result.exit_code == 0, result.output
    assert run("verify", copy, "--key", key.public).exit_code == 0  # and as any signed file


def test_bom_signing_options_are_checked_before_anything_is_written(
    model: Path, key: KeyPair, pki: Pki, tmp_path: Path
) -> None:
    bom = tmp_path / "model.cdx.json"
    for args, message in [
        (
            ["--sign-chain", pki.intermediate, "--sign-key", key.private],
            "--sign-chain needs --sign-certificate",
        ),
        (["--sign-certificate", pki.leaf], "choose a signing method"),
        (["--sign-sigstore", "--sign-key", key.private], "--sign-sigstore cannot be combined"),
        (["--identity-token", "t", "--sign-key", key.private], "need --sign-sigstore"),
        (["--bom-signature", tmp_path / "x.sig"], "--bom-signature needs a signing method"),
    ]:
        result = run("bom", model, "-o", bom, *args)
        assert result.exit_code == 2 and message in result.output, (args, result.output)
    result = run("bom", model, "--sign-key", key.private)
    assert result.exit_code == 2 and "signing the BOM needs -o FILE" in result.output
    result = run("bom", model, "-o", bom, "--sign-key", key.public)  # a public key cannot sign
    assert result.exit_code == 2 and "not a PEM private key" in result.stderr
    assert not bom.exists() and not (tmp_path / "model.cdx.json.sig").exists()


def test_verify_options_with_a_bom(model: Path, bom: Path, key: KeyPair) -> None:
    for args, message in [
        (["--bom", bom, "--key", key.public], "add --signature (the model's) and/or --bom-signature"),
        (["--bom-signature", bom, "--key", key.public], "--bom-signature needs --bom"),
        (["--bom", bom, "--bom-signature", bom], "need a verification method"),
        (["--key", key.public, "--allow-symlinks"], "--allow-symlinks applies to --bom"),
    ]:
        result = run("verify", model, *args)
        assert result.exit_code == 2 and message in result.output, (args, result.output)


def test_known_digests_are_not_computed_again(model: Path, bom: Path) -> None:
    from aisbom.bom.diff import load_bom
    from aisbom.bom.verify import file_hashes
    from aisbom.signing.api import verify_hashes

    expected = file_hashes(load_bom(bom), source=str(bom))
    # A (wrong) known digest is taken as computed: proof that the file was not read again.
    known = {"weights.bin": "0" * 64}
    diff = verify_hashes(model, expected, known=known)
    assert [m.name for m in diff.modified] == ["weights.bin"]
    assert verify_hashes(model, expected).ok


def test_keyless_signature_and_bom_offline(vectors: Path, tmp_path: Path) -> None:
    """A real keyless signature by model_signing v1.1.0, and the BOM of the same model."""
    source = vectors / "v1.1.0-sigstore"
    model = copy_model(source, tmp_path / "model", skip=("model.sig",))
    bom = tmp_path / "model.cdx.json"
    build_bom(model, bom)
    args = ["--signature", source / "model.sig", "--identity", VECTOR_IDENTITY, "--issuer", VECTOR_ISSUER]
    args.append("--offline")
    result = run("verify", model, *args, "--bom", bom)
    assert result.exit_code == 0, result.output
    assert "match the signature by" in result.stdout and "match the BOM" in result.stdout
    flip_byte(model / "signme-1")
    result = run("verify", model, *args, "--bom", bom)
    assert result.exit_code == 1 and result.stdout.count("modified  signme-1") == 2


def test_keyless_bom_signing_without_a_token_writes_the_bom_and_says_so(
    model: Path, tmp_path: Path, no_ambient: pytest.MonkeyPatch
) -> None:
    bom = tmp_path / "model.cdx.json"
    result = run("bom", model, "-o", bom, "--sign-sigstore")
    assert result.exit_code == 2
    assert f"aisbom: error: {bom} was written but not signed: no identity token" in result.stderr
    assert bom.exists() and not (tmp_path / "model.cdx.json.sig").exists()
