"""Fixtures for the transformers-backed tests: one tiny model per session, saved to a tmp dir."""

from __future__ import annotations

import pytest

from tests.tiny_model import build_tiny_model


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A ~30k-parameter llama-style causal LM with a byte-level BPE tokenizer and chat template."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama") / "model", arch="llama")


@pytest.fixture(scope="session")
def tiny_gpt2_dir(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny-gpt2") / "model", arch="gpt2")


@pytest.fixture(scope="session")
def tiny_no_template_dir(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny-notemplate") / "model", chat_template=False)
