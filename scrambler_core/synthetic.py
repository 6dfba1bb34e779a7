"""Synthetic sequence grammars with known ground truth.

Two grammars back the built-in predictors:

* ``utr5`` — a 50-nt 5'UTR read by leaky-scanning ribosomes (mirrors
  Optimus 5-Prime): returns the mean ribosome load (MRL).
* ``polya`` — a 205-nt polyadenylation signal window (mirrors APARENT):
  returns the proximal isoform proportion.

Each grammar is a function of one sequence string that returns the true value
**and** the true important positions, so tests and benchmarks can score
attributions against the truth. Generators draw training sets and the
benchmark sets (Table D style uORF sets).

Motif windows are half-open, 0-based ``[start, end)``: a motif counts when it
lies entirely inside the window. Overlapping occurrences count separately.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

GRAMMAR_VERSION = "1.0"

UTR5_LENGTH = 50
POLYA_LENGTH = 205
STOP_CODONS = ("TAA", "TAG", "TGA")
NUCLEOTIDES = "ACGT"


@dataclass
class GroundTruth:
    """The true value of a grammar on one sequence and where it comes from.

    Attributes
    ----------
    value : float
        The true output (MRL for ``utr5``, proximal isoform proportion for ``polya``).
    important : np.ndarray, shape (L,), bool
        Positions whose letters the true value depends on.
    features : dict
        Named features found (e.g. ``{"uaug": [7], "stop": [19]}``), 0-based starts.
    logit : float or None
        For ``polya`` the true logit; None for ``utr5``.
    """

    value: float
    important: np.ndarray
    features: dict = field(default_factory=dict)
    logit: float | None = None


# ----------------------------------------------------------------------------- utr5

def _kozak_strong(seq: str, i: int) -> bool:
    """A/G at i-3 or G at i+3 (the CDS 'ATG' follows position 49)."""
    extended = seq + "ATG"
    upstream_purine = i - 3 >= 0 and seq[i - 3] in ("A", "G")
    return upstream_purine or extended[i + 3] == "G"


def utr5_truth(seq: str) -> GroundTruth:
    """Leaky-scanning mean ribosome load of a 50-nt 5'UTR.

    Ribosomes scan 5'->3'. At each uAUG at 0-based position ``i`` they initiate
    with probability 0.9 (strong Kozak: A/G at i-3 or G at i+3) or 0.5, else scan
    on. An initiated ribosome that meets an in-frame stop inside the UTR (uORF)
    terminates and resumes scanning after the stop with probability 0.3; with no
    such stop it translates the CDS when ``i % 3 == 2`` (N-terminal extension) and
    is lost otherwise (overlapping uORF). ``F`` is the fraction that translates
    the CDS; ``MRL = 1 + 8 F (1 - 0.6 max(0, GC - 0.5))``.

    Parameters
    ----------
    seq : str
        50 letters of ``ACGT``.

    Returns
    -------
    GroundTruth
        ``value`` is the MRL; ``important`` marks the letters of every uAUG and of
        every stop codon that ends a uORF started by a uAUG; ``features`` holds
        ``uaug``, ``stop`` and ``fraction_translating``.
    """
    seq = seq.upper()
    length = len(seq)
    uaugs = [i for i in range(length - 2) if seq[i:i + 3] == "ATG"]
    # first in-frame stop after each uAUG
    first_stop = {}
    for i in uaugs:
        first_stop[i] = None
        for j in range(i + 3, length - 2, 3):
            if seq[j:j + 3] in STOP_CODONS:
                first_stop[i] = j
                break

    # G[k]: fraction translating the CDS for a ribosome scanning from position k
    translating = np.ones(length + 4)
    for k in range(length, -1, -1):
        upcoming = [i for i in uaugs if i >= k]
        if not upcoming:
            translating[k] = 1.0
            continue
        i = upcoming[0]
        if k < i:
            translating[k] = translating[i]
            continue
        p = 0.9 if _kozak_strong(seq, i) else 0.5
        stop = first_stop[i]
        if stop is not None:
            initiated = 0.3 * translating[stop + 3]
        elif i % 3 == 2:
            initiated = 1.0
        else:
            initiated = 0.0
        translating[k] = p * initiated + (1 - p) * translating[i + 1]
    fraction = float(translating[0])
    gc = (seq.count("G") + seq.count("C")) / max(length, 1)
    mrl = 1.0 + 8.0 * fraction * (1.0 - 0.6 * max(0.0, gc - 0.5))

    important = np.zeros(length, dtype=bool)
    stops = sorted({s for s in first_stop.values() if s is not None})
    for i in uaugs:
        important[i:i + 3] = True
    for j in stops:
        important[j:j + 3] = True
    return GroundTruth(value=mrl, important=important,
                       features={"uaug": uaugs, "stop": stops, "fraction_translating": fraction})


def utr5_mrl(seqs) -> np.ndarray:
    """True MRL of many 50-nt UTRs.

    Parameters
    ----------
    seqs : list of str, length N

    Returns
    -------
    np.ndarray, shape (N,), float32
    """
    return np.array([utr5_truth(s).value for s in seqs], dtype=np.float32)


def random_sequences(n: int, length: int, rng: np.random.Generator, probabilities=None) -> list[str]:
    """Uniform (or given per-letter probability) random DNA sequences.

    Returns
    -------
    list of str, length n
    """
    letters = np.array(list(NUCLEOTIDES))
    idx = rng.choice(4, size=(n, length), p=probabilities)
    return ["".join(row) for row in letters[idx]]


def _insert(seq: str, motif: str, position: int) -> str:
    return seq[:position] + motif + seq[position + len(motif):]


def generate_utr5_training(n: int, seed: int = 0) -> list[str]:
    """Random 50-mers enriched for uAUGs, in-frame stops and their combinations.

    A third is uniform random; the rest get 1-2 inserted ``ATG`` (with random
    Kozak context) and 0-3 stop codons, often in frame with an inserted uAUG.

    Returns
    -------
    list of str, length n
    """
    rng = np.random.default_rng(seed)
    seqs = random_sequences(n, UTR5_LENGTH, rng)
    out = []
    for s in seqs:
        kind = rng.random()
        if kind < 0.3:
            out.append(s)
            continue
        starts = []
        for _ in range(rng.integers(1, 3)):
            i = int(rng.integers(0, UTR5_LENGTH - 2))
            s = _insert(s, "ATG", i)
            starts.append(i)
            if rng.random() < 0.5 and i + 3 < UTR5_LENGTH:
                s = _insert(s, rng.choice(["G", "A", "C", "T"]), i + 3)
            if rng.random() < 0.5 and i - 3 >= 0:
                s = s[:i - 3] + rng.choice(["A", "G", "C", "T"]) + s[i - 2:]
        for _ in range(rng.integers(0, 4)):
            if starts and rng.random() < 0.7:
                i = starts[int(rng.integers(len(starts)))]
                slots = list(range(i + 3, UTR5_LENGTH - 2, 3))
                if not slots:
                    continue
                j = int(rng.choice(slots))
            else:
                j = int(rng.integers(0, UTR5_LENGTH - 2))
            s = _insert(s, STOP_CODONS[int(rng.integers(3))], j)
        out.append(s[:UTR5_LENGTH])
    return out


def _clean_background(length: int, rng: np.random.Generator, forbidden=("ATG",) + STOP_CODONS) -> str:
    """Random sequence with no forbidden trimer in any frame (letter-by-letter rejection)."""
    out = []
    while len(out) < length:
        letter = NUCLEOTIDES[int(rng.integers(4))]
        if len(out) >= 2 and "".join(out[-2:]) + letter in forbidden:
            continue
        out.append(letter)
    return "".join(out)


def _count_trimers(seq: str, trimers) -> int:
    return sum(seq[k:k + 3] in trimers for k in range(len(seq) - 2))


def generate_uorf_set(n: int, n_starts: int = 1, n_stops: int = 1, seed: int = 0):
    """Benchmark UTRs with in-frame uAUGs and in-frame stops (paper Table D).

    Every uAUG is in frame with the CDS (``i % 3 == 2``); every stop lies
    downstream of the first uAUG, in the same frame; no other ``ATG`` or stop
    codon (in any frame) occurs.

    Parameters
    ----------
    n : int
        Number of sequences.
    n_starts, n_stops : int
        uAUGs and stop codons per sequence (1 or 2 each).
    seed : int

    Returns
    -------
    seqs : list of str, length n
    start_positions : np.ndarray, shape (n, n_starts), int — 0-based starts of the uAUGs
    stop_positions : np.ndarray, shape (n, n_stops), int — 0-based starts of the stops
    """
    rng = np.random.default_rng(seed)
    forbidden = ("ATG",) + STOP_CODONS
    frame_slots = [i for i in range(0, UTR5_LENGTH - 2) if i % 3 == 2]
    seqs, starts_out, stops_out = [], [], []
    while len(seqs) < n:
        s = _clean_background(UTR5_LENGTH, rng)
        slots = sorted(rng.choice(frame_slots, size=n_starts + n_stops, replace=False))
        # uAUGs first, then stops, so each stop is downstream of a uAUG
        starts, stops = slots[:n_starts], slots[n_starts:]
        if any(b - a < 3 for a, b in zip(slots, slots[1:])):
            continue
        for i in starts:
            s = _insert(s, "ATG", int(i))
        for j in stops:
            s = _insert(s, STOP_CODONS[int(rng.integers(3))], int(j))
        if _count_trimers(s, ("ATG",)) != n_starts or _count_trimers(s, STOP_CODONS) != n_stops:
            continue
        seqs.append(s)
        starts_out.append([int(i) for i in starts])
        stops_out.append([int(j) for j in stops])
    return seqs, np.array(starts_out), np.array(stops_out)


# ----------------------------------------------------------------------------- polya

PAS_WINDOW = (60, 90)
USE_WINDOW = (20, 60)
DSE_WINDOW = (95, 130)
REPRESSOR_WINDOW = (90, 130)
UPSTREAM_PAS_WINDOW = (0, 50)


def _occurrences(seq: str, motif: str, window) -> list[int]:
    start, end = window
    return [k for k in range(start, end - len(motif) + 1) if seq[k:k + len(motif)] == motif]


def _pas_score(hexamer: str) -> float:
    if hexamer == "AATAAA":
        return 3.0
    if hexamer == "ATTAAA":
        return 2.0
    if sum(a != b for a, b in zip(hexamer, "AATAAA")) == 1:
        return 0.5
    return 0.0


def polya_truth(seq: str) -> GroundTruth:
    """Proximal isoform proportion of a 205-nt PAS window.

    ``logit = -3 + best PAS hexamer in [60, 90)`` (AATAAA +3.0, ATTAAA +2.0, any
    other single mismatch of AATAAA +0.5) ``+ 0.4`` per TGTA in [20, 60) (at most
    3) ``+ 0.3`` per GTGT/TTTT in [95, 130) (at most 4) ``- 0.3`` per CCCC/GGGG in
    [90, 130) ``- 1.0`` if AATAAA occurs in [0, 50). Value = sigmoid(logit).

    Returns
    -------
    GroundTruth
        ``important`` marks the best PAS hexamer, the counted TGTA/GTGT/TTTT
        elements, every CCCC/GGGG repressor and upstream AATAAA.
    """
    seq = seq.upper()
    important = np.zeros(len(seq), dtype=bool)
    logit = -3.0
    best, best_at = 0.0, None
    for k in range(PAS_WINDOW[0], PAS_WINDOW[1] - 5):
        score = _pas_score(seq[k:k + 6])
        if score > best:
            best, best_at = score, k
    logit += best
    if best_at is not None:
        important[best_at:best_at + 6] = True
    use = _occurrences(seq, "TGTA", USE_WINDOW)
    logit += 0.4 * min(len(use), 3)
    for k in use[:3]:
        important[k:k + 4] = True
    dse = sorted(_occurrences(seq, "GTGT", DSE_WINDOW) + _occurrences(seq, "TTTT", DSE_WINDOW))
    logit += 0.3 * min(len(dse), 4)
    for k in dse[:4]:
        important[k:k + 4] = True
    repressors = sorted(_occurrences(seq, "CCCC", REPRESSOR_WINDOW) + _occurrences(seq, "GGGG", REPRESSOR_WINDOW))
    logit -= 0.3 * len(repressors)
    for k in repressors:
        important[k:k + 4] = True
    upstream = _occurrences(seq, "AATAAA", UPSTREAM_PAS_WINDOW)
    if upstream:
        logit -= 1.0
        for k in upstream:
            important[k:k + 6] = True
    value = 1.0 / (1.0 + np.exp(-logit))
    return GroundTruth(value=float(value), important=important, logit=float(logit),
                       features={"pas": best_at, "pas_score": best, "use": use, "dse": dse,
                                 "repressor": repressors, "upstream_pas": upstream})


def polya_proportion(seqs) -> np.ndarray:
    """True proximal isoform proportion of many 205-nt sequences.

    Returns
    -------
    np.ndarray, shape (N,), float32
    """
    return np.array([polya_truth(s).value for s in seqs], dtype=np.float32)


def polya_logit(seqs) -> np.ndarray:
    """True logit of many 205-nt sequences, shape (N,)."""
    return np.array([polya_truth(s).logit for s in seqs], dtype=np.float32)


def _mutate_once(motif: str, rng: np.random.Generator) -> str:
    k = int(rng.integers(len(motif)))
    options = [c for c in NUCLEOTIDES if c != motif[k]]
    return motif[:k] + options[int(rng.integers(3))] + motif[k + 1:]


def generate_polya_training(n: int, seed: int = 0) -> list[str]:
    """Random 205-mers with PAS variants, USE, DSE, repressors and upstream PAS inserted.

    The mix makes every term of the grammar common: a PAS hexamer (AATAAA,
    ATTAAA, a single mismatch or none) in the PAS window, 0-4 TGTA upstream,
    0-5 GTGT/TTTT and 0-3 CCCC/GGGG downstream, an upstream AATAAA in 20 %.

    Returns
    -------
    list of str, length n
    """
    rng = np.random.default_rng(seed)
    seqs = random_sequences(n, POLYA_LENGTH, rng)
    out = []
    for s in seqs:
        choice = rng.random()
        if choice < 0.35:
            pas = "AATAAA"
        elif choice < 0.6:
            pas = "ATTAAA"
        elif choice < 0.85:
            pas = _mutate_once("AATAAA", rng)
        else:
            pas = None
        if pas is not None:
            s = _insert(s, pas, int(rng.integers(PAS_WINDOW[0], PAS_WINDOW[1] - 5)))
        for _ in range(rng.integers(0, 5)):
            s = _insert(s, "TGTA", int(rng.integers(USE_WINDOW[0], USE_WINDOW[1] - 3)))
        for _ in range(rng.integers(0, 6)):
            s = _insert(s, ["GTGT", "TTTT"][int(rng.integers(2))], int(rng.integers(DSE_WINDOW[0], DSE_WINDOW[1] - 3)))
        for _ in range(rng.integers(0, 4)):
            s = _insert(s, ["CCCC", "GGGG"][int(rng.integers(2))],
                        int(rng.integers(REPRESSOR_WINDOW[0], REPRESSOR_WINDOW[1] - 3)))
        if rng.random() < 0.2:
            s = _insert(s, "AATAAA", int(rng.integers(UPSTREAM_PAS_WINDOW[0], UPSTREAM_PAS_WINDOW[1] - 5)))
        out.append(s)
    return out


GRAMMARS = {
    "utr5": {"truth": utr5_truth, "length": UTR5_LENGTH, "generate": generate_utr5_training},
    "polya": {"truth": polya_truth, "length": POLYA_LENGTH, "generate": generate_polya_training},
}


def truth(grammar: str, seqs) -> list[GroundTruth]:
    """Ground truth of a named grammar (``"utr5"`` or ``"polya"``) for each sequence."""
    if grammar not in GRAMMARS:
        raise ValueError(f"unknown grammar {grammar!r}; choose one of {', '.join(GRAMMARS)}")
    fn = GRAMMARS[grammar]["truth"]
    return [fn(s) for s in seqs]


# ----------------------------------------------------------------------------- binder

BINDER_MIN_LENGTH = 24
BINDER_MAX_LENGTH = 48
HEPTAD = "abcdefg"
PROTEIN_LETTERS = "ACDEFGHIKLMNPQRSTVWY"

BINDER_BIAS = -3.0                  # logit of two chains with no scored contact
BINDER_HYDROPHOBIC = frozenset("LIV")
BINDER_CORE = 0.5                   # a/d position with L/I/V on both chains
BINDER_ASN_PAIR = 1.5               # Asn-Asn at an `a` position (the specificity switch)
BINDER_ASN_MISMATCH = -1.5          # Asn at an `a` position facing a residue other than Asn
BINDER_SALT_BRIDGE = 0.6            # g (heptad k) of one chain faces e' (heptad k+1) of the other: opposite charges
BINDER_REPULSION = -0.6             # the same pair with like charges
BINDER_G_TO_E = 5                   # g at 0-based position i faces e' at i + 5 on the other chain
BINDER_NEGATIVE = frozenset("DE")
BINDER_POSITIVE = frozenset("KR")


@dataclass
class PairGroundTruth:
    """The true binding of two peptides under the binder grammar.

    Attributes
    ----------
    value : float
        Probability that the two chains form a heterodimer, ``sigmoid(logit)``.
    logit : float
    important_a, important_b : np.ndarray, bool, shapes (len_a,), (len_b,)
        Residues that contributed a nonzero term.
    features : dict
        ``core`` (0-based a/d positions with L/I/V on both chains), ``asn_pair`` (a positions with
        N-N), ``asn_mismatch`` (a positions with one N), ``salt_bridge`` / ``repulsion`` (tuples
        ``(chain of the g residue, g position, e' position)``), ``interface_length``.
    """

    value: float
    logit: float
    important_a: np.ndarray
    important_b: np.ndarray
    features: dict = field(default_factory=dict)


def _charge(residue: str) -> int:
    return -1 if residue in BINDER_NEGATIVE else (1 if residue in BINDER_POSITIVE else 0)


def binder_truth(seq_a: str, seq_b: str) -> PairGroundTruth:
    """Coiled-coil heterodimer grammar: probability that two peptides bind.

    Both chains are read as heptad repeats from their first residue: the heptad letter of 0-based
    position ``i`` is ``HEPTAD[i % 7]`` (``abcdefg``). The chains are parallel and in register:
    residue ``i`` of chain a faces residue ``i`` of chain b, and only ``i < min(len_a, len_b)``
    interact (the interface). The logit is

    * ``BINDER_BIAS = -3.0``, plus
    * hydrophobic core: ``+0.5`` for every ``a``/``d`` position where both residues are L, I or V;
    * Asn switch at ``a`` positions: ``+1.5`` for N facing N, ``-1.5`` for N facing anything else
      (``d`` positions have no Asn term);
    * electrostatics: for the ``g`` position ``i`` of each chain and the ``e`` position ``i + 5`` of
      the other chain (g of heptad k faces e' of heptad k+1), both inside the interface, with D/E
      negative and K/R positive: ``+0.6`` for opposite charges, ``-0.6`` for like charges; both
      directions count (g of a with e of b, g of b with e of a).

    Value = ``sigmoid(logit)``.

    Parameters
    ----------
    seq_a, seq_b : str
        Peptides over ``ACDEFGHIKLMNPQRSTVWY`` (any length; the predictor takes 24-48).

    Returns
    -------
    PairGroundTruth
        ``important_a`` / ``important_b`` mark exactly the residues of the nonzero terms.
    """
    seq_a, seq_b = seq_a.upper(), seq_b.upper()
    interface = min(len(seq_a), len(seq_b))
    important_a = np.zeros(len(seq_a), dtype=bool)
    important_b = np.zeros(len(seq_b), dtype=bool)
    logit = BINDER_BIAS
    core, asn_pair, asn_mismatch, salt, repulsion = [], [], [], [], []
    for i in range(interface):
        letter = HEPTAD[i % 7]
        x, y = seq_a[i], seq_b[i]
        if letter == "a" and "N" in (x, y):
            if x == y:
                logit += BINDER_ASN_PAIR
                asn_pair.append(i)
            else:
                logit += BINDER_ASN_MISMATCH
                asn_mismatch.append(i)
            important_a[i] = important_b[i] = True
        elif letter in "ad" and x in BINDER_HYDROPHOBIC and y in BINDER_HYDROPHOBIC:
            logit += BINDER_CORE
            core.append(i)
            important_a[i] = important_b[i] = True
        if letter == "g" and i + BINDER_G_TO_E < interface:
            j = i + BINDER_G_TO_E
            for chain, g_seq, e_seq, g_mark, e_mark in (("a", seq_a, seq_b, important_a, important_b),
                                                         ("b", seq_b, seq_a, important_b, important_a)):
                product = _charge(g_seq[i]) * _charge(e_seq[j])
                if product == 0:
                    continue
                if product < 0:
                    logit += BINDER_SALT_BRIDGE
                    salt.append((chain, i, j))
                else:
                    logit += BINDER_REPULSION
                    repulsion.append((chain, i, j))
                g_mark[i] = e_mark[j] = True
    value = 1.0 / (1.0 + np.exp(-logit))
    return PairGroundTruth(value=float(value), logit=float(logit), important_a=important_a,
                           important_b=important_b,
                           features={"core": core, "asn_pair": asn_pair, "asn_mismatch": asn_mismatch,
                                     "salt_bridge": salt, "repulsion": repulsion, "interface_length": interface})


def binder_truths(pairs) -> list[PairGroundTruth]:
    """:func:`binder_truth` of each ``(seq_a, seq_b)`` pair."""
    return [binder_truth(a, b) for a, b in pairs]


def binder_probability(pairs) -> np.ndarray:
    """True binding probability of many pairs.

    Returns
    -------
    np.ndarray, shape (N,), float32
    """
    return np.array([binder_truth(a, b).value for a, b in pairs], dtype=np.float32)


def binder_logit(pairs) -> np.ndarray:
    """True binding logit of many pairs, shape (N,)."""
    return np.array([binder_truth(a, b).logit for a, b in pairs], dtype=np.float32)


# letters the generator puts at the unscored b, c, f positions of designs (no N, so no Asn term by accident)
_SURFACE = "AQSTEKRGHDM"
_BINDER_KINDS = ("designed", "corrupted", "asn_mismatch", "like_charge", "random")
_BINDER_KIND_P = (0.44, 0.22, 0.10, 0.10, 0.14)


def _random_peptide(length: int, rng: np.random.Generator, letters: str = PROTEIN_LETTERS) -> list[str]:
    return [letters[k] for k in rng.integers(len(letters), size=length)]


def _designed_chain(length: int, charge: str, rng: np.random.Generator, core_fraction: float,
                    charge_fraction: float, asn_heptads=()) -> list[str]:
    """A heptad-repeat chain: L/I/V at a/d, ``charge`` ("-": E/D, "+": K/R) at e/g, N at chosen a positions."""
    chain = _random_peptide(length, rng, _SURFACE)
    charged = "EED" if charge == "-" else "KKR"
    for i in range(length):
        letter = HEPTAD[i % 7]
        if letter in "ad" and rng.random() < core_fraction:
            chain[i] = "LIV"[int(rng.integers(3))] if letter == "d" or rng.random() < 0.5 else "L"
        elif letter in "eg" and rng.random() < charge_fraction:
            chain[i] = charged[int(rng.integers(3))]
    for k in asn_heptads:
        if 7 * k < length:
            chain[7 * k] = "N"
    return chain


def generate_binder_pairs(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """Peptide pairs for training and testing the binder predictor, about half of them binders.

    Each chain has 24-48 residues: in 60 % of pairs both chains share one length, otherwise the two
    lengths are drawn independently (uniform). Kinds: designed pairs (44 %: L/I/V at a/d, one chain
    E/D and the other K/R at e/g, in 40 % an Asn-Asn pair at one a position; 40-100 % of the core
    and of the charged positions are filled, drawn per pair), the same designs with 10-60 % of
    residues replaced at random (22 %), designs with Asn on one chain only or at different heptads
    (10 %), designs with like charges on both chains (10 %) and uniform random peptides (14 %).
    About half the pairs have a true probability above 0.5.

    Returns
    -------
    list of (str, str), length n
    """
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        length_a = int(rng.integers(BINDER_MIN_LENGTH, BINDER_MAX_LENGTH + 1))
        length_b = length_a if rng.random() < 0.6 else int(rng.integers(BINDER_MIN_LENGTH, BINDER_MAX_LENGTH + 1))
        kind = _BINDER_KINDS[int(rng.choice(len(_BINDER_KINDS), p=_BINDER_KIND_P))]
        if kind == "random":
            out.append(("".join(_random_peptide(length_a, rng)), "".join(_random_peptide(length_b, rng))))
            continue
        heptads = (min(length_a, length_b) + 6) // 7
        charges = ("-", "+") if rng.random() < 0.5 else ("+", "-")
        if kind == "like_charge":
            charges = ("-", "-") if rng.random() < 0.5 else ("+", "+")
        asn_a, asn_b = (), ()
        if kind == "asn_mismatch":
            k = int(rng.integers(heptads))
            if rng.random() < 0.5:
                asn_a, asn_b = ((k,), ()) if rng.random() < 0.5 else ((), (k,))
            else:
                other = int(rng.integers(heptads))
                asn_a, asn_b = (k,), ((other,) if other != k else ((k + 1) % heptads,))
        elif rng.random() < 0.4:
            k = int(rng.integers(heptads))
            asn_a = asn_b = (k,)
        core_fraction = rng.uniform(0.4, 1.0)
        charge_fraction = rng.uniform(0.4, 1.0)
        chain_a = _designed_chain(length_a, charges[0], rng, core_fraction, charge_fraction, asn_a)
        chain_b = _designed_chain(length_b, charges[1], rng, core_fraction, charge_fraction, asn_b)
        if kind == "corrupted":
            for chain in (chain_a, chain_b):
                rate = rng.uniform(0.1, 0.6)
                for i in np.flatnonzero(rng.random(len(chain)) < rate):
                    chain[i] = PROTEIN_LETTERS[int(rng.integers(20))]
        out.append(("".join(chain_a), "".join(chain_b)))
    return out
