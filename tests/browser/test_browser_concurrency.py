"""Eight browser sessions at once on one app server: each sees only its own results, none sees an error.

One ``streamlit run app.py`` on 127.0.0.1 (its own fresh result cache) and one Debian Chromium
with eight browser contexts, driven concurrently from one asyncio loop (``concurrency_tools``):

* sessions 1-6 open Explore for utr5 on their own 50-nt sequence (``/?predictor=utr5&...&seq=...``),
  check that the prediction shown is the predictor's on that sequence (the six predictions differ
  by at least 0.005, more than the page's rounding), then move the bits slider four times with the
  keyboard, each step timed from the key press to the updated page;
* sessions 7 and 8 upload their own Keras model, FASTA and scrambler on Your model, then open Explore
  on that model; each must see its own model, never the other one's;
* at the end every session reads the sidebar's predictor list: only the uploading session lists its model.

Every page is checked after each step like ``test_browser.assert_clean``. Skipped like the other browser
tests when chromium is missing. Timeouts are bounded (all sessions together: SESSIONS_TIMEOUT); no
wall-clock value is asserted: the slider latencies (p50/p95) are printed and written with the per-session
figures to ``tests/artifacts/concurrency.json`` (``bench/concurrent_sessions.py`` compares them with a
single session).
"""
import asyncio
import json
import os
import time

import pytest

from concurrency_tools import AppServer, build_upload, distinct_sequences, p50_p95, run_sessions
from test_browser import ARTIFACTS, chromium_path  # noqa: F401  (the fixture that skips without chromium)

EXPLORE_SESSIONS = 6
UPLOAD_LABELS = ("s7", "s8")
PRESSES = 4
SESSIONS_TIMEOUT = 270  # s for all eight sessions together: the whole test stays under 6 minutes
SCREENSHOTS = (1, 7)    # one explore and one upload session


@pytest.fixture(scope="module")
def concurrency_server(chromium_path, utr5_scrambler_file, tmp_path_factory):  # noqa: F811
    """One app server on 127.0.0.1 with an empty result cache (every explanation is computed)."""
    server = AppServer(tmp_path_factory.mktemp("concurrency_cache"))
    try:
        try:
            server.wait_healthy()
        except RuntimeError as err:
            pytest.fail(str(err))
        yield server
    finally:
        server.stop()


def _shown(value: str) -> float:
    return float(value.replace("−", "-"))


def test_eight_sessions_see_only_their_own_results(concurrency_server, tmp_path):
    import scrambler_core as sc

    server = concurrency_server
    predictor = sc.load_predictor("utr5")
    sequences = distinct_sequences(predictor, EXPLORE_SESSIONS, seed=2024)
    expected = {s: float(v) for s, v in zip(sequences, predictor.predict(sequences))}
    uploads = [build_upload(tmp_path, label, seed=int(label[1:])) for label in UPLOAD_LABELS]

    try:
        sessions = asyncio.run(asyncio.wait_for(
            run_sessions(server.url, sequences, uploads, PRESSES, screenshots=SCREENSHOTS, timeout=SESSIONS_TIMEOUT),
            SESSIONS_TIMEOUT + 60))
    except (RuntimeError, TimeoutError, asyncio.TimeoutError) as err:
        pytest.fail(f"{err}\nserver output:\n{server.output(3000)}")

    # the figures first (written even when an assertion below fails)
    latencies = [ms for s in sessions for ms in s.latencies_ms]
    p50, p95 = p50_p95(latencies)
    report = {"explore_sessions": EXPLORE_SESSIONS, "upload_sessions": len(uploads), "presses": PRESSES,
              "slider_ms_p50": p50, "slider_ms_p95": p95, "n_presses": len(latencies),
              "seconds_since_server_launch": round(time.monotonic() - server.launched, 1),
              "cpus": os.cpu_count(), "sessions": [s.summary() for s in sessions]}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "concurrency.json").write_text(json.dumps(report, indent=1))
    print(f"\nslider latency with {len(sessions)} sessions at once: p50 {p50:.0f} ms, p95 {p95:.0f} ms "
          f"({len(latencies)} presses)")

    output = server.output(20_000)
    assert "Traceback" not in output and "unexpected error" not in output, output
    for s in sessions:
        assert not s.problems, (s.name, s.problems)
        others = [u for u in uploads if u.label != s.name]   # upload session s7 is sN with N = 7
        for step, text in s.texts:           # no page of this session names another session's upload
            for other in others:
                for name in (other.model_name, other.fasta_file, other.scrambler_file):
                    assert name not in text, (s.name, step, name)

    for s, sequence in zip(sessions[:EXPLORE_SESSIONS], sequences):
        assert s.kind == "explore"
        assert len(s.latencies_ms) == PRESSES, s.summary()
        assert s.info["bits_after"] == f"{0.5 + 0.05 * PRESSES:g}", s.summary()
        for seen in s.info["seen"]:          # its own sequence, link and prediction, before and after the slider
            assert seen["sequence_box"] == sequence, (s.name, seen)
            assert seen["link_seq"] == sequence and seen["link_predictor"] == "utr5", (s.name, seen)
            assert _shown(seen["prediction"]) == pytest.approx(expected[sequence], abs=6e-4), (s.name, seen)
        assert "utr5" in s.info["predictor_options"], s.info["predictor_options"]
        assert not [o for o in s.info["predictor_options"] if "(yours)" in o], (s.name, s.info["predictor_options"])

    for s, upload in zip(sessions[EXPLORE_SESSIONS:], uploads):
        assert s.kind == "upload" and s.name == upload.label
        texts = dict(s.texts)
        assert upload.model_file in texts["model uploaded"], texts["model uploaded"][:2000]
        assert upload.fasta_file in texts["sequences uploaded"], texts["sequences uploaded"][:2000]
        assert upload.listed_name in texts["scrambler uploaded"], texts["scrambler uploaded"][:2000]
        (seen,) = s.info["seen"]             # Explore on the uploaded model: its own model and sequences
        assert seen["link_predictor"] == upload.listed_name, seen
        assert seen["sequence_box"] in upload.sequences, seen
        own = float(upload.predictor.predict([seen["sequence_box"]])[0])
        assert _shown(seen["prediction"]) == pytest.approx(own, abs=6e-4), (s.name, seen, own)
        assert f"uploaded {upload.model_file}" in texts["Explore on the uploaded model"]
        listed = [o for o in s.info["predictor_options"] if "(yours)" in o]
        assert listed == [upload.listed_name], (s.name, s.info["predictor_options"])

    for k in SCREENSHOTS:
        path = ARTIFACTS / f"concurrency_s{k}.png"
        assert path.stat().st_size > 10_000, path
