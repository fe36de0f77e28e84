from improv.agents.errors import ImprovError


class TranscriptError(ImprovError):
    """A transcript file is missing, malformed, or from a newer schema version."""
