"""The committed built-in predictors and scramblers meet their figures.

These read ``pretrained/`` (never retrain): held-out R² of each predictor
against its true grammar, bits tracking of the bits-conditioned scramblers, and
the uAUG recall of the utr5 inclusion scrambler (paper Table D protocol).
"""
import json

import numpy as np
import pytest

import scrambler_core as sc
from scrambler_core import evaluation, synthetic
from scrambler_core.paths import PRETRAINED_DIR
from scrambler_core.scrambler.recipes import training_sequences

# target bits at which the recall figure is checked (see docs/builtin_models.md, "Benchmarks")
RECALL_BITS = 0.25
UORF_INCLUSION_FLOOR = 0.2      # lowest realised bits of the utr5 inclusion scrambler (measured 0.18-0.21; 0.19)
# highest realised bits of the polya inclusion scrambler since its distillation stage (issue 17; measured 1.87 on the
# card's held-out windows): its scores keep a spread, so the top of the bits channel no longer keeps every letter
POLYA_INCLUSION_CEILING = 1.85
# the KL benchmark's inclusion medians of the polya inclusion scrambler when committed (stage 2 of the recipe;
# DeepLIFT 0.040 / 0.100 / 0.144 / 0.492 on the same draws)
POLYA_KL = {0.2: 0.0360, 0.1: 0.0745, 0.05: 0.1166, 0.02: 0.4503}


def r2(y, p):
    y, p = np.asarray(y, float), np.asarray(p, float)
    return 1 - np.sum((y - p) ** 2) / np.sum((y - y.mean()) ** 2)


@pytest.mark.parametrize("name", ["utr5", "polya"])
def test_builtin_predictor_r2_against_true_function(name):
    pred = sc.load_predictor(name)
    assert pred.sequence_length == synthetic.GRAMMARS[name]["length"]
    seqs = synthetic.GRAMMARS[name]["generate"](2000, seed=424242)   # seed never used in training
    truth = np.array([t.value for t in synthetic.truth(name, seqs)])
    assert r2(truth, pred.predict(seqs)) >= 0.9
    card = json.loads((PRETRAINED_DIR / f"{name}.json").read_text())
    assert card["metrics_held_out"]["r2_vs_true_function"] >= 0.9
    assert card["seed"] == 0 and card["grammar_version"] == synthetic.GRAMMAR_VERSION


def test_polya_logit_is_the_pre_sigmoid_output():
    pred = sc.load_predictor("polya")
    assert pred.output_kind == "sigmoid"
    seqs = synthetic.generate_polya_training(16, seed=5)
    p, logit = pred.predict(seqs), pred.predict_logit(seqs)
    np.testing.assert_allclose(1 / (1 + np.exp(-logit)), p, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name,mode", [("utr5", "inclusion"), ("utr5", "occlusion"),
                                       ("polya", "inclusion"), ("polya", "occlusion")])
def test_bits_conditioned_scrambler_tracks_requested_bits(name, mode):
    path = PRETRAINED_DIR / f"{name}_{mode}.keras"
    if not path.exists():
        pytest.skip(f"{path.name} is not trained in this checkout")
    scr = sc.load_scrambler(name, mode=mode)
    assert scr.network.bits_conditioned and scr.mode == mode
    # held-out draws from the scrambler's own input distribution (seed unused in training)
    seqs = training_sequences(name, 128, seed=9191)
    # the utr5 inclusion scrambler keeps a uAUG and its stop (12 bits = 0.24 bits a position at L = 50) rather
    # than go below about 0.2 bits (issue 17; docs/builtin_models.md): lower requests realise that floor
    floor = UORF_INCLUSION_FLOOR if (name, mode) == ("utr5", "inclusion") else 0.0
    ceiling = POLYA_INCLUSION_CEILING if (name, mode) == ("polya", "inclusion") else 2.0
    for target in (0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0):
        realised = scr.explain(seqs, target_bits=target, n_samples=2).conservation.mean()
        expected = min(max(target, floor), ceiling)
        assert abs(realised - expected) <= 0.1, f"{name} {mode}: requested {target} bits, realised {realised:.3f}"


def test_utr5_inclusion_scrambler_finds_the_uaug():
    """200 held-out UTRs with one in-frame uORF: the top 6 positions hold all 3 uAUG letters in >= 85 %."""
    scr = sc.load_scrambler("utr5", mode="inclusion")
    result = evaluation.uorf_recall(lambda s: scr.scores(s, target_bits=RECALL_BITS), n=200, seed=20261125)
    assert result["start_recall"] >= 0.85, result


def test_utr5_inclusion_samples_keep_the_prediction():
    scr = sc.load_scrambler("utr5", mode="inclusion")
    seqs = synthetic.generate_utr5_training(200, seed=31337)
    agreement = evaluation.sample_agreement(scr, seqs, target_bits=1.0)
    assert agreement["r2"] > 0.5
    # and far better than background samples would (which keep nothing: r2 ~ 0)
    low = evaluation.sample_agreement(scr, seqs, target_bits=0.05)
    assert agreement["r2"] > low["r2"]


def test_utr5_inclusion_scrambler_finds_stops_at_least_as_often_as_ism():
    """Table D on 512 held-out UTRs per setting with sc.attribute defaults (issue 17).

    Measured when committed (stage 2 of the recipe): scrambler 0.992 / 0.988 (1 start / 1 stop) and 0.949 / 0.816
    (2 / 2); ISM 0.889 / 0.838 and 0.930 / 0.000. The issue's targets: start recall >= 0.88 in both settings and
    stop recall at least ISM's; pinned here a little below the measured figures.
    """
    from scrambler_core import benchmarks
    table, _ = benchmarks.recall_benchmark(sc.load_predictor("utr5"), methods=("scrambler", "ism"), n=512,
                                           settings=((1, 1), (2, 2)))
    recall = {(r.method, r.n_starts): (r.start_recall, r.stop_recall) for r in table.itertuples()}
    for setting, least_start in ((1, 0.95), (2, 0.9)):
        start, stop = recall["scrambler", setting]
        assert start >= least_start, recall
        assert stop >= recall["ism", setting][1], recall
    assert recall["scrambler", 1][1] >= 0.95 and recall["scrambler", 2][1] >= 0.75, recall


def test_polya_inclusion_scrambler_keeps_the_lowest_kl_of_the_one_pass_methods():
    """The KL benchmark's inclusion test on its own 256 held-out windows, 128 samples, sc.attribute defaults
    (issue 17): the scrambler's kept sets against the other one-pass methods at every fraction.

    Measured when committed (stage 2 of the recipe; docs/attribution_quality.md): ``POLYA_KL``, pinned at 5 %.
    """
    from scrambler_core import benchmarks
    from scrambler_core.scrambler.recipes import HELD_OUT_SEED_OFFSET

    seqs = training_sequences("polya", 256, HELD_OUT_SEED_OFFSET + 1000)
    table, _ = benchmarks.kl_benchmark(sc.load_predictor("polya"), seqs,
                                       ("scrambler", "saliency", "gradient_x_input", "deeplift"),
                                       benchmarks=("inclusion",))
    median = {(r.method, r.top_fraction): r.median for r in table.itertuples()}
    for fraction, pinned in POLYA_KL.items():
        others = min(median[m, fraction] for m in ("saliency", "gradient_x_input", "deeplift"))
        assert median["scrambler", fraction] < others, (fraction, median)
        assert median["scrambler", fraction] <= pinned * 1.05, (fraction, median)
