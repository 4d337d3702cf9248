"""`python -m mpksa.cli`: the same as the `mpksa` command."""

import sys

from . import main

sys.exit(main())
