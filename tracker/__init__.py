"""The processing core: thigh + pelvis IMU recordings → hip flexion, pelvic tilt, reps, compensation.

Only the core lives here (the program, the simulator and the evaluation are their own packages):
- ``tracker.conventions`` — units, axes, signs and the one per-drill table (``DRILL_MOTION``);
- ``tracker.raw`` / ``tracker.rawcsv`` — the recording the core takes, and its exchange format;
- stages: ``timebase`` → ``orientation`` → ``calibration`` → ``heading`` (+ ``joint_centre``) →
  ``joint_angles`` → ``reps`` / ``compensation``, with ``rotations`` the one set of quaternion
  helpers; ``stages`` runs them on arrays;
- ``tracker.engine`` — the one engine, ``update()`` / ``update_batch()`` / ``finish()``, live or
  offline; ``tracker.pipeline`` (``analyze_session``) and ``tracker.live`` (``LiveTracker``) are its
  two faces; ``tracker.results`` holds what it returns (``SessionAnalysis``).
"""

#: The processing core's version, recorded with every stored analysis (``SessionAnalysis.engine_version``,
#: ``sessions.engine_version``). Bump it whenever a change can move any number the core reports;
#: ``rehab reanalyze`` then brings stored sessions onto it and the dashboard marks the ones it has not.
ENGINE_VERSION = "2"
