"""Transcripts: the schema (a tree of turns), the on-disk store, export, and batch replay."""

from .errors import TranscriptError
from .schema import SCHEMA_VERSION, Transcript, Turn
from .store import default_dir, list_transcripts, load, resolve, save

__all__ = ["SCHEMA_VERSION", "Transcript", "TranscriptError", "Turn", "default_dir", "list_transcripts", "load", "resolve", "save"]
