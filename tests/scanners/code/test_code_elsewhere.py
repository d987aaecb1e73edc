"""Code of other repositories (auto_map `org/repo--module.Class`): an hf:// model resolved offline
from a Hugging Face cache laid out in tmp_path; the other repository's code is looked up in the
same cache, scanned the same way, and restated on config.json with the commit it was scanned at;
a repository the cache does not hold is a finding and makes the scan incomplete."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from aisbom.bom.build import BomOptions, build_bom
from aisbom.limits import Limits
from aisbom.pipeline import ScanReport, scan_resolved
from aisbom.severity import ExitCode
from aisbom.sources import resolve

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "fixtures" / "model_code"
MODEL, MODEL_COMMIT = "aisbom-fixtures/tiny-remote", "1" * 40
OTHER, OTHER_COMMIT = "aisbom-fixtures/shared-code", "2" * 40  # the repository the fixture names


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def _cache(cache: Path, repo_id: str, commit: str, files: dict[str, bytes]) -> None:
    """A repository as huggingface_hub keeps it: refs/main, blobs by ETag, snapshot links."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    (repo / "blobs").mkdir()
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for name, body in files.items():
        etag = hashlib.sha256(body).hexdigest()
        (repo / "blobs" / etag).write_bytes(body)
        (snapshot / name).symlink_to(f"../../blobs/{etag}")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The model (the cross-repository fixture) in an offline cache; no network allowed."""
    import socket

    hub = tmp_path / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def refuse(self: socket.socket, address: object) -> None:
        raise OSError(f"network use in an offline test: {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    _cache(hub, MODEL, MODEL_COMMIT, _files(FIXTURES / "malicious" / "cross-repo-auto-map"))
    return hub


def _scan(limits: Limits | None = None) -> ScanReport:
    return scan_resolved(resolve(f"hf://{MODEL}"), limits=limits)


def _rules(report: ScanReport) -> list[tuple[str, str, str]]:
    return sorted((f.path, f.rule, f.severity.label) for f in report.findings)


def test_the_other_repositorys_cached_code_is_scanned_and_restated_on_config_json(cache: Path):
    other = _files(FIXTURES / "malicious" / "cross-repo-auto-map.other-repo")
    _cache(cache, OTHER, OTHER_COMMIT, other)
    report = _scan()
    assert _rules(report) == [
        ("config.json", "code-dangerous-call", "critical"),  # os.system at import, in the other repo
        ("config.json", "model-code-elsewhere", "high"),
        ("config.json", "model-code-elsewhere-scanned", "info"),
        ("config.json", "model-ships-code", "medium"),
    ]
    [call] = [f for f in report.findings if f.rule == "code-dangerous-call"]
    found = dict(call.evidence)
    assert (found["repository"], found["revision"], found["file"], found["call"], found["when"]) == (
        OTHER,
        OTHER_COMMIT,
        "modeling_tiny.py",
        "os.system",
        "import",
    )
    assert call.message.startswith(f"{OTHER}@{OTHER_COMMIT}/modeling_tiny.py: line {found['line']}:")
    [edge] = [f for f in report.findings if f.rule == "model-code-elsewhere-scanned"]
    digests = {name: hashlib.sha256(body).hexdigest() for name, body in other.items()}
    assert dict(edge.evidence)["files"] == ", ".join(f"{n} sha256:{d}" for n, d in sorted(digests.items()))
    assert not report.incomplete and report.exit_code is ExitCode.UNSAFE
    assert [f.path for f in report.files] == sorted(_files(FIXTURES / "malicious" / "cross-repo-auto-map"))


def test_benign_code_elsewhere_is_the_edge_and_the_high_reference_only(cache: Path):
    benign = _files(FIXTURES / "benign" / "hf-custom-architecture")
    _cache(cache, OTHER, OTHER_COMMIT, {n: b for n, b in benign.items() if n.endswith(".py")})
    report = _scan()
    assert _rules(report) == [
        ("config.json", "model-code-elsewhere", "high"),  # unpinned: main may move past the commit
        ("config.json", "model-code-elsewhere-scanned", "info"),
        ("config.json", "model-ships-code", "medium"),
    ]
    target = report.target
    doc = build_bom(report, Path(target), BomOptions(reproducible=True)).doc
    [model] = [c for c in doc["components"] if c["type"] == "machine-learning-model"]
    props = [(p["name"], p["value"]) for p in model["properties"]]
    assert ("aisbom:code_from_repository", OTHER) in props
    assert ("aisbom:code_from_commit", f"{OTHER}@{OTHER_COMMIT}") in props


def test_a_repository_the_cache_does_not_hold_could_not_be_checked(cache: Path):
    report = _scan()
    [unchecked] = [f for f in report.findings if f.rule == "model-code-elsewhere-unchecked"]
    assert (unchecked.path, unchecked.severity.label) == ("config.json", "high")
    assert dict(unchecked.evidence)["repository"] == OTHER
    assert "does not hold it at refs/main" in unchecked.message
    assert report.incomplete and report.exit_code is ExitCode.UNSAFE


def test_a_cached_commit_without_the_module_could_not_be_checked(cache: Path):
    _cache(cache, OTHER, OTHER_COMMIT, {"README.md": b"# no code\n"})
    [unchecked] = [f for f in _scan().findings if f.rule == "model-code-elsewhere-unchecked"]
    assert f"its cached commit {OTHER_COMMIT} has no modeling_tiny.py" in unchecked.message


def test_the_limit_on_other_repositories(cache: Path):
    _cache(cache, OTHER, OTHER_COMMIT, _files(FIXTURES / "malicious" / "cross-repo-auto-map.other-repo"))
    report = _scan(Limits(max_code_repositories=0))
    assert [f.rule for f in report.findings if f.rule.startswith("model-code-elsewhere-")] == [
        "model-code-elsewhere-unchecked"
    ]
    assert any("over the limit of 0 other repositories" in f.message for f in report.findings)
    assert report.incomplete
