"""`python -m neutropenia_kb` is the same as `nkb`."""

from .cli import main

raise SystemExit(main())
