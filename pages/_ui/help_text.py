"""Teaching text shown on several pages (scrambler modes and bits, how to read the logos)."""
from __future__ import annotations

BITS_AND_MODES = """
A **scrambler** is a small network trained once to explain a predictor. For your sequence it
outputs an importance score per position; the scores turn the sequence into a **PWM** (position
weight matrix: a probability for every letter at every position) from which new sequences are
**sampled** and scored by the predictor.

* **Inclusion**: the important positions keep their letter and the rest drift to the background
  letter frequencies, so the samples should *keep* the original prediction.
* **Occlusion**: the important positions are scrambled, so the samples should *lose* it.
* **Target bits** is the information budget: the mean conservation over positions, in bits, that
  the PWM may keep (2 bits = one fully fixed nucleotide, log2 20 ≈ 4.3 bits for a protein residue).
  A low budget forces a sparse explanation: only what matters most survives. **Realised bits** is
  what the scrambler actually kept for this sequence.
"""

READING_LOGOS = """
**Reading the logos.** In the **PWM logo** a letter's height is its probability times the
position's information content (log2 A − entropy), so tall stacks are positions the samples
keep. The **importance logo** draws your sequence's letter at each position, scaled by its score.
Hover a letter for its position and value; drag on the plot to zoom, double-click to zoom out.
"""
