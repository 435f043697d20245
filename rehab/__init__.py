"""The ``rehab`` command line (``rehab.cli``) and the demo clinic ``make run`` shows (``rehab.demo``)."""
