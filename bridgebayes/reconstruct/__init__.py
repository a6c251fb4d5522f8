"""Pseudo-patient data from published summaries or digitised Kaplan–Meier curves."""

from bridgebayes.reconstruct.guyot import reconstruct_from_km
from bridgebayes.reconstruct.published import PublishedSummary, load_published
from bridgebayes.reconstruct.summaries import (
    Reconstruction,
    fidelity_table,
    reconstruct_ensemble,
    reconstruct_from_summaries,
)

__all__ = [
    "PublishedSummary",
    "Reconstruction",
    "fidelity_table",
    "load_published",
    "reconstruct_ensemble",
    "reconstruct_from_km",
    "reconstruct_from_summaries",
]
