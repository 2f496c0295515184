"""`python -m neutropenia_kb` is the same as `nkb`."""

from neutropenia_kb.cli import main

raise SystemExit(main())
