"""Android build files: the FileProvider declaration and its hook (see buildozer.spec)."""
