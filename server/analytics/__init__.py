"""Analyses for managers: camtrapR-grade camera-trap analytics, line-transect and acoustic summaries.

Pure functions live in :mod:`.camtrap`, :mod:`.transect` and :mod:`.acoustic`;
:mod:`.loaders` reads their inputs from the database; :mod:`.registry` names
the analyses for the CLI (``saola analytics``), the API and the report.
"""
