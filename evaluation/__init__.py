"""Accuracy evaluation against ground truth: the simulator (simulated.py) and Vicon markers (vicon.py).

First-class code (gaitmap's evaluation_utils): the tests assert on these reports, the benchmarks and
the closing notes print them.
"""
