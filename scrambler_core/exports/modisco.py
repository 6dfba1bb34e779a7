"""TF-MoDISco hand-off: contributions in the layout modisco-lite reads, a run of it and a short summary.

``modisco motifs -s ohe.npz -a contrib.npz`` (modisco-lite) reads two length-last ``.npz`` files, each
holding one array ``arr_0`` of shape (N, 4, L): the one-hot sequences and the *hypothetical*
contributions (a score for every letter at every position, whether present or not). It crops both to
``window`` positions around the centre (``L//2 - window//2 .. L//2 + window//2``), transposes them to
(N, L, 4) and projects the hypothetical contributions onto the sequence (``one_hot * hypothetical``) to
find seqlets. :func:`export_modisco` writes that layout from the package's (N, L, A) arrays;
:func:`run_modisco` also runs modisco-lite through its Python API and writes its HDF5 results and HTML
report.

Two sources of hypothetical contributions (:func:`contributions_from_results`):

* the per-position scores a batch run stores (``{label}_importance``, VCF: ``{label}_ref_importance``):
  the score of position l is put on every letter at l, so the projection gives back exactly the stored
  score on the observed letter, and modisco clusters seqlets by their sequence (the hypothetical letters
  carry no preference);
* with a predictor, full ISM (:func:`ism_hypothetical`): letter b at position l gets the change in the
  output when l is set to b, minus the mean of that change over the four letters (mean-centred ISM,
  positive = the letter raises the output). Both find the planted polyA signal in the tests; ISM
  also gives modisco the letters the model prefers where they are absent.
"""
from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np

__all__ = ["export_modisco", "run_modisco", "summarise_modisco", "ism_hypothetical",
           "contributions_from_results", "default_window", "check_window"]

LETTERS = "ACGT"
OHE_FILE, CONTRIB_FILE, RESULTS_FILE, REPORT_DIR = "ohe.npz", "contrib.npz", "modisco_results.h5", "report"


def _checked_pair(sequences_onehot, hypothetical):
    x = np.asarray(sequences_onehot, np.float32)
    h = np.asarray(hypothetical, np.float32)
    if x.ndim != 3 or x.shape[-1] != 4:
        raise ValueError(f"modisco reads DNA one-hot sequences of shape (N, L, 4), got {x.shape}")
    if h.shape != x.shape:
        raise ValueError(f"hypothetical contributions have shape {h.shape}, the sequences {x.shape}: they must match")
    if not np.isfinite(h).all():
        raise ValueError("the hypothetical contributions hold NaN or infinite values")
    if len(x) == 0:
        raise ValueError("no sequences to give to modisco")
    return x, h


def export_modisco(sequences_onehot, hypothetical, output_dir) -> dict:
    """Write ``ohe.npz`` and ``contrib.npz`` (arrays ``arr_0``, length-last (N, 4, L) float32) for modisco-lite.

    Parameters
    ----------
    sequences_onehot : array (N, L, 4) — one-hot sequences (A, C, G, T)
    hypothetical : array (N, L, 4) — hypothetical contributions, the same shape
    output_dir : str or Path — created if missing

    Returns
    -------
    dict — ``{"ohe": Path, "contrib": Path}``; ``modisco motifs -s OHE -a CONTRIB -n 2000 -w W`` reads them
    """
    x, h = _checked_pair(sequences_onehot, hypothetical)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    paths = {"ohe": output_dir / OHE_FILE, "contrib": output_dir / CONTRIB_FILE}
    np.savez_compressed(paths["ohe"], x.transpose(0, 2, 1))
    np.savez_compressed(paths["contrib"], h.transpose(0, 2, 1))
    return paths


def default_window(length: int) -> int:
    """The largest window modisco-lite can crop from length ``length`` (it takes window//2 each side of L//2)."""
    return length - length % 2


