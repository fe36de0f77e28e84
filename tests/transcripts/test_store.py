import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from improv.agents.types import GenerateConfig
from improv.transcripts import SCHEMA_VERSION, Transcript, TranscriptError, Turn, load, save
from improv.transcripts.export import to_jsonl, to_markdown


def tree() -> Transcript:
    t = Transcript(title="t")
    u = t.add(Turn(role="user", content="Hi [bold]x[/] \x1b[2J"))
    a1 = t.add(Turn(parent=u.id, role="assistant", content="one", model="mock/a", system_prompt="Be nice.",
                    config=GenerateConfig(temperature=0.5)))
    t.add(Turn(parent=u.id, role="assistant", content="two", model="mock/a"), activate=False)
    u2 = t.add(Turn(parent=a1.id, role="user", content="more"))
    t.add(Turn(parent=u2.id, role="assistant", content="```\ncode\n```"))
    return t


def test_round_trip_and_tree_navigation(tmp_path):
    t = tree()
    path = save(t, tmp_path)
    back = load(path)
    assert back == t
    assert [m.content for m in back.messages()][:2] == ["Hi [bold]x[/] \x1b[2J", "one"]
    reply = back.path()[1]
    assert [s.content for s in back.siblings(reply.id)] == ["one", "two"]
    assert len(back.leaves()) == 2
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp"))


def test_exports(tmp_path):
    t = tree()
    lines = to_jsonl(t, all_branches=True).splitlines()
    assert len(lines) == 2
    branches = [json.loads(line)["messages"] for line in lines]
    long = next(b for b in branches if len(b) > 3)
    assert long[0] == {"role": "system", "content": "Be nice."}
    short = next(b for b in branches if len(b) <= 3)
    assert [m["content"] for m in short] == ["Hi [bold]x[/] \x1b[2J", "two"]
    assert to_jsonl(t).count("\n") == 1
    md = to_markdown(t)
    assert "1 other branch(es)" in md and "````text\n```\ncode\n```\n````" in md


def test_future_version_and_malformed_files(tmp_path):
    path = tmp_path / "t.json"
    data = json.loads(tree().model_dump_json())
    data["schema_version"] = SCHEMA_VERSION + 1
    path.write_text(json.dumps(data))
    with pytest.raises(TranscriptError, match="newer than this improv"):
        load(path)
    path.write_text("{\n  \"schema_version\": 1,\n  oops\n}")
    with pytest.raises(TranscriptError, match="line 3, column 3: not valid JSON"):
        load(path)
    data["schema_version"] = 1
    data["turns"][1]["parent"] = data["turns"][3]["id"]
    data["turns"][3]["parent"] = data["turns"][1]["id"]
    path.write_text(json.dumps(data))
    with pytest.raises(TranscriptError, match="cycle"):
        load(path)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=10), c, max_size=4),
    max_leaves=12,
)


def mutations():
    base = json.loads(tree().model_dump_json())
    keys = ["schema_version", "turns", "active", "personas", "id", "kind", "meta", "created"]
    return st.tuples(st.sampled_from(keys), json_values).map(lambda kv: {**base, kv[0]: kv[1]})


@settings(max_examples=200, deadline=None)
@given(st.one_of(json_values, mutations(), st.binary(max_size=200)))
def test_no_input_makes_the_loader_raise_anything_else(tmp_path_factory, doc):
    path = tmp_path_factory.mktemp("fuzz") / "t.json"
    if isinstance(doc, bytes):
        path.write_bytes(doc)
    else:
        path.write_text(json.dumps(doc))
    try:
        t = load(path)
    except TranscriptError:
        return
    t.messages()  # a loaded transcript's tree can always be walked


def test_load_reads_the_encodings_json_reads(tmp_path):
    """The store decodes the file itself (so the bytes go before the parse): a BOM, UTF-16 and
    surrogate escapes load as ``json.loads`` would load them; other bytes are one line."""
    t = tree()
    t.turns[0].content = "caf\u00e9 \ud800 \U0001f600"
    text = json.dumps(t.model_dump(mode="json"), ensure_ascii=False)
    for name, data in [("bom.json", b"\xef\xbb\xbf" + text.encode("utf-8", "surrogatepass")),
                       ("utf16.json", text.encode("utf-16", "surrogatepass"))]:
        (tmp_path / name).write_bytes(data)
        assert load(tmp_path / name) == t
    (tmp_path / "latin1.json").write_bytes(b'{"schema_version": 1, "title": "caf\xe9"}')
    with pytest.raises(TranscriptError, match=r"latin1\.json: not UTF-8 text$"):
        load(tmp_path / "latin1.json")


def test_markdown_fence_is_longer_than_any_fence_line_inside():
    t = Transcript(title="t")
    u = t.add(Turn(role="user", content="q"))
    t.add(Turn(parent=u.id, role="assistant", content="a\n`````\n```python x\n`````` y\n``"))
    md = to_markdown(t)
    assert "``````text\na\n`````\n```python x\n`````` y\n``\n``````\n" in md and md.endswith("\n")
