"""Example inputs for the built-in and published predictors, with their true elements.

Each built-in example is a sequence drawn from the synthetic grammar that trained
the predictor (``synthetic.py``), so the positions that truly matter are known and
the app can show them beside the scrambler's answer (the guided example). The
published models get examples in their own input convention: 50-nt 5'UTRs with
planted uORFs for Optimus 5-Prime, 205-nt windows with the polyadenylation signal
at 0-based position 70 for APARENT2, and a pair of peptides for the binder
(:func:`pair_examples`).

>>> from scrambler_core import examples
>>> first = examples.examples("utr5")[0]
>>> first.label, len(first.sequence), first.important.sum()
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import synthetic


@dataclass(frozen=True)
class Example:
    """One example input.

    Attributes
    ----------
    label : str
        Short name shown in a list.
    sequence : str
    important : np.ndarray, shape (L,), bool
        Positions the grammar's true value depends on.
    description : str
        One sentence naming the true elements with 1-based positions.
    """

    label: str
    sequence: str
    important: np.ndarray
    description: str


def _span(start: int, width: int) -> str:
    return f"{start + 1}–{start + width}"


def _utr5_example(label: str, sequence: str) -> Example:
    truth = synthetic.utr5_truth(sequence)
    starts, stops = truth.features.get("uaug", []), truth.features.get("stop", [])
    parts = []
    if starts:
        parts.append("upstream ATG at " + ", ".join(_span(s, 3) for s in starts))
    if stops:
        parts.append("in-frame stop at " + ", ".join(_span(s, 3) for s in stops))
    what = " and ".join(parts) if parts else "no upstream ATG, so nothing holds ribosomes back"
    return Example(label, sequence, truth.important,
                   f"{what}; the grammar's mean ribosome load is {truth.value:.2f}.")


def _polya_example(label: str, sequence: str) -> Example:
    truth = synthetic.polya_truth(sequence)
    f = truth.features
    parts = []
    if f.get("pas") is not None:
        parts.append(f"polyadenylation signal {sequence[f['pas']:f['pas'] + 6]} at {_span(f['pas'], 6)}")
    if f.get("use"):
        parts.append("upstream TGTA elements at " + ", ".join(_span(s, 4) for s in f["use"][:3]))
    if f.get("dse"):
        parts.append("downstream GU/U-rich elements at " + ", ".join(_span(s, 4) for s in f["dse"][:4]))
    if f.get("repressor"):
        parts.append("repressive C/G runs at " + ", ".join(_span(s, 4) for s in f["repressor"]))
    if f.get("upstream_pas"):
        parts.append("a competing upstream AATAAA at " + ", ".join(_span(s, 6) for s in f["upstream_pas"]))
    return Example(label, sequence, truth.important,
                   "; ".join(parts) + f"; the grammar's proximal isoform proportion is {truth.value:.2f}.")


def examples(predictor_name: str) -> list[Example]:
    """Examples for a built-in or published predictor (empty list for any other name).

    Parameters
    ----------
    predictor_name : str
        ``"utr5"``, ``"polya"``, ``"optimus5"`` or ``"aparent2"`` (``"ppi"`` reads pairs:
        see :func:`pair_examples`).

    Returns
    -------
    list of Example
        Deterministic: the same sequences on every call.
    """
    if predictor_name == "utr5":
        one = synthetic.generate_uorf_set(1, 1, 1, seed=3)[0][0]
        two = synthetic.generate_uorf_set(1, 2, 2, seed=5)[0][0]
        rng = np.random.default_rng(7)
        clean = synthetic._clean_background(synthetic.UTR5_LENGTH, rng)
        return [_utr5_example("uORF: one upstream ATG and an in-frame stop", one),
                _utr5_example("two upstream ATGs", two),
                _utr5_example("no upstream ATG", clean)]
    if predictor_name == "polya":
        seqs = synthetic.generate_polya_training(5, seed=3)
        return [_polya_example("strong signal with USE and DSE elements", seqs[0]),
                _polya_example("signal with three repressive C/G runs", seqs[1]),
                _polya_example("signal competing with an upstream AATAAA", seqs[2])]
    if predictor_name == "optimus5":
        return optimus5_examples()
    if predictor_name == "aparent2":
        return aparent2_examples()
    return []


# ----------------------------------------------------------------------------- published models

def optimus5_examples() -> list[Example]:
    """50-nt 5'UTRs for Optimus 5-Prime: the utr5 examples, described without the synthetic grammar's value.

    The upstream ATGs and in-frame stops are planted by the same generator, and uORFs lower the
    ribosome load in the Optimus training library too, so they are the expected elements.

    Returns
    -------
    list of Example
    """
    out = []
    for example in examples("utr5"):
        what = example.description.split(";")[0]
        out.append(Example(example.label, example.sequence, example.important,
                           f"{what}; upstream ATGs and uORFs lower the mean ribosome load in the Optimus "
                           "5-Prime library too."))
    return out


APARENT2_LENGTH = 205
APARENT2_PAS_POSITION = 70            # 0-based start of the hexamer in APARENT2's input window
PAS_HEXAMERS = ("AATAAA", "ATTAAA")
NO_PAS_HEXAMER = "AAGCTT"             # no polyadenylation signal (a HindIII site)


def _without_other_pas(sequence: str, keep: int = APARENT2_PAS_POSITION) -> str:
    """Break every AATAAA / ATTAAA outside the hexamer at ``keep`` (its third letter becomes G)."""
    letters = list(sequence)
    changed = True
    while changed:
        changed = False
        text = "".join(letters)
        for start in range(len(text) - 5):
            if start != keep and text[start:start + 6] in PAS_HEXAMERS:
                letters[start + 2] = "G"
                changed = True
                break
    return "".join(letters)


def _pas_example(label: str, background: str, hexamer: str, what: str) -> Example:
    sequence = _without_other_pas(background[:APARENT2_PAS_POSITION] + hexamer
                                  + background[APARENT2_PAS_POSITION + 6:])
    important = np.zeros(len(sequence), bool)
    if hexamer != NO_PAS_HEXAMER:
        important[APARENT2_PAS_POSITION:APARENT2_PAS_POSITION + 6] = True
    span = _span(APARENT2_PAS_POSITION, 6)
    if hexamer == NO_PAS_HEXAMER:
        description = (f"no polyadenylation signal: {hexamer} at {span} where APARENT2 expects the hexamer, and "
                       "no AATAAA/ATTAAA elsewhere, so little cleavage at the proximal site is expected.")
    else:
        description = f"polyadenylation signal {hexamer} at {span} ({what}); no other AATAAA/ATTAAA in the window."
    return Example(label, sequence, important, description)


def aparent2_examples() -> list[Example]:
    """205-nt windows for APARENT2, hexamer at 0-based position 70 (the model's convention).

    A hand-made trio on one background (canonical AATAAA, the weaker ATTAAA, no signal) and two
    windows from :func:`scrambler_core.scrambler.recipes.generate_pas_windows`, the scramblers'
    training distribution. Every other AATAAA/ATTAAA is broken, so the marked hexamer is the
    only signal.

    Returns
    -------
    list of Example — deterministic
    """
    from .scrambler.recipes import generate_pas_windows

    trio_background, *generated = generate_pas_windows(3, seed=11, length=APARENT2_LENGTH,
                                                       pas_position=APARENT2_PAS_POSITION)
    out = [_pas_example("canonical signal AATAAA", trio_background, "AATAAA", "the canonical signal"),
           _pas_example("weaker signal ATTAAA (same window)", trio_background, "ATTAAA",
                        "the commonest, weaker variant"),
           _pas_example("no signal (same window)", trio_background, NO_PAS_HEXAMER, "")]
    for k, window in enumerate(generated, start=1):
        hexamer = window[APARENT2_PAS_POSITION:APARENT2_PAS_POSITION + 6]
        kind = ("a generated window" if hexamer in PAS_HEXAMERS
                else "a one-letter variant of AATAAA, in a generated window")
        out.append(_pas_example(f"generated window {k} ({hexamer})", window, hexamer, kind))
    return out


@dataclass(frozen=True)
class PairExample:
    """One example input of a pair predictor.

    Attributes
    ----------
    label : str
    chain_a, chain_b : str
    description : str
    """

    label: str
    chain_a: str
    chain_b: str
    description: str


def pair_examples(predictor_name: str) -> list[PairExample]:
    """Example peptide pairs for a pair predictor (empty list for any other name).

    Parameters
    ----------
    predictor_name : str
        ``"ppi"``: letters ``DEVKRLSTNHAIGPQYWMF`` only (no cysteine); ``"binder"``: the built-in
        binder (see :func:`binder_examples`).

    Returns
    -------
    list of PairExample
    """
    if predictor_name == "binder":
        return binder_examples()
    if predictor_name != "ppi":
        return []
    return [
        PairExample("in-silico designed pair (binds)",
                    "SPPALFNEVRVLERELTALETEIEKLEAVLERLERDLSQLEQ", "SVKPLARKLEKLKTKVKRWKKKNQSLKEKIRELKQKLGALKA",
                    "A hand-made acidic/basic heptad pair (binding probability 0.20) after 12 greedy single "
                    "substitutions, each the one that raised the binder model's probability most (0.85)."),
        PairExample("acidic / basic heptad coils (hand-made)",
                    "SPEDEIQALEEENAQLEQENAALEEEIAQLEYGSEEVKKLLE", "SPKDKIQALKKKNAQLKQKNAALKKKIAQLKYGSKKVEELLK",
                    "Two hand-made heptad-repeat helices, one acidic (E at e/g) and one basic (K at e/g), with "
                    "Asn at a core a position for pairing specificity."),
    ]


# ----------------------------------------------------------------------------- built-in binder (pairs)

# heptad repeats abcdefg from the first residue: L/I/V at a and d, E (acidic) or K (basic) at e and g
BINDER_ACIDIC = "IAQLESE" * 2 + "NAQLESE" + "IAQLESE" * 2          # Asn at the a position of heptad 3
BINDER_BASIC = "VAQLKSK" * 2 + "NAQLKSK" + "VAQLKSK" * 2
BINDER_ACIDIC_PARTNER = "VAQLESE" * 2 + "NAQLESE" + "VAQLESE" * 2   # the basic chain made acidic
BINDER_SHIFTED_ASN = "VAQLKSK" * 3 + "NAQLKSK" + "VAQLKSK"          # Asn one heptad later


def _binder_example(label: str, chain_a: str, chain_b: str, what: str) -> PairExample:
    truth = synthetic.binder_truth(chain_a, chain_b)
    f = truth.features
    terms = [f"{len(f['core'])} hydrophobic a/d pairs (+{synthetic.BINDER_CORE:g} each)"]
    if f["asn_pair"]:
        terms.append("Asn–Asn at a position " + ", ".join(str(i + 1) for i in f["asn_pair"])
                     + f" (+{synthetic.BINDER_ASN_PAIR:g})")
    if f["asn_mismatch"]:
        terms.append("Asn facing another residue at a position " + ", ".join(str(i + 1) for i in f["asn_mismatch"])
                     + f" ({synthetic.BINDER_ASN_MISMATCH:g} each)")
    if f["salt_bridge"]:
        terms.append(f"{len(f['salt_bridge'])} g–e′ salt bridges (+{synthetic.BINDER_SALT_BRIDGE:g} each)")
    if f["repulsion"]:
        terms.append(f"{len(f['repulsion'])} g–e′ like-charge pairs ({synthetic.BINDER_REPULSION:g} each)")
    return PairExample(label, chain_a, chain_b,
                       f"{what} Grammar: {', '.join(terms)}, bias {synthetic.BINDER_BIAS:g}; logit "
                       f"{truth.logit:.1f}, binding probability {truth.value:.3f}.")


def binder_examples() -> list[PairExample]:
    """Pairs for the built-in ``binder`` with their true binding probability (``synthetic.binder_truth``).

    Five-heptad (35-residue) helices: a designed acidic/basic heterodimer with an Asn-Asn pair at the
    a position of heptad 3, the same acidic chain against an acidic partner (like charges at every
    g-e′ pair), and the designed partner with its Asn moved one heptad on (two mismatched Asn).

    Returns
    -------
    list of PairExample — positions in the descriptions are 1-based
    """
    return [
        _binder_example("designed heterodimer with an Asn–Asn pair (binds)", BINDER_ACIDIC, BINDER_BASIC,
                        "Acidic chain a (E at e/g) and basic chain b (K at e/g), L/I/V at a/d and Asn facing Asn "
                        "at the a position of heptad 3."),
        _binder_example("like charges: two acidic chains (does not bind)", BINDER_ACIDIC, BINDER_ACIDIC_PARTNER,
                        "The same core and Asn pair, but both chains carry E at e/g, so every g–e′ pair repels."),
        _binder_example("Asn out of register (mismatched switch, weaker)", BINDER_ACIDIC, BINDER_SHIFTED_ASN,
                        "The designed basic partner with its Asn moved to heptad 4: each Asn now faces a "
                        "hydrophobic residue."),
    ]


# ----------------------------------------------------------------------------- batch (VCF) example

@dataclass(frozen=True)
class BatchExample:
    """A small reference genome and a VCF against it, for trying batch variant scoring.

    Attributes
    ----------
    fasta : str — FASTA text of one contig, ``chrDemo``
    vcf : str — VCF text (header and records), including rows that cannot be scored on purpose
        (a reference mismatch, a symbolic allele, a window past the contig end)
    anchor : int — window position (1-based) of each variant, so the windows are the examples
    """

    fasta: str
    vcf: str
    anchor: int


def batch_example(predictor_name: str) -> BatchExample:
    """A reference contig made of the predictor's examples and a VCF of variants in them.

    The variants sit on each example's first PAS letter (``polya``) or first
    upstream ATG letter (``utr5``); with ``anchor`` the first example's window
    is exactly that example (the others are shifted by the difference of
    their offsets). The VCF holds
    SNVs, a multi-allelic record, an MNV, an insertion and a deletion, and three
    records that are refused per row (REF mismatch, ``<DEL>``, window past the
    end).

    Parameters
    ----------
    predictor_name : str — ``"utr5"`` or ``"polya"``

    Returns
    -------
    BatchExample
    """
    if predictor_name not in ("utr5", "polya"):
        raise ValueError(f"no batch example for {predictor_name!r}; there are examples for utr5 and polya")
    rng = np.random.default_rng(11)
    items = examples(predictor_name)
    if predictor_name == "polya":
        offsets = [synthetic.polya_truth(e.sequence).features["pas"] for e in items]
    else:
        offsets = [(synthetic.utr5_truth(e.sequence).features.get("uaug") or [10])[0] for e in items]
    anchor = offsets[0] + 1
    contig, sites = "", []
    for item, offset in zip(items, offsets):
        contig += "".join(rng.choice(list("ACGT"), len(item.sequence)))
        sites.append(len(contig) + offset + 1)    # the example's first PAS (uATG) letter
        contig += item.sequence
    contig += "".join(rng.choice(list("ACGT"), 20))
    records = []

    def add(pos, ref, alt, vid):
        records.append(f"chrDemo\t{pos}\t{vid}\t{ref}\t{alt}\t.\tPASS\t.")

    def base(pos):
        return contig[pos - 1]

    other = {"A": "C", "C": "G", "G": "T", "T": "A"}
    for k, site in enumerate(sites, start=1):
        add(site, base(site), other[base(site)], f"ex{k}_snv")
        add(site + 1, base(site + 1), ",".join(b for b in "ACGT" if b != base(site + 1)), f"ex{k}_multi")
        if k == 1:
            add(site + 2, contig[site + 1:site + 3], other[base(site + 2)] + other[base(site + 3)], "ex1_mnv")
            add(site, base(site), base(site) + "GG", "ex1_insertion")
            add(site, contig[site - 1:site + 2], base(site), "ex1_deletion")
            add(site, other[base(site)], base(site), "ex1_ref_mismatch")
            add(site, base(site), "<DEL>", "ex1_symbolic")
    add(len(contig) - 2, contig[-3], other[contig[-3]], "past_the_end")
    header = ["##fileformat=VCFv4.2", f"##contig=<ID=chrDemo,length={len(contig)}>",
              "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    fasta = ">chrDemo demo contig built from the " + predictor_name + " examples\n" + "\n".join(
        contig[j:j + 60] for j in range(0, len(contig), 60)) + "\n"
    return BatchExample(fasta=fasta, vcf="\n".join(header + records) + "\n", anchor=anchor)