def check_window(length: int, window=None) -> tuple[int, int, int]:
    """(window, start, end) modisco-lite crops from sequences of ``length`` (default :func:`default_window`).

    Raises ``ValueError`` for a window that does not fit (modisco takes window//2 letters each side of length//2).
    """
    from modiscolite.util import calculate_window_offsets
    window = default_window(length) if window is None else int(window)
    start, end = calculate_window_offsets(length // 2, window)
    if window < 2 or start < 0 or end > length or end - start < window:
        raise ValueError(f"--window {window} does not fit the {length}-letter sequences (at most "
                         f"{default_window(length)}, as modisco takes window/2 letters each side of the centre)")
    return window, start, end


def run_modisco(sequences_onehot, hypothetical, output_dir, *, max_seqlets=2000, window=None, n_leiden=2,
                sliding_window=20, flank=5, trim=30, report=True) -> dict:
    """Export the arrays, run modisco-lite on them and write ``modisco_results.h5`` and its HTML report.

    Parameters
    ----------
    sequences_onehot, hypothetical : array (N, L, 4) — as :func:`export_modisco`
    output_dir : str or Path
    max_seqlets : int — seqlets per metacluster (modisco's ``-n``)
    window : int, optional — positions around the centre modisco reads (``-w``; default :func:`default_window`)
    n_leiden, sliding_window, flank, trim : modisco's ``-l``, ``-z``, ``-f``, ``-t`` (its CLI defaults)
    report : bool — also write ``report/report.html`` with the logos (``modisco report``)

    Returns
    -------
    dict — ``ohe``, ``contrib``, ``h5``, ``report`` (Path or None), ``window`` and ``patterns``
    (:func:`summarise_modisco`)
    """
    import modiscolite
    x, h = _checked_pair(sequences_onehot, hypothetical)
    if max_seqlets < 1:
        raise ValueError(f"--max-seqlets must be at least 1, got {max_seqlets}")
    window, start, end = check_window(x.shape[1], window)
    paths = export_modisco(x, h, output_dir)
    x, h = x[:, start:end], h[:, start:end]
    with contextlib.redirect_stdout(io.StringIO()):
        pos_patterns, neg_patterns = modiscolite.tfmodisco.TFMoDISco(
            one_hot=np.ascontiguousarray(x), hypothetical_contribs=np.ascontiguousarray(h),
            max_seqlets_per_metacluster=int(max_seqlets), sliding_window_size=sliding_window, flank_size=flank,
            trim_to_window_size=trim, initial_flank_to_add=10, final_flank_to_add=0, target_seqlet_fdr=0.05,
            n_leiden_runs=n_leiden, verbose=False)
    h5 = Path(output_dir) / RESULTS_FILE
    modiscolite.io.save_hdf5(str(h5), pos_patterns, neg_patterns, window)
    report_path = None
    if report and (pos_patterns or neg_patterns):
        import matplotlib
        matplotlib.use("Agg")
        from modiscolite.descriptive_report import generate_descriptive_report
        with contextlib.redirect_stdout(io.StringIO()):
            report_path = Path(generate_descriptive_report(str(h5), str(Path(output_dir) / REPORT_DIR)))
    return dict(paths, h5=h5, report=report_path, window=window, patterns=summarise_modisco(h5))


def _consensus(ppm, cwm, trim_threshold):
    """Consensus letters (N where no letter has half the weight) of the positions the CWM trim keeps."""
    score = np.abs(cwm).sum(1)
    keep = np.flatnonzero(score >= score.max() * trim_threshold)
    trimmed = ppm[keep[0]:keep[-1] + 1] if len(keep) else ppm
    return "".join(LETTERS[int(i)] if p >= 0.5 else "N" for i, p in zip(trimmed.argmax(1), trimmed.max(1)))


def summarise_modisco(h5_path, trim_threshold=0.3) -> list[dict]:
    """The patterns of a modisco-lite results file, in its order (positive patterns first).

    Parameters
    ----------
    h5_path : str or Path — ``modisco_results.h5``
    trim_threshold : float — keep positions whose |CWM| is at least this fraction of the largest (as modisco's
        report trims its logos)

    Returns
    -------
    list of dict — ``pattern`` (e.g. ``pos_patterns.pattern_0``), ``n_seqlets``, ``consensus`` (read on the
    strand most of its seqlets come from, N where no letter reaches 0.5) and ``ppm`` (W, 4)
    """
    import h5py
    out = []
    with h5py.File(h5_path, "r") as results:
        for group in ("pos_patterns", "neg_patterns"):
            if group not in results:
                continue
            for name in sorted(results[group], key=lambda s: int(s.rsplit("_", 1)[-1])):
                pattern = results[group][name]
                ppm, cwm = pattern["sequence"][:], pattern["contrib_scores"][:]
                if pattern["seqlets"]["is_revcomp"][:].mean() > 0.5:
                    ppm, cwm = ppm[::-1, ::-1], cwm[::-1, ::-1]
                out.append({"pattern": f"{group}.{name}", "n_seqlets": int(pattern["seqlets"]["n_seqlets"][0]),
                            "consensus": _consensus(ppm, cwm, trim_threshold), "ppm": ppm})
    return out


def ism_hypothetical(predictor, seqs) -> np.ndarray:
    """Mean-centred ISM hypothetical contributions: (N, L, A), the change when each position is set to each letter.

    Parameters
    ----------
    predictor : Predictor — single-sequence predictor
    seqs : list of str — N sequences of its length L

    Returns
    -------
    np.ndarray (N, L, A) float32 — ``f(x with letter b at l) - f(x)``, centred on its mean over the letters at l
    """
    from ..attribution import attribute
    _, info = attribute(predictor, list(seqs), "ism", return_info=True)
    changes = info["changes"]
    return (changes - changes.mean(-1, keepdims=True)).astype(np.float32)


def _score_columns(frame, suffix) -> list[str]:
    return [c[:-len(suffix)] for c in frame.columns if c.endswith(suffix) and not c.endswith("_delta" + suffix)
            and not c.endswith("_alt" + suffix)]


def _result_sequences(frame, source):
    """(sequence column, per-position score suffix) of a sequence or VCF batch result."""
    if "ref_sequence" in frame.columns:
        return "ref_sequence", "_ref_importance"
    if "sequence" in frame.columns:
        return "sequence", "_importance"
    raise ValueError(f"{source} is not a batch result: it has no sequence or ref_sequence column")


def contributions_from_results(frame, *, column=None, predictor=None, source="the results"):
    """One-hot sequences and hypothetical contributions of the scored rows of a batch result.

    Parameters
    ----------
    frame : DataFrame — :func:`scrambler_core.batch.read_results` of a sequence or VCF batch run (VCF: the
        REF windows); identical windows (the alleles of one record) are kept once
    column : str, optional — the method label of the stored per-position scores (``ism``, ``scrambler_0.5``);
        default the first the result holds
    predictor : Predictor, optional — compute full ISM hypothetical contributions instead (:func:`ism_hypothetical`)

    Returns
    -------
    (one_hot (N, L, 4) float32, hypothetical (N, L, 4) float32, description str)
    """
    from ..sequences import one_hot
    seq_column, suffix = _result_sequences(frame, source)
    rows = frame[frame["status"] == "ok"] if "status" in frame.columns else frame
    rows = rows.drop_duplicates(seq_column)
    if rows.empty:
        raise ValueError(f"{source} has no scored rows (every row has status=error)")
    seqs = [str(s) for s in rows[seq_column]]
    x = one_hot(seqs, "dna")
    if predictor is not None:
        return x, ism_hypothetical(predictor, seqs), f"ISM of {predictor.name} (hypothetical, every letter)"
    labels = _score_columns(frame, suffix)
    if not labels:
        raise ValueError(f"{source} holds no per-position scores ({suffix[1:]} columns)")
    label = column or labels[0]
    if label not in labels:
        raise ValueError(f"{source} has no scores for {label!r}; it has {', '.join(labels)}")
    scores = rows[label + suffix]
    if any(v is None for v in scores):
        raise ValueError(f"{source}: some scored rows have no {label + suffix} values")
    scores = np.stack([np.asarray(v, np.float32) for v in scores])
    if scores.shape != x.shape[:2]:
        raise ValueError(f"{label + suffix} has {scores.shape[1]} values per row, the sequences {x.shape[1]} letters")
    return x, np.repeat(scores[:, :, None], 4, axis=2), f"{label} (stored per-position scores on every letter)"
