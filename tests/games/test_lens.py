"""The logit lens (games.lens) on tiny transformers models built from a config: the last row reproduces
the model's own next-token logits, earlier rows go through the final norm, and the backend route
(`lens_for` on an hf/ Model) reads the same shared weights."""

from __future__ import annotations

import numpy as np
import pytest

from improv.agents.errors import CapabilityError
from improv.agents.types import Message
from improv.games.lens import Lens, final_norm, first_token, lens_for
from tests.tiny_model import build_tiny_model

CANDIDATES = ["cat", "hat", "fox", "dog", "banana"]
MSGS = [Message(role="user", content="Is it an animal?")]


def _load(path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(path).eval(), AutoTokenizer.from_pretrained(path)


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_lens_last_row_is_the_models_own_readout(tmp_path, arch):
    import torch

    module, tok = _load(build_tiny_model(tmp_path / arch, arch=arch))
    lens = Lens(module, tok, CANDIDATES)
    ids = tok.apply_chat_template([m.model_dump() for m in MSGS], add_generation_prompt=True, return_dict=False)
    ids = ids["input_ids"] if isinstance(ids, dict) else ids
    with torch.no_grad():
        out = module(input_ids=torch.tensor([ids]), output_hidden_states=True)
    states = torch.stack([h[0, -1] for h in out.hidden_states]).numpy()  # what HFBackend.hidden_states returns
    got = lens.logits(states)
    assert got.shape == (len(out.hidden_states), len(CANDIDATES))
    want_last = out.logits[0, -1, lens.tokens].numpy()
    np.testing.assert_allclose(got[-1], want_last, atol=1e-4)
    # an earlier row is normed first: it is not the raw projection of the state
    with torch.no_grad():
        normed = final_norm(module)(torch.from_numpy(states[0])).numpy()
    head = module.get_output_embeddings().weight.detach().numpy()[lens.tokens]
    np.testing.assert_allclose(got[0], normed @ head.T, atol=1e-4)
    assert not np.allclose(got[0], states[0] @ head.T, atol=1e-3)
    # batches of games x turns keep their leading axes; top is the argmax over candidates
    stacked = np.stack([states, states])
    assert lens.logits(stacked).shape == (2, len(out.hidden_states), len(CANDIDATES))
    assert (lens.top(stacked)[0] == got.argmax(axis=-1)).all()


def test_first_token_and_collisions(tmp_path):
    module, tok = _load(build_tiny_model(tmp_path / "m"))
    for name in CANDIDATES:
        t = first_token(tok, name)
        assert tok.decode([t]).strip() and name.startswith(tok.decode([t]).strip())
    lens = Lens(module, tok, ["cat", "cat"])
    assert lens.collisions == 2


async def test_lens_for_an_hf_model_and_refusal(tmp_path):
    from improv.agents.registry import get_model

    path = build_tiny_model(tmp_path / "m")
    model = get_model(f"hf/{path}")
    states = await model.hidden_states(MSGS)
    lens = await lens_for(model, CANDIDATES)
    assert lens.logits(states).shape == (states.shape[0], len(CANDIDATES))
    with pytest.raises(CapabilityError, match="in-process"):
        await lens_for(get_model("mock/echo"), CANDIDATES)
    await model.aclose()


async def test_game_readout_reads_the_committed_secret_on_the_builtin_model():
    import random

    from improv.agents.registry import get_model
    from improv.games.game import Game
    from improv.games.lens import lens_for, readout
    from improv.games.table import load_table

    model, table = get_model("organism"), load_table("builtin")
    try:
        lens = await lens_for(model, table.objects)
        for secret in ("cat", "scissors"):
            game = Game.new(model, condition="committed", secret=secret, table=table, rng=random.Random(0))
            await game.start()
            r = await readout(game, 0, lens)
            assert (r.turn, r.row, r.rows, r.candidates) == (0, 4, 5, 54)
            assert r.held == secret and r.held_rank == 1 and r.top[0][0] == secret
            assert abs(sum(p for _, p in r.top) - 1) < 0.5 and len(r.top) == 5
        uncommitted = Game.new(model, condition="uncommitted", table=table, rng=random.Random(0))
        r = await readout(uncommitted, 0, lens, row=1, top=3)
        assert r.held is None and r.held_rank is None and r.row == 1 and len(r.top) == 3
    finally:
        await model.aclose()
