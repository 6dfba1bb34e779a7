"""``python -m scrambler_core ...`` — see :mod:`scrambler_core.cli`."""
import sys

from .cli import main

sys.exit(main())
