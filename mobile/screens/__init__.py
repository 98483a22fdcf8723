"""Kivy screens, one module and one .kv file each (loaded on first use by SaolaApp.screen)."""
