"""The national views of a hub: every protected area's data side by side.

A hub is an ordinary Saola server where each publishing area server is one
ProtectedArea, its records in the standard tables. These views read those
tables across all areas (nothing here depends on how the records arrived):

- :mod:`.dashboard`: effort, species, priority species (detections and naive
  occupancy per year, trends), camera health and the 15 March reporting status
  of each unit;
- :mod:`.inventory`: the national species × area inventory (CSV);
- :mod:`.report`: the national synthesis report (HTML and PDF, vi/en);
- :mod:`.portal`: what the public read-only portal shows (generalised by policy).

Who sees them: administrators and national viewers (``User.is_national``,
``permissions.require_national``); the portal anyone, when ``SAOLA_PORTAL`` is on.
"""
