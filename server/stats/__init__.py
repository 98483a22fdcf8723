"""Monitoring statistics as pure functions over numpy arrays: no Flask, no database, no click.

Tests, notebooks and the analytics registry call the same functions; the database loaders
that build their inputs from a program live in :mod:`server.analytics.loaders`, and the
named analyses on program data in :mod:`server.analytics.registry`.

Modules (one model family each, numbers checked against the R reference named in each):

* ``design.py`` - R-style formulas ("~ elevation + forest") to design matrices (formulaic),
  with the rows dropped for missing values reported.
* ``occupancy.py`` - single-season occupancy (MacKenzie et al. 2002; unmarked ``occu``).
* ``colext.py`` - multi-season occupancy (MacKenzie et al. 2003; unmarked ``colext``).
* ``gof.py`` - MacKenzie-Bailey goodness of fit by parametric bootstrap.
* ``overlap.py`` - activity overlap: von Mises kernel densities, Dhat1/Dhat4/Dhat5, the smoothed
  bootstrap and its intervals (R package overlap); ``suntime.py`` - sunrise and sunset (NOAA)
  and sun-relative times (overlap's ``sunTime``, average anchoring).
* ``richness.py``, ``ai_eval.py``, ``health.py`` - richness estimators (vegan), AI evaluation,
  camera health checks.

``cli.py`` is the ``saola stats`` group: commands over CSV files brought from elsewhere, for
people checking against R (each command in its own ``cli_<name>.py`` module).
"""
