"""Allow ``python -m lizrcl_tools``."""

from lizrcl_tools.cli import main

raise SystemExit(main())
