"""run layer (see ARCHITECTURE.md)."""
