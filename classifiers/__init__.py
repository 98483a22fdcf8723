"""Saola classifiers: turn media into machine detections (no Flask, no database).

Filled in below; see the module docstrings.
"""
