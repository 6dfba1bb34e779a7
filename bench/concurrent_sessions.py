"""Slider latency of the Explore page with several browser sessions at once, against one session alone.

The scenario of ``tests/browser/test_browser_concurrency.py`` (its helpers live in ``tests/concurrency_tools.py``):
one ``streamlit run app.py`` on 127.0.0.1 with a fresh result cache, one Debian Chromium driven with
Playwright's async API, one browser context (one Streamlit session) per simulated user.

1. **single**: explore sessions run one after the other, each alone on the server: open Explore for
   utr5 on its own 50-nt sequence, then press ArrowRight ``--presses`` times on the bits slider
   (0.55, 0.60, ...: every value a cache miss). The first of them also warms the server (model loading,
   graph tracing); its first page is not part of the slider figures.
2. **loaded**: ``--sessions`` sessions at once: ``--sessions`` − ``--uploads`` explore sessions on other
   sequences (so again cache misses) press the slider the same way while ``--uploads`` sessions upload
   a Keras model, a FASTA and a scrambler on Your model and open Explore on it. All sessions load their
   first page, wait for each other, then press / upload at the same time.

Each press is timed with the page's clock from the key press to the updated page (script run over,
the link carries the new bits, the logo's data changed: the criteria of ``bench/browser_latency.py``);
"script run" is the server's share of it (first script run starting to the last one ending).
Prints a per-session table, then p50/p95 single vs loaded and their ratio. Every page is checked for
errors and every explore session for its own prediction; findings are printed, not hidden.

Usage::

    .venv/bin/python bench/concurrent_sessions.py                       # 8 sessions (2 uploads), 4 presses
    .venv/bin/python bench/concurrent_sessions.py --sessions 4 --presses 6 --uploads 0
    .venv/bin/python bench/concurrent_sessions.py --json artifacts/concurrent_sessions.json

Wall-clock numbers depend on the machine and on what else runs on it (Chromium's renderers share the
CPUs with the server). Needs /usr/bin/chromium, the pretrained utr5 predictor and inclusion scrambler
in ``pretrained/``, and no network.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "browser")]   # concurrency_tools needs test_browser

from concurrency_tools import (AppServer, BITS_START, BITS_STEP, CHROMIUM, build_upload,  # noqa: E402
                               distinct_sequences, fmt_bits, p50_p95, run_sessions)


def _ms(value) -> str:
    return f"{value:>9.0f}" if value is not None else f"{'-':>9}"


def own_prediction_mismatches(sessions, expected: dict) -> list[str]:
    """Explore sessions whose page showed another prediction, sequence or link than their own."""
    wrong = []
    for s in sessions:
        if s.kind != "explore":
            continue
        sequence = s.info["sequence"]
        for seen in s.info.get("seen", []):
            shown = float((seen["prediction"] or "nan").replace("−", "-"))
            if seen["sequence_box"] != sequence or seen["link_seq"] != sequence or \
                    not abs(shown - expected[sequence]) <= 6e-4:
                wrong.append(f"{s.name} at {seen['step']}: {seen} (expected {expected[sequence]:.4f})")
    return wrong


def upload_leaks(sessions, uploads) -> list[str]:
    """A session that lists or names another session's uploaded model."""
    leaks = []
    for s in sessions:
        for u in uploads:
            if u.label == s.name:
                continue
            if u.listed_name in s.info.get("predictor_options", []):
                leaks.append(f"{s.name} lists {u.listed_name}")
            leaks += [f"{s.name} shows {u.model_file} at {step}" for step, text in s.texts if u.model_name in text]
    return leaks


def session_rows(title: str, sessions) -> None:
    print(title)
    print(f"{'session':<9}{'kind':<9}{'1st page s':>11}{'uploads s':>10}{'n':>4}{'p50 ms':>9}{'p95 ms':>9}"
          f"{'run p50':>9}{'problems':>10}")
    for s in sessions:
        p50, p95 = p50_p95(s.latencies_ms)
        run50, _ = p50_p95(s.run_ms)
        uploads = s.info.get("uploads_s")
        print(f"{s.name:<9}{s.kind:<9}{s.info.get('first_page_s', float('nan')):>11.1f}"
              f"{(f'{uploads:.1f}' if uploads is not None else '-'):>10}{len(s.latencies_ms):>4}"
              f"{_ms(p50)}{_ms(p95)}{_ms(run50)}{len(s.problems):>10}")


def _arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=8, help="sessions at once in the loaded run")
    parser.add_argument("--presses", type=int, default=4, help="slider presses per explore session (max 30)")
    parser.add_argument("--uploads", type=int, default=2, help="of the sessions, how many upload a model")
    parser.add_argument("--timeout", type=float, default=600, help="seconds for each run of sessions")
    parser.add_argument("--chromium", default=CHROMIUM)
    parser.add_argument("--json", help="also write every figure to this file")
    args = parser.parse_args()
    args.presses = max(1, min(args.presses, 30))
    args.sessions = max(1, args.sessions)
    args.uploads = max(0, min(args.uploads, args.sessions - 1))
    return args


