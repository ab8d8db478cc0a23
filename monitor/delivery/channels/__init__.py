"""Channel kinds: one class per kind, registered in ``CHANNELS``."""
