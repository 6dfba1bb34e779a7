"""Hand-offs to the field's tools: genome-browser tracks (:mod:`.tracks`) and TF-MoDISco inputs and runs (:mod:`.modisco`).

The submodules import pyBigWig, modisco-lite and TensorFlow only inside their functions.
"""
