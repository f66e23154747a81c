"""``python -m icecore`` is the ``icecore`` command."""

import sys

from .cli import main

sys.exit(main())
