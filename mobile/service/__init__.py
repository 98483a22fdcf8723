"""The Android foreground service that records the GPS track while the app is in the background."""
