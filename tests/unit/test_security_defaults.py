"""Security defaults (issue 9): Streamlit settings, no file paths from the UI, no network at run time."""
from __future__ import annotations

import socket
import tomllib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from scrambler_core import user_models

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")


def test_streamlit_config_defaults():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    server = config["server"]
    assert server["enableXsrfProtection"] is True
    assert server.get("enableCORS", True) is True                     # CORS protection not switched off
    assert server["maxUploadSize"] * 1024 * 1024 == user_models.MAX_MODEL_BYTES == user_models.MAX_SEQUENCE_BYTES
    assert config["browser"]["gatherUsageStats"] is False              # no telemetry calls
    assert config["client"]["showErrorDetails"] == "none"              # no tracebacks in the browser
    assert config["client"]["toolbarMode"] == "viewer"


@pytest.mark.parametrize("value", ["/etc/passwd", "../pretrained/utr5.keras", str(ROOT / "pretrained" / "utr5.keras"),
                                   "pretrained/polya.keras", "file:///etc/hosts"])
def test_a_link_cannot_name_a_file(value, utr5_scrambler_file, monkeypatch):
    """`?predictor=` only selects a listed predictor; a path is refused and never opened."""
    opened = []
    from scrambler_core.predictors import builtin, registry
    original = registry.load_keras_model

    def spy(path):
        opened.append(str(path))
        return original(path)

    for module in (registry, builtin):          # where load_predictor and the built-ins look it up
        monkeypatch.setattr(module, "load_keras_model", spy)
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["predictor"] = value
    at.run()
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert f"asks for predictor {value!r}, which is not available" in warnings
    assert not [p for p in opened if value in p or p.endswith("passwd") or p.endswith("hosts")]


def test_no_network_at_run_time(utr5_scrambler_file, monkeypatch, tmp_path):
    """Pages, scramblers and a batch run open no connection except on loopback."""
    attempts = []
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else str(address)
        if self.family in (socket.AF_INET, socket.AF_INET6) and host not in ("127.0.0.1", "::1", "localhost"):
            attempts.append(address)
            raise OSError(f"network access refused in tests: {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    for page in ("explore", "variant", "compare"):
        at = AppTest.from_file(str(ROOT / "pages" / f"{page}.py"), default_timeout=180)
        at.session_state["app.predictor"] = "utr5"
        at.run()
        assert not at.exception, page
    from scrambler_core import examples
    from scrambler_core.batch import run_batch
    example = examples.batch_example("utr5")
    (tmp_path / "ref.fa").write_text(example.fasta)
    (tmp_path / "v.vcf").write_text(example.vcf)
    run_batch(tmp_path / "v.vcf", tmp_path / "out.parquet", "utr5", fasta=tmp_path / "ref.fa", progress=False,
              anchor=example.anchor)
    assert attempts == []
