"""The ``rehab`` command line (``rehab.cli``, one module per command group in ``rehab.commands``) and
the one clinic seeder (``rehab.clinic``) shared by the demo, the tests and the benchmarks."""
