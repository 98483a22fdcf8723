"""Cellular (4G) camera traps: the FTP/FTPS endpoint they upload to (``saola ftp``), their logins
(managed per protected area: ``logins.py``, the API and the administration page), and the
ingest of what they send as it arrives (``receiver.py``)."""
