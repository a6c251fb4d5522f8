"""``python -m bridgebayes``: the ``bridgebayes`` command."""

import sys

from bridgebayes.cli import main

sys.exit(main())
