"""Every registered screen, at 80x24 and at 160x48, keeps the app's word: it opens from its
key on the home screen, its footer shows the way home and every binding fits on the line,
nothing is cut off without a way to scroll to it, focusing a field does not select its text,
Escape leaves a field, and the home binding goes back to the home screen."""

from __future__ import annotations

import pytest
from textual.geometry import Region
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Input

from improv.tui import registry
from improv.tui.app import HOME_KEY, ImprovApp
from improv.tui.screens.home import HomeScreen

SIZES = [(80, 24), (160, 48)]


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("IMPROV_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("IMPROV_MODEL", raising=False)
    return tmp_path


def shown(widget: Widget) -> bool:
    node = widget
    while isinstance(node, Widget) and not isinstance(node, Screen):
        if not node.display or node.styles.visibility == "hidden":
            return False
        node = node.parent
    return True


def scrolls(container: Widget, outside: Region, inside: Region) -> bool:
    """Whether ``container`` can scroll to the part of ``outside`` that sticks out of ``inside``
    (a scrollbar shows that there is more)."""
    vertical = outside.y < inside.y or outside.bottom > inside.bottom
    horizontal = outside.x < inside.x or outside.right > inside.right
    return (not vertical or container.allow_vertical_scroll) and (not horizontal or container.allow_horizontal_scroll)


def cut_off(screen: Screen) -> list[str]:
    """Widgets that stick out of their container where it cannot scroll to them, and controls
    squeezed to nothing."""
    problems = []
    placed = screen._compositor.full_map  # every widget's region, scrolled out of view or not
    for widget in screen.walk_children(with_self=False):
        if not shown(widget) or widget not in placed or isinstance(widget.parent, Footer):
            continue
        region = placed[widget].region
        name = f"{type(widget).__name__}#{widget.id}"
        if widget.focusable and (region.width == 0 or region.height == 0):
            problems.append(f"{name} squeezed to {region.width}x{region.height}")
            continue
        parent = widget.parent
        if not isinstance(parent, Widget) or parent not in placed or region.area == 0:
            continue
        inside = placed[parent].region.shrink(parent.styles.gutter)
        if isinstance(parent, Screen):
            inside = Region(0, 0, *screen.size)
        if not inside.contains_region(region) and not scrolls(parent, region, inside):
            problems.append(f"{name} at {tuple(region)} outside {type(parent).__name__}#{parent.id} {tuple(inside)}")
    return problems


def footer_fits(keys: dict[str, Region], width: int) -> bool:
    """Every key inside the line and none drawn over another (the palette key is docked right)."""
    spans = sorted((r.x, r.right) for r in keys.values())
    return all(0 < right <= width for _, right in spans) and all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))


def footer_keys(screen: Screen) -> dict[str, Region]:
    footer = screen.query_one(Footer)
    return {key.key: key.region for key in footer.query("FooterKey")}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("entry", registry.SCREENS, ids=lambda e: e.title)
async def test_screen_keeps_its_word(entry, size):
    app = ImprovApp("mock/echo")
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        await pilot.press(entry.key)
        await pilot.pause()
        screen = app.screen
        module, _, cls = entry.target.partition(":")
        assert type(screen).__name__ == cls and type(screen).__module__ == module, f"{entry.title} did not open"
        await pilot.pause()

        # the footer shows the way home, and every key it shows fits on the line
        keys = footer_keys(screen)
        assert HOME_KEY in keys, f"{entry.title}: the footer does not show {HOME_KEY} (home)"
        width = size[0]
        assert footer_fits(keys, width), \
            f"{entry.title}: footer keys cut off at {width} columns: {[(k, r.x, r.right) for k, r in keys.items()]}"

        # nothing is cut off without a way to scroll to it
        problems = cut_off(screen)
        assert problems == [], f"{entry.title}: {problems}"

        # every field: focusing it selects nothing (a stray key must not wipe it); Escape leaves it
        fields = [w for w in screen.query(Input) if shown(w)]
        for field in fields:
            field.value = field.value or "typed text"
            field.focus()
            await pilot.pause()
            assert app.focused is field
            assert field.selection.is_empty, f"{entry.title}: focusing #{field.id} selected its text"
            await pilot.press("escape")
            await pilot.pause()
            assert app.focused is not field, f"{entry.title}: escape did not leave #{field.id}"
            assert app.screen is screen

        # the one home binding goes back home, from a field too
        if fields:
            fields[0].focus()
            await pilot.pause()
        await pilot.press(HOME_KEY)
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen), f"{entry.title}: {HOME_KEY} did not go home"
        assert HOME_KEY not in footer_keys(app.screen)  # nothing to go back to from home
        await pilot.press(entry.key)  # and the screen is kept as it was left
        await pilot.pause()
        assert app.screen is screen
        await app.workers.wait_for_complete()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_home_screen_fits(size):
    app = ImprovApp("mock/echo")
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        assert cut_off(app.screen) == []
        assert footer_fits(footer_keys(app.screen), size[0])


class Crowded(Screen):
    """A screen that breaks every rule the checks above look for."""

    BINDINGS = [(f"ctrl+{c}", f"noop('{c}')", f"Binding number {c}") for c in "abdefg"]
    DEFAULT_CSS = """
    Crowded #box { height: 6; overflow: hidden; }
    Crowded #tall { height: 20; }
    Crowded #squeezed { height: 0; }
    """

    def action_noop(self, c: str) -> None:
        pass

    def compose(self):
        from textual.containers import Vertical, VerticalScroll
        from textual.widgets import Static

        with Vertical(id="box"):
            yield Static("a panel taller than its box", id="tall")
        yield VerticalScroll(id="squeezed")
        yield Footer()


async def test_the_checks_see_what_is_cut_off():
    from textual.app import App

    class Host(App):
        def on_mount(self):
            self.push_screen(Crowded())

    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        problems = cut_off(app.screen)
        assert any(p.startswith("Static#tall") for p in problems) and any(p.startswith("VerticalScroll#squeezed") for p in problems)
        assert not footer_fits(footer_keys(app.screen), 80)
