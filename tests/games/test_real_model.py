"""20 Questions on a real chat model nobody here trained (SmolLM2-135M-Instruct, in-process from
its GGUF): what must hold on any real model: every answer has a label and the probabilities it was
drawn from; the stored config says logprobs were asked for; a reveal is an object or a non-reveal."""

from __future__ import annotations

import json

from improv.cli import main


def test_a_twentyq_turn_end_to_end_on_smollm2(smollm2_gguf, tmp_path, capsys):
    script = tmp_path / "q.txt"
    script.write_text("Is it alive?\n")
    code = main(["twentyq", "play", "-m", f"hf/{smollm2_gguf}", "--questioner", f"script:{script}", "--turns", "1",
                 "--objects", "everyday", "-k", "2", "--out", str(tmp_path / "games"), "--json"])
    assert code == 0
    game = json.loads(next((tmp_path / "games").rglob("*.json")).read_text())
    answers = [t for t in game["turns"] if t["meta"].get("kind") == "answer"]
    assert answers, [t["meta"] for t in game["turns"]]
    for a in answers:
        meta = a["meta"]
        assert meta["label"] in {"yes", "no", "unsure", "invalid"}
        assert a["logprobs"] and a["config"]["logprobs"] is True
        assert meta.get("source") in {"logprobs", "scored"}, meta  # read from the model, not parsed
    reveals = [t for t in game["turns"] if t["meta"].get("kind") == "reveal"]
    assert reveals and all(r["meta"]["label"] for r in reveals)
