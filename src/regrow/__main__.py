"""``python -m regrow`` runs the command line."""

import sys

from regrow.cli import main

sys.exit(main())
