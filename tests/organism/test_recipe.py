"""The shipped model's recipe, reconstructed from organism/model/training.json's history: stages by
step, with the learning rate each recorded run had (no training here)."""

import json
import re
import shlex

import pytest

from improv.organism import recipe as rc
from improv.organism.corpus import KINDS
from improv.organism.paths import MODEL_DIR
from improv.organism.recipe import SHIPPED


def _history():
    return json.loads((MODEL_DIR / "training.json").read_text())["history"]


def _option(command: str, flag: str) -> str | None:
    words = shlex.split(command)
    return words[words.index(flag) + 1] if flag in words else None


def test_runs_transcribe_the_recorded_history():
    history = _history()
    assert len(history) == len(rc.RUNS)
    for run, rec in zip(rc.RUNS, history):
        assert run.stopped_at_step == rec["stopped_at_step"]
        assert run.elapsed_seconds == rec["elapsed_seconds"]
        assert run.minutes == float(_option(rec["command"], "--minutes"))
        assert run.soft_weight == float(_option(rec["command"], "--soft-weight") or 1.0)
        mix = _option(rec["command"], "--mix")
        if mix is None:  # the first run: the corpus defaults of its time, first stage included
            assert run.mix == rc.DEFAULT_MIX and run.first_stage == 0.2
        else:  # same kinds, weights and order (the corpus draws kinds in this order)
            pairs = [part.split("=") for part in mix.split(",")]
            assert list(run.mix.items()) == [(k, float(w)) for k, w in pairs]


def test_stages_are_contiguous_and_total_the_shipped_steps():
    stages = SHIPPED.stages
    assert stages[0].start == 0
    assert all(a.end == b.start for a, b in zip(stages, stages[1:]))
    assert all(s.end > s.start for s in stages)
    assert SHIPPED.total == 18892 == json.loads((MODEL_DIR / "training.json").read_text())["steps"]
    assert [s.name for s in stages] == ["first", "default", "reveal", "anneal", "uncommitted"]
    assert [s.end for s in stages][1:] == [r.stopped_at_step for r in rc.RUNS]
    assert SHIPPED.minutes_on_2_cores == 193.0
    for s in stages:
        assert set(s.mix) <= set(KINDS) and sum(s.mix.values()) > 0


def test_the_first_stage_ends_at_a_fifth_of_the_first_runs_budget_on_a_chunk_boundary():
    from improv.organism.train import CHUNK

    assert rc.CHUNK == CHUNK
    first, default = SHIPPED.stages[:2]
    assert first.mix == rc.FIRST_STAGE_MIX and default.mix == rc.DEFAULT_MIX
    assert first.end % CHUNK == 0
    run = rc.RUNS[0]
    at_fifth = 0.2 * run.minutes * 60 * run.stopped_at_step / run.elapsed_seconds  # constant speed
    assert abs(first.end - at_fifth) <= CHUNK / 2
    assert [s.soft_weight for s in SHIPPED.stages] == [1.0, 1.0, 10.0, 10.0, 10.0]


def sig2(x: float) -> str:
    return f"{x:.1e}"


def test_learning_rate_at_the_recorded_points():
    lr = SHIPPED.lr_at
    assert lr(0) == pytest.approx(1e-3 / 150) and lr(149) == pytest.approx(1e-3) and lr(150) == pytest.approx(1e-3)
    # step 4,200: the note says 3.1e-4; at constant speed the cosine stood at 2.7e-4 (see organism.recipe)
    assert sig2(lr(4199)) == "2.7e-04"
    # the second run re-raised it (its longer budget put the cosine back at 36%) and stopped by hand
    assert sig2(lr(4200)) == "7.3e-04" and sig2(lr(7399)) == "2.6e-04"
    # the third: "lr 1.2e-4 -> 5e-5"
    assert sig2(lr(7400)) == "1.2e-04" and sig2(lr(8800)) == "5.0e-05"
    # the fourth: "re-raised the cosine to lr 6e-4 and annealed it to 5e-5"
    assert sig2(lr(8801)) == "6.0e-04" and sig2(lr(18891)) == "5.0e-05"


def test_learning_rate_is_continuous_within_each_run_and_jumps_only_at_the_resumes():
    steps = range(150, SHIPPED.total)
    values = [SHIPPED.lr_at(s) for s in steps]
    jumps = {s for s, a, b in zip(steps[1:], values, values[1:]) if abs(b - a) > 2e-6}
    assert jumps == {4200, 7400, 8801}
    # within a run the cosine only falls (the first stage's switch at 1,216 leaves it alone)
    assert all(b <= a + 1e-15 for s, a, b in zip(steps[1:], values, values[1:]) if s not in jumps)
    assert SHIPPED.lr_at(SHIPPED.stages[0].end - 1) == pytest.approx(SHIPPED.lr_at(SHIPPED.stages[1].start), rel=1e-3)


@pytest.mark.parametrize("step, stage", [(0, "first"), (1215, "first"), (1216, "default"), (4199, "default"),
                                         (4200, "reveal"), (7399, "reveal"), (7400, "anneal"), (8800, "anneal"),
                                         (8801, "uncommitted"), (18891, "uncommitted"), (18892, "uncommitted")])
def test_the_stage_of_a_checkpoint_step(step, stage):
    # a checkpoint at step n has done n steps; the next one (index n) is trained by stage_at(n)
    assert SHIPPED.stage_at(step).name == stage


def test_a_scaled_recipe_keeps_its_stages_and_shape():
    small = SHIPPED.scaled(40)
    assert small.total == 40 and small.name == "shipped@40"
    assert [s.name for s in small.stages] == [s.name for s in SHIPPED.stages]
    assert small.stages[0].start == 0 and all(a.end == b.start for a, b in zip(small.stages, small.stages[1:]))
    assert all(s.end > s.start for s in small.stages)
    for big, little in zip(SHIPPED.stages, small.stages):
        assert little.mix == big.mix and little.soft_weight == big.soft_weight
        # the cosine position at a stage's start is where the recorded run was, up to rounding
        assert little.position(little.start) == pytest.approx(big.position(big.start), abs=0.1)
    assert small.stages[-1].lr_at(39) == pytest.approx(5e-5, rel=0.05)
    tiny = SHIPPED.scaled(5)
    assert [s.end - s.start for s in tiny.stages] == [1, 1, 1, 1, 1]
    with pytest.raises(ValueError):
        SHIPPED.scaled(4)


def test_the_module_docstring_states_the_reconstructed_points():
    # the docstring is where a reader learns the guesses; keep its figures tied to the code
    doc = rc.__doc__
    assert "1,216" in doc and str(SHIPPED.stages[0].end) == "1216"
    assert re.search(r"constant speed gives 2\.7e-4", doc)
