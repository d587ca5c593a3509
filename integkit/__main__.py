"""``python -m integkit``: the same command line as the ``integkit`` script."""

from ._cli import main

raise SystemExit(main())
