"""Evaluation on labelled pairs, threshold tuning, calibration and plots (``faceprint evaluate`` / ``tune``)."""
