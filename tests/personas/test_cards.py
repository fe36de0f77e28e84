import base64
import json

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from improv.personas import PersonaError, get_persona, import_persona, load_persona
from improv.personas.cards import CARD_KEY

V2 = {
    "spec": "chara_card_v2",
    "spec_version": "2.0",
    "data": {
        "name": "Mira",
        "description": "{{char}} is a sly fox spirit who teases {{user}}. Uses {braces} in text.",
        "personality": "playful",
        "scenario": "A forest at dusk.",
        "first_mes": "Hello {{user}}, I am {{char}}.",
        "mes_example": "<START>\n{{user}}: Who are you?\n{{char}}: Just a fox.\nA clever one.",
        "creator_notes": "Made for tests.",
        "system_prompt": "{{original}} Never break character.",
        "post_history_instructions": "Stay sly, {{char}}.",
        "alternate_greetings": ["Hi!"],
        "tags": ["fox", "trickster"],
        "creator": "someone",
        "character_version": "1.2",
        "extensions": {"depth_prompt": {"prompt": "x", "depth": 4}, "vendor/thing": [1, 2]},
    },
}


def v3(card=V2):
    data = dict(card["data"], name="Mira3", assets=[{"type": "icon", "uri": "ccdefault:", "name": "main", "ext": "png"}])
    return {"spec": "chara_card_v3", "spec_version": "3.0", "data": data}


def write_png(path, chunks):
    info = PngInfo()
    for key, card in chunks.items():
        info.add_text(key, base64.b64encode(json.dumps(card).encode()).decode())
    Image.new("RGB", (2, 2)).save(path, pnginfo=info)


def test_v2_json_card_maps_fields_and_keeps_extensions(tmp_path):
    path = tmp_path / "mira.json"
    path.write_text(json.dumps(V2))
    p = load_persona(path)
    assert p.name == "Mira"
    prompt = p.render(user="Sam")
    assert "Mira is a sly fox spirit who teases Sam. Uses {braces} in text." in prompt
    assert prompt.startswith("You are Mira.") and "Never break character." in prompt
    assert "Mira's personality: playful" in prompt and "Scenario: A forest at dusk." in prompt
    assert p.greeting == "Hello User, I am Mira."
    assert p.post_history_instructions == "Stay sly, Mira."
    assert [(e.role, e.content) for e in p.examples] == [("user", "Who are you?"), ("assistant", "Just a fox.\nA clever one.")]
    assert p.extensions["depth_prompt"] == {"prompt": "x", "depth": 4}
    assert p.extensions["vendor/thing"] == [1, 2]
    kept = p.extensions[CARD_KEY]["fields"]
    assert kept["alternate_greetings"] == ["Hi!"] and kept["creator"] == "someone"


def test_png_prefers_v3_chunk(tmp_path):
    path = tmp_path / "card.png"
    write_png(path, {"chara": V2, "ccv3": v3()})
    p = load_persona(path)
    assert p.name == "Mira3"
    assert p.extensions[CARD_KEY]["spec"] == "chara_card_v3"
    assert p.extensions[CARD_KEY]["fields"]["assets"][0]["type"] == "icon"


def test_png_v2_only(tmp_path):
    path = tmp_path / "card.png"
    write_png(path, {"chara": V2})
    assert load_persona(path).name == "Mira"


def test_png_without_card_is_a_clear_error(tmp_path):
    path = tmp_path / "plain.png"
    Image.new("RGB", (2, 2)).save(path)
    with pytest.raises(PersonaError, match="plain.png: PNG has no character card"):
        load_persona(path)


def test_v1_card(tmp_path):
    path = tmp_path / "v1.json"
    path.write_text(json.dumps({"name": "Old", "description": "An old card.", "first_mes": "Hi"}))
    p = load_persona(path)
    assert p.name == "Old" and p.greeting == "Hi"


@pytest.mark.parametrize(
    "card, message",
    [
        ({"spec": "chara_card_v9", "data": {}}, "field spec"),
        ({"spec": "chara_card_v2", "data": []}, "field data"),
        ({"spec": "chara_card_v2", "data": {"name": ""}}, "field data.name"),
        ({"spec": "chara_card_v2", "data": {"name": "x", "tags": "a"}}, "field data.tags"),
        ({"spec": "chara_card_v2", "data": {"name": "x", "first_mes": 3}}, "field data.first_mes"),
    ],
)
def test_broken_cards_name_the_field(tmp_path, card, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(card))
    with pytest.raises(PersonaError, match=message):
        load_persona(path)


def test_import_then_lookup_by_name(tmp_path, monkeypatch):
    monkeypatch.setenv("IMPROV_DATA_DIR", str(tmp_path))
    src = tmp_path / "mira.json"
    src.write_text(json.dumps(V2))
    persona, target = import_persona(src)
    assert target.parent == tmp_path / "personas"
    again = get_persona("Mira")
    assert again.render(user="Sam") == persona.render(user="Sam")
    assert again.extensions == persona.extensions
    with pytest.raises(PersonaError, match="already imported"):
        import_persona(src)
