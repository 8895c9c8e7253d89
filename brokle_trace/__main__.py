"""``python -m brokle_trace`` runs the ``brokle-trace`` command."""

import sys

from brokle_trace.cli import main

if __name__ == "__main__":
    sys.exit(main())
