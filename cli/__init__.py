"""The ``custody`` command line (installed as the ``custody_cli`` package). Parse, call one
library function, print: no logic lives here."""
