"""``python -m seisclip …`` runs the ``seisclip`` command."""

import sys

from .cli import main

sys.exit(main())
