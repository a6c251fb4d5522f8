"""The ``bridgebayes`` command (see :mod:`bridgebayes.cli.commands`)."""

from bridgebayes.cli.commands import main

__all__ = ["main"]
