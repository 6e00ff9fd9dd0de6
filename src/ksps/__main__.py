"""`python -m ksps` is the `ksps` command."""

import sys

from .cli import main

sys.exit(main())
