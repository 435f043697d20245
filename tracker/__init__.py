"""The processing core: thigh + pelvis IMU recordings → hip flexion, pelvic tilt, reps, compensation.

Conventions (units, axes, signs) are stated once in ``tracker.conventions``. Entry points:
``tracker.pipeline.analyze_session`` (offline, whole session) and ``tracker.live.LiveTracker``
(sample by sample) run the same algorithm objects. ``simulation`` is the ground truth,
``tracker.rawcsv`` the exchange format, ``program`` the article's drills, screening and
progression, ``evaluation`` the accuracy reports against simulator and Vicon truth.
"""
