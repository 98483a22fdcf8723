"""Domain operations shared by the API, the web UI and the CLI."""
