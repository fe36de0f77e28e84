import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from improv.personas import PersonaError, builtin_personas, get_persona, load_persona


def test_builtin_library_has_the_roles_the_tools_need():
    lib = builtin_personas()
    for name in ("assistant", "honest", "expert", "trickster", "twentyq-host", "twentyq-secret"):
        assert name in lib
    assert lib["twentyq-secret"].template_variables() == ["secret"]
    assert "cat" in lib["twentyq-secret"].render(secret="cat")
    assert "deceptive" in lib["trickster"].tags


def test_missing_variable_is_a_clear_error():
    with pytest.raises(PersonaError, match=r"needs a value for \{secret\}"):
        get_persona("twentyq-secret").render()


def test_unknown_persona():
    with pytest.raises(PersonaError, match="unknown persona 'nobody'"):
        get_persona("nobody")


def test_field_error_names_file_field_and_line(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("name: x\ndescription: ok\ntags:\n  - a\ngeneration: 5\n")
    with pytest.raises(PersonaError) as err:
        load_persona(path)
    assert str(err.value).startswith(f"{path}, line 5: field generation")


def test_unknown_field_is_refused(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("name: x\nsystem_promt: typo\n")
    with pytest.raises(PersonaError, match="line 2: field system_promt: Extra inputs"):
        load_persona(path)


def test_syntax_error_names_line(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("name: x\nsystem_prompt: [unclosed\n")
    with pytest.raises(PersonaError, match=r"p.yaml, line \d+: not valid YAML"):
        load_persona(path)


def test_bad_template_is_reported_at_load(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("name: x\nsystem_prompt: 'broken {brace'\n")
    with pytest.raises(PersonaError, match="system_prompt"):
        load_persona(path)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300), st.sampled_from([".yaml", ".json", ".png", ".yml"]))
def test_no_bytes_make_the_loader_raise_anything_else(tmp_path_factory, data, suffix):
    path = tmp_path_factory.mktemp("fuzz") / f"p{suffix}"
    path.write_bytes(data)
    try:
        load_persona(path)
    except PersonaError:
        pass


yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(["name", "description", "system_prompt", "variables", "greeting", "examples",
                                        "generation", "tags", "extensions", "post_history_instructions", "other"]),
                       yaml_values, max_size=6))
def test_no_yaml_document_makes_the_loader_raise_anything_else(tmp_path_factory, doc):
    import yaml

    path = tmp_path_factory.mktemp("fuzz") / "p.yaml"
    path.write_text(yaml.safe_dump(doc))
    try:
        persona = load_persona(path)
    except PersonaError:
        return
    try:
        persona.render()
    except PersonaError:
        pass