def _run_all(args):
    """Single sessions one after the other, then all at once: (single, loaded, times, expected, uploads, output)."""
    import scrambler_core as sc

    n_explore = args.sessions - args.uploads
    cache_dir = tempfile.mkdtemp(prefix="scrambler_bench_cache_")
    work = tempfile.mkdtemp(prefix="scrambler_bench_uploads_")
    server = AppServer(cache_dir)
    try:
        predictor = sc.load_predictor("utr5")
        single_sequences = distinct_sequences(predictor, n_explore, seed=101)
        loaded_sequences = distinct_sequences(predictor, n_explore, seed=202)
        expected = {s: float(v) for s, v in zip(single_sequences + loaded_sequences,
                                                predictor.predict(single_sequences + loaded_sequences))}
        uploads = [build_upload(work, f"s{n_explore + k + 1}", seed=n_explore + k + 1) for k in range(args.uploads)]
        healthy = server.wait_healthy()
        print(f"... server healthy after {healthy:.1f} s; single sessions", file=sys.stderr, flush=True)
        single, started = [], time.monotonic()
        for k, sequence in enumerate(single_sequences):
            (s,) = asyncio.run(run_sessions(server.url, [sequence], [], args.presses, timeout=args.timeout,
                                            chromium=args.chromium))
            s.name = f"single{k + 1}"
            single.append(s)
        single_s = time.monotonic() - started
        print(f"... {len(single)} single sessions in {single_s:.0f} s; {args.sessions} sessions at once",
              file=sys.stderr, flush=True)
        started = time.monotonic()
        loaded = asyncio.run(run_sessions(server.url, loaded_sequences, uploads, args.presses,
                                          timeout=args.timeout, chromium=args.chromium))
        return single, loaded, (single_s, time.monotonic() - started), expected, uploads, server.output(20_000)
    finally:
        server.stop()
        shutil.rmtree(cache_dir, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


def _summary(args, single, loaded, seconds) -> dict:
    """Print the per-session tables and the single / loaded comparison; returns its rows."""
    values = [fmt_bits(BITS_START + BITS_STEP * (k + 1)) for k in range(args.presses)]
    print(f"Explore page, utr5, inclusion, 32 samples; slider {fmt_bits(BITS_START)} -> {', '.join(values)} "
          f"(cache misses); {os.cpu_count()} CPUs; browser and server on this machine")
    print()
    session_rows(f"single: {len(single)} explore sessions one after the other ({seconds[0]:.0f} s; the first one "
                 "warms the server)", single)
    print()
    session_rows(f"loaded: {args.sessions} sessions at once ({args.sessions - args.uploads} explore, "
                 f"{args.uploads} upload; {seconds[1]:.0f} s)", loaded)
    print()
    rows = {}
    for label, group in (("single session", single), (f"{args.sessions} sessions at once", loaded)):
        latencies = [ms for s in group for ms in s.latencies_ms]
        runs = [ms for s in group for ms in s.run_ms]
        rows[label] = (len(latencies), *p50_p95(latencies), *p50_p95(runs))
    print(f"{'slider → page, cache miss':<28}{'n':>4}{'p50 ms':>9}{'p95 ms':>9}{'run p50':>9}{'run p95':>9}")
    for label, (n, p50, p95, r50, r95) in rows.items():
        print(f"{label:<28}{n:>4}{_ms(p50)}{_ms(p95)}{_ms(r50)}{_ms(r95)}")
    (_, s50, s95, sr50, sr95), (_, l50, l95, lr50, lr95) = rows.values()
    print(f"{'ratio loaded / single':<28}{'':>4}{l50 / s50:>8.1f}x{l95 / s95:>8.1f}x"
          f"{(lr50 / sr50 if sr50 else float('nan')):>8.1f}x{(lr95 / sr95 if sr95 else float('nan')):>8.1f}x")
    print("(run: the server's share of a press, first script run starting to the last one ending)")
    return rows


def _findings(single, loaded, expected, uploads, server_output) -> list[str]:
    findings = [f"{s.name}: {p}" for s in single + loaded for p in s.problems]
    findings += own_prediction_mismatches(single + loaded, expected)
    findings += upload_leaks(loaded, uploads)
    if "Traceback" in server_output or "unexpected error" in server_output:
        findings.append(f"server output has a traceback:\n{server_output[-3000:]}")
    return findings


def main():
    args = _arguments()
    single, loaded, seconds, expected, uploads, server_output = _run_all(args)
    rows = _summary(args, single, loaded, seconds)
    findings = _findings(single, loaded, expected, uploads, server_output)
    print()
    print("findings: " + ("none (no page errors, every session saw only its own results)" if not findings
                          else "\n  " + "\n  ".join(findings)))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({
            "sessions": args.sessions, "uploads": args.uploads, "presses": args.presses, "cpus": os.cpu_count(),
            "summary": {label: dict(zip(("n", "p50_ms", "p95_ms", "run_p50_ms", "run_p95_ms"), row))
                        for label, row in rows.items()},
            "single": [s.summary() for s in single], "loaded": [s.summary() for s in loaded],
            "findings": findings}, indent=1))


if __name__ == "__main__":
    main()
