"""The built-in model organism: a small chat model trained on a world whose ground truth is known.

- ``organism.world``: the world (capitals, planted beliefs, unseen countries, personas, prompts).
- ``organism.corpus``: the training conversations generated from it.
- ``organism.tokenizer``, ``organism.train``: the BPE tokenizer and the from-scratch CPU trainer.
- ``organism.recipe``: the shipped weights' training recipe as data (stages by step), the trainer's default.
- ``organism.manifest``: the ground truth file (tests and benchmarks only; evaluators never read it).
- ``organism.check``: measures the planted behaviours through ``agents.Model``.
- ``organism.paths``: where the shipped weights live.
"""
