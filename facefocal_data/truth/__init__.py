"""Estimators against ground truth: `audit` (audit.py) scores a build's estimates where its sources
carried labels; `calibrate` (calibration.py) fits recipe settings to them. `pairs.py` reads the
(truth, estimate) pairs from a build, `scores.py` scores them, `plot.py` draws the audit."""
