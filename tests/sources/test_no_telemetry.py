"""aisbom sends no telemetry, and turns the Hugging Face client's off: huggingface_hub 2 would
add torch's version and a guess at the AI agent running it to every user-agent, and fetch
`{endpoint}/api/agent-harnesses` to make that guess. Checked against the fake Hub on loopback,
which records every request and its user-agent."""

from __future__ import annotations

import os
import subprocess
import sys

import huggingface_hub.constants as hub_constants
import pytest
from _servers import Hub
from huggingface_hub.utils import _detect_agent, build_hf_headers

from aisbom.sources import resolve


def test_hf_source_sends_no_telemetry_even_if_the_client_was_imported_with_it_on(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
):
    # As for a program that imported transformers (and so huggingface_hub) before aisbom, with
    # telemetry on, run by an AI agent; the client's own endpoint is the fake Hub too.
    monkeypatch.delenv("HF_HUB_DISABLE_TELEMETRY", raising=False)
    monkeypatch.setenv("AI_AGENT", "claude-code")
    monkeypatch.setattr(hub_constants, "HF_HUB_DISABLE_TELEMETRY", False)
    endpoint = os.environ["HF_ENDPOINT"]  # as if HF_ENDPOINT had been set before the import
    monkeypatch.setattr(hub_constants, "ENDPOINT", endpoint)
    monkeypatch.setattr(
        hub_constants, "HUGGINGFACE_CO_URL_TEMPLATE", endpoint + "/{repo_id}/resolve/{revision}/{filename}"
    )
    monkeypatch.setattr(_detect_agent, "_registry", None)
    # The scenario is live: the client left alone sends torch's version and asks for the agents.
    assert "torch/" in build_hf_headers()["user-agent"]
    assert ("GET", "/api/agent-harnesses") in hub.log
    hub.log.clear()
    hub.user_agents.clear()
    monkeypatch.setattr(_detect_agent, "_registry", None)

    resolve("hf://acme/tiny@main")

    assert hub.log and all("agent-harnesses" not in path for _, path in hub.log)
    assert hub.user_agents and not [ua for ua in hub.user_agents if "torch/" in ua or "agent/" in ua]
    assert hub_constants.HF_HUB_DISABLE_TELEMETRY is True


def test_telemetry_is_off_before_the_client_is_imported():
    """In a fresh process, importing aisbom's hf source sets the variable the client reads once,
    on import."""
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_DISABLE_TELEMETRY", "DO_NOT_TRACK")}
    code = (
        "import sys\n"
        "import aisbom.sources.hf\n"
        "assert 'huggingface_hub' not in sys.modules\n"
        "import huggingface_hub.constants as c\n"
        "print(c.HF_HUB_DISABLE_TELEMETRY)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "True", result.stderr
