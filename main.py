"""Entry point python-for-android (buildozer) runs on the tablet: the Saola field app."""
from mobile.__main__ import main

main()
