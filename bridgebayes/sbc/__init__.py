"""sbc layer (see ARCHITECTURE.md)."""
