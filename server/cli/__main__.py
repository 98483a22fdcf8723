"""``python -m server.cli``: the ``saola`` command."""
import sys

from .root import main

sys.exit(main())
