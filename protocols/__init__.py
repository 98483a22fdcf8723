"""Field protocols and species reference, shared by the server and the field app.

Stdlib only: this package must run on Android (no pydantic, no compiled deps).
"""
