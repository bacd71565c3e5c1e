"""`python -m motionloop ...`: the same as the `motionloop` command."""

import sys

from motionloop.cli import main

sys.exit(main())
