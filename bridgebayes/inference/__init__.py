"""inference layer (see ARCHITECTURE.md)."""
