"""scrambler_core.benchmarks: the DeepLIFT probe and the polya benchmarks' orchestration (no TensorFlow)."""
from types import SimpleNamespace

from scrambler_core import benchmarks

PREDICTOR = SimpleNamespace(alphabet=SimpleNamespace(letters="ACGT"), sequence_length=5)


def test_only_deeplift_methods_are_probed_and_a_refusal_gives_its_first_line(monkeypatch):
    seen = []

    def refuse(predictor, seqs, method, **options):
        seen.append((seqs, method))
        raise ValueError("layer Foo has no DeepLIFT rule\nmore detail")

    monkeypatch.setattr(benchmarks, "attribute", refuse)
    assert benchmarks.method_unavailable_reason(PREDICTOR, "ism") is None and seen == []
    assert benchmarks.method_unavailable_reason(PREDICTOR, "deepshap") == "layer Foo has no DeepLIFT rule"
    assert seen == [(["AAAAA"], "deeplift")]
    monkeypatch.setattr(benchmarks, "attribute", lambda *args, **kwargs: None)
    assert benchmarks.method_unavailable_reason(PREDICTOR, "deeplift") is None


def test_polya_benchmarks_runs_what_is_there_through_the_run_hook(monkeypatch):
    monkeypatch.setattr(benchmarks, "dropout_benchmark", lambda scrambler, n: ("dropout", scrambler, n))
    monkeypatch.setattr(benchmarks, "feature_sign_benchmark", lambda pos, neg, n: ("features", pos, neg, n))
    calls, steps = [], []

    def run(kind, compute, models):
        calls.append((kind, models))
        return compute()

    out = benchmarks.polya_benchmarks("d", "p", "m", n=8, run=run, progress=lambda f, t: steps.append(f))
    assert out == {"dropout": ("dropout", "d", 8), "features": ("features", "p", "m", 8)}
    assert calls == [("dropout_benchmark", "d"), ("feature_sign_benchmark", ("p", "m"))] and steps == [0.5]
    assert benchmarks.polya_benchmarks(None, "p", None, n=8) == {"dropout": None, "features": None}
