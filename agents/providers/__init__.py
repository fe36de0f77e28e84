"""Provider adapters, one module per wire protocol; loaded lazily by `agents.registry`."""
