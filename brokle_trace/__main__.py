"""``python -m brokle_trace`` runs the ``brokle-trace`` command."""

import sys

from brokle_trace.cli import main

sys.exit(main())
