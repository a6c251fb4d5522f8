"""The ``bridgebayes`` command (see :mod:`bridgebayes.cli.commands`)."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bridgebayes`` command (:func:`bridgebayes.cli.commands.main`)."""
    from bridgebayes.cli.commands import main as command

    return command(argv)
