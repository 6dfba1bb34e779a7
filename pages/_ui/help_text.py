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

# ----------------------------------------------------------------------------- Compare

COMPARE_SIGN = (
    "Letters **above the line raise the output**, letters below lower it: one sign rule for every signed "
    "row (ISM draws f(x) − mean f(mutant); the gradient methods, integrated gradients, DeepLIFT and DeepSHAP "
    "as they come). Scrambler rows are importances, never negative: a letter's height is how much it must "
    "be kept (inclusion) or scrambled (occlusion).")

COMPARE_VIEW_HELP = (
    "**Your letter** (default): each position draws only your sequence's letter with the method's score for "
    "it, x · attribution, as the paper's and tangermeme's logos do. **All letters**: the method's whole map, "
    "a value for every letter (hypothetical contributions): saliency's gradient of each letter, (x − b) × "
    "gradient of integrated gradients, DeepLIFT and DeepSHAP, and for ISM each substitution's change "
    "f(mutant) − f(x) drawn on the substituted letter (above the line: that letter would raise the output). "
    "Gradient × input and the scrambler rows are on your letter in both views.")

COMPARE_NORMALISE_HELP = (
    "Divide each row by its own tallest letter stack in the view shown, so the tallest letter of every row "
    "(the tallest stack in the all-letters view) reaches 1 and all rows share one scale: the shapes compare "
    "whatever each method's units. Signs are kept; hover shows the raw value.")

MODE_HELP = ("Inclusion: the scrambler keeps the letters that hold the prediction and randomises the rest; "
             "the target bits is how much of the sequence it keeps. Occlusion: it randomises the letters that "
             "hold the prediction, so the samples lose it; the target bits is still how much is kept, so a low "
             "budget scrambles almost everything and a high one scrambles only the few letters that matter.")
OCCLUSION_NOTE = ("Occlusion: the marked letters are the ones **scrambled**. The budget is what is kept: "
                  "at a low budget almost everything is scrambled, at a high one only what matters.")
