"""Hostile persona files: each is refused in one line naming the file (and line), within the
budget of `personas.budget`, never expanded in memory first."""

import base64
import json
import struct
import tracemalloc
import zlib

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from improv.personas import PersonaError, import_persona, load_persona
from improv.personas import budget


def alias_bomb(field: str, levels: int = 9) -> str:
    """The billion-laughs YAML: ``levels`` anchors, each a list of 9 aliases of the one before."""
    lines = ['a0: &a0 "lol"']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join(f'*a{i - 1}' for _ in range(9))}]")
    body = "\n".join("  " + line for line in lines)
    return f"name: bomb\nsystem_prompt: hi\n{field}:\n{body}\n"


def refused_within_budget(path, match: str) -> str:
    tracemalloc.start()
    try:
        with pytest.raises(PersonaError, match=match) as info:
            load_persona(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 1024 * 1024, f"peak {peak / 1e6:.0f} MB"
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    return message


@pytest.mark.parametrize("field", ["extensions", "generation", "variables", "name"])
def test_yaml_alias_bomb_is_refused_before_expansion(tmp_path, field):
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb(field))
    assert path.stat().st_size < 600
    refused_within_budget(path, r"line \d+: YAML expands to more than")


def test_yaml_self_referencing_alias_and_deep_nesting_are_refused(tmp_path):
    path = tmp_path / "loop.yaml"
    path.write_text("name: x\nextensions: &a\n  self: *a\n")
    with pytest.raises(PersonaError, match="alias refers to itself|nested more than|not valid YAML"):
        load_persona(path)
    path.write_text("name: x\nextensions: " + "[" * 5000 + "]" * 5000 + "\n")
    refused_within_budget(path, "nested more than|not valid YAML")


def test_a_few_aliases_within_budget_still_load(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text("name: ok\nsystem_prompt: hi\nextensions:\n  base: &b {x: 1, y: [1, 2]}\n  copy: *b\n")
    assert load_persona(path).extensions["copy"] == {"x": 1, "y": [1, 2]}


def test_oversized_persona_file_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text("name: huge\nsystem_prompt: " + "x" * (budget.PERSONA_BYTES + 10) + "\n")
    refused_within_budget(path, "larger than 1 MiB")
    with pytest.raises(PersonaError, match="larger than"):
        import_persona(path, tmp_path / "store")
    assert not (tmp_path / "store").exists()


def chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def png(*chunks: bytes) -> bytes:
    ihdr = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    return budget_png_signature() + ihdr + b"".join(chunks) + chunk(b"IEND", b"")


def budget_png_signature() -> bytes:
    from improv.personas.cards import PNG_SIGNATURE

    return PNG_SIGNATURE


def test_png_ztxt_deflate_bomb_is_refused_at_the_cap(tmp_path):
    bomb = zlib.compress(b"A" * (256 * 1024 * 1024), 9)  # 256 MiB of text in ~250 KB
    path = tmp_path / "bomb.png"
    path.write_bytes(png(chunk(b"zTXt", b"chara\x00\x00" + bomb)))
    refused_within_budget(path, "decompresses to more than 2 MiB")


def test_png_itxt_compressed_bomb_and_many_small_chunks_are_refused(tmp_path):
    bomb = zlib.compress(b"A" * (64 * 1024 * 1024), 9)
    path = tmp_path / "itxt.png"
    path.write_bytes(png(chunk(b"iTXt", b"chara\x00\x01\x00\x00\x00" + bomb)))
    refused_within_budget(path, "decompresses to more than")
    small = zlib.compress(b"B" * (budget.PNG_TEXT_BYTES // 2 + 1), 9)  # each under the cap, together over it
    path.write_bytes(png(*(chunk(b"zTXt", f"k{i}".encode() + b"\x00\x00" + small) for i in range(3))))
    refused_within_budget(path, "more than")


def test_png_card_within_budget_still_loads(tmp_path):
    card = {"spec": "chara_card_v2", "data": {"name": "Small"}}
    text = base64.b64encode(json.dumps(card).encode())
    path = tmp_path / "ok.png"
    path.write_bytes(png(chunk(b"zTXt", b"chara\x00\x00" + zlib.compress(text))))
    assert load_persona(path).name == "Small"


def test_deeply_nested_card_json_is_refused(tmp_path):
    path = tmp_path / "deep.json"
    inner = "[" * 500 + "]" * 500
    path.write_text('{"spec": "chara_card_v2", "data": {"name": "d", "extensions": {"x": ' + inner + "}}}")
    refused_within_budget(path, "nested more than")
    path.write_text("[" * 100_000 + "]" * 100_000)
    refused_within_budget(path, "nested")


def test_card_json_error_names_line_and_column(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{\n  "name": "x",\n  oops\n}')
    with pytest.raises(PersonaError, match=r"line 3, column 3: not valid JSON"):
        load_persona(path)


yaml_values = st.recursive(
    st.one_of(st.integers(), st.text(max_size=5), st.booleans(), st.none()),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=yaml_values, fan=st.integers(1, 12), levels=st.integers(1, 12))
def test_any_alias_fan_out_loads_or_is_refused_cleanly(tmp_path, value, fan, levels):
    """Whatever the fan-out and depth of aliases, the loader either returns the persona or
    refuses in one line, and never builds more than the node budget."""
    lines = [f"a0: &a0 {json.dumps(value)}"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join(f'*a{i - 1}' for _ in range(fan))}]")
    path = tmp_path / "p.yaml"
    path.write_text("name: p\nextensions:\n" + "\n".join("  " + x for x in lines) + "\n")
    try:
        persona = load_persona(path)
    except PersonaError as err:
        assert "\n" not in str(err) and str(path) in str(err)
        assert fan ** (levels - 1) > budget.YAML_NODES // 1000 or "not valid YAML" in str(err)
    else:
        assert fan ** (levels - 1) <= budget.YAML_NODES
        assert persona.extensions["a0"] == yaml.safe_load(json.dumps(value))
