"""National hub mode: protected-area servers publish their records to a national hub.

- :mod:`.kinds`: what is published, in which order, and how a record becomes a payload;
- :mod:`.protocol`: content hashes, the token header, the wire format shared by both ends;
- :mod:`.publish`: the area server's side (``saola publish``, the ``hub_publish`` job);
- :mod:`.receive`: the hub's side (ownership map, revisions, tombstones, files);
- :mod:`.peers`: registering and revoking area servers at the hub (``saola hub``).
"""
