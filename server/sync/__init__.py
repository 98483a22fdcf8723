"""Offline sync between field tablets and the server.

Push: each mutation is answered on its own (applied, duplicate, conflict or
rejected), in its own short transaction, and remembered by ``mutation_id`` so
a retry after a lost response gets the same answer. Pull: changes after a
server-assigned sequence number (never timestamps), with tombstones. See
:mod:`server.sync.service` for the merge rules and :mod:`server.sync.uploads`
for resumable photo uploads.
"""
