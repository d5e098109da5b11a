"""Process exit codes (documented in README and ``phonehome --help``)."""

from __future__ import annotations

OK = 0
"""No finding at or above the ``--fail-on`` severity."""
FINDINGS = 1
"""At least one finding at or above the ``--fail-on`` severity."""
USAGE = 2
"""Bad command line, or a workspace/intel problem the user must fix."""
UNREADABLE_INPUT = 3
"""An input could not be read; nothing was stored."""
