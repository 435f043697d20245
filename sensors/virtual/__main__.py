"""``python -m sensors.virtual`` — see sensors/virtual/runner.py."""

from sensors.virtual.runner import main

raise SystemExit(main())
