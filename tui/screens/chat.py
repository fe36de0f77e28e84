"""The chat screen: pick a model and persona, talk, regenerate replies and browse their branches.

- Replies stream in from `Agent.stream` inside a Textual worker (the model itself is built in a
  thread, since the built-in model takes a moment to load), so the UI never blocks.
- ``ctrl+r`` regenerates the focused reply (or the last one) as a sibling branch; ``alt+left`` /
  ``alt+right`` (or ``[`` / ``]`` when the prompt is not focused) step between the siblings of
  the focused reply (or the last one), shown as ``‹ 2/3 ›``.
- ``escape`` cancels a reply in flight. The partial reply is *kept*, marked
  ``finish_reason="cancelled"`` and ``meta["cancelled"]=True`` (see `transcripts.session`); a reply
  cancelled before its first token is discarded. With no reply in flight, escape leaves the field
  it is in: from the model, persona or variables to the message line, from the message line to
  the conversation.
- The agent is built from the app's run spec (`agents.spec`): the model string and variables as
  typed in their fields, the persona chosen; each model is built once and kept.
- The transcript is saved after every turn (the app's ``out`` directory or the default store).
- Changing the persona starts a new conversation (its greeting is the first assistant turn);
  the model string and template variables are read for each reply, so they can change mid-way.
"""

from __future__ import annotations

import asyncio

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header, Select, Static
from textual.worker import Worker

from improv.agents.spec import default_model, parse_variables
from improv.transcripts.session import ChatSession
from improv.agents.text import first_line, one_line
from improv.tui.widgets.data import line
from improv.tui.widgets.field import Field
from improv.tui.widgets.messages import ConversationView, MessageBubble, label_for
from improv.tui.widgets.picker import NO_PERSONA, Picker


class ChatScreen(Screen):
    BINDINGS = [
        # short labels: at 80 columns the footer holds these, the way home and the palette key
        Binding("ctrl+r", "regenerate", "Regen", priority=True),
        Binding("alt+left", "branch(-1)", "‹ branch", priority=True),
        Binding("alt+right", "branch(1)", "branch ›", priority=True),
        Binding("left_square_bracket", "branch(-1)", "Prev branch", show=False),
        Binding("right_square_bracket", "branch(1)", "Next branch", show=False),
        Binding("escape", "cancel", "Stop reply"),  # shown only while a reply is written
        Binding("escape", "leave", "Leave field", show=False),
        Binding("ctrl+n", "new_chat", "New", priority=True),
    ]

    def __init__(self, model: str | None = None, persona: str | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.initial_model = model
        self.initial_persona = persona
        self.persona = None  # the Persona object in use
        self.persona_ref: str | None = None  # the name or path it was loaded from
        self.session: ChatSession | None = None
        self.models: dict[str, object] = {}  # model string -> agents.model.Model, built once
        self.worker: Worker | None = None

    # -- layout ----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        options = getattr(self.app, "options", None)
        variables = getattr(options, "variables", None)
        yield Header()
        yield Picker(self.initial_model, self.initial_persona, variables)
        yield ConversationView(id="conversation")
        yield Static("", id="status", markup=False)
        yield Field(placeholder="message (enter to send)", id="prompt")
        yield Footer()

    async def on_mount(self) -> None:
        await self.new_conversation(self.initial_persona)
        self.query_one("#prompt", Field).focus()

    @property
    def view(self) -> ConversationView:
        return self.query_one("#conversation", ConversationView)

    @property
    def busy(self) -> bool:
        return self.worker is not None and self.worker.is_running

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            return self.busy  # else escape goes on to "leave"
        return True

    def error(self, err: BaseException | str) -> None:
        """One line, never markup (error text may quote model output or file contents)."""
        text = one_line(err) if isinstance(err, str) else first_line(err)
        self.notify(text, severity="error", markup=False, timeout=6)

    # -- conversation ----------------------------------------------------------------------
    async def new_conversation(self, persona_ref: str | None) -> None:
        from improv.personas import get_persona  # type: ignore[attr-defined]
        from improv.personas.errors import PersonaError

        self.persona = None
        self.persona_ref = persona_ref
        if persona_ref:
            try:
                self.persona = get_persona(persona_ref)
            except PersonaError as err:
                self.error(err)
        out = getattr(getattr(self.app, "options", None), "out", None)
        self.session = ChatSession(out=out)
        self.session.start(self.persona)  # saved with the first message, so idle visits leave no file
        await self.render_branch()

    def save(self) -> None:
        assert self.session is not None
        try:
            self.session.save()
        except OSError as err:
            self.error(f"cannot save the transcript: {err.strerror or err}")
        self.update_status()

    def update_status(self, note: str = "") -> None:
        model = self.query_one("#model", Field).value.strip() or default_model()
        persona = self.persona.name if self.persona else "no persona"
        saved = str(self.session.saved) if self.session and self.session.saved else "not saved yet"
        parts = [model, persona, f"transcript: {saved}"]
        if note:
            parts.insert(0, note)
        self.query_one("#status", Static).update(line(" · ".join(parts)))

    def bubble_for_turn(self, turn) -> MessageBubble:
        assert self.session is not None
        greeting = bool(turn.meta.get("greeting"))
        status = "cancelled" if turn.meta.get("cancelled") else ""
        branch = self.session.position(turn.id) if turn.role == "assistant" and not greeting else None
        return MessageBubble(
            turn.id,
            turn.role,
            turn.content,
            label=label_for(turn.role, model=turn.model, persona=turn.persona, greeting=greeting),
            branch=branch,
            status=status,
        )

    async def render_branch(self, upto: str | None = None) -> None:
        """Show the branch in view (or the path to ``upto``)."""
        assert self.session is not None
        turns = self.session.transcript.path(upto) if (upto or self.session.transcript.active) else []
        await self.view.show([self.bubble_for_turn(t) for t in turns])
        self.update_status()

    # -- the model ---------------------------------------------------------------------------
    async def build_agent(self):
        """The agent for the next reply, from the run spec of the fields as they are now."""
        from improv.agents.spec import build_agent, build_model
        from improv.tui.app import run_spec

        spec = run_spec(self, self.query_one("#model", Field).value.strip() or None, persona=self.persona_ref,
                        variables=self.query_one("#vars", Field).value)
        model = self.models.get(spec.model)
        if model is None:
            # the built-in model loads its weights here: keep that off the event loop
            model = await asyncio.to_thread(build_model, spec)
            self.models[spec.model] = model
        return build_agent(spec, model)  # a missing template variable fails here, with its name

    def start_reply(self, parent: str | None, restore: str | None) -> None:
        self.worker = self.run_worker(
            self.reply(parent, restore), group="reply", exclusive=True, exit_on_error=False
        )

    async def reply(self, parent: str | None, restore: str | None) -> None:
        """Stream one reply to ``parent`` into a new bubble. ``restore`` is the active leaf to go
        back to if no reply comes of it (error, or cancelled before the first token)."""
        from improv.agents.errors import ImprovError, ProviderError
        from improv.personas.errors import PersonaError

        assert self.session is not None
        session = self.session
        bubble = await self.view.add(MessageBubble(None, "assistant", label="…", status="starting"))
        started = []  # the reply's turn, once the session has made it

        def on_start(turn) -> None:
            started.append(turn)
            bubble.heading = label_for("assistant", model=turn.model, persona=turn.persona)
            bubble.set_status("writing · esc cancels")
            self.update_status("writing")

        async def give_up() -> None:
            session.transcript.active = restore
            await self.render_branch()

        try:
            self.update_status("loading model…")
            agent = await self.build_agent()
            turn = await session.reply(parent, agent, on_start=on_start, on_delta=bubble.append)
        except asyncio.CancelledError:
            if started and session.is_kept(started[0]):
                self.save()
                bubble.turn_id = started[0].id
                bubble.branch = session.position(started[0].id)
                bubble.set_status("cancelled")
            else:
                bubble.remove()
                session.transcript.active = restore
            self.update_status("cancelled")
            raise
        except (ImprovError, ProviderError, PersonaError) as err:
            self.error(err)
            await give_up()
            return
        except Exception as err:  # a bug in a backend must not take the app down
            self.error(f"{type(err).__name__}: {first_line(err)}")
            await give_up()
            return
        self.save()
        bubble.turn_id = turn.id
        bubble.branch = session.position(turn.id)
        bubble.set_status("")

    # -- actions -------------------------------------------------------------------------------
    @on(Field.Submitted, "#prompt")
    async def send(self, event: Field.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        if self.busy:
            self.notify("a reply is being written; esc cancels it", severity="warning")
            return
        assert self.session is not None
        event.input.value = ""
        user = self.session.add_user(text)
        self.save()
        await self.view.add(self.bubble_for_turn(user))
        self.start_reply(user.id, user.id)  # no reply (error, early cancel): the message stays

    @on(Field.Submitted, "#model")
    def model_changed(self, event: Field.Submitted) -> None:
        from improv.agents.errors import ConfigError
        from improv.agents.spec import parse_run_spec

        try:
            parse_run_spec(event.value.strip() or None)
        except ConfigError as err:
            self.error(err)
            return
        self.update_status()
        self.query_one("#prompt", Field).focus()

    @on(Field.Submitted, "#vars")
    def vars_changed(self, event: Field.Submitted) -> None:
        from improv.agents.errors import ConfigError

        try:
            parse_variables(event.value)
        except ConfigError as err:
            self.error(err)
            return
        self.query_one("#prompt", Field).focus()

    @on(Select.Changed, "#persona")
    async def persona_changed(self, event: Select.Changed) -> None:
        value = event.value if isinstance(event.value, str) else NO_PERSONA
        if self.session is None or value == (self.persona_ref or NO_PERSONA):
            return
        if self.busy and self.worker is not None:
            self.worker.cancel()
        await self.new_conversation(value or None)

    def target_reply(self) -> str | None:
        """The focused reply, else the last reply on the branch in view."""
        assert self.session is not None
        focused = self.focused
        if isinstance(focused, MessageBubble) and focused.turn_id and focused.role == "assistant":
            turn = self.session.transcript.turn(focused.turn_id)
            if not turn.meta.get("greeting"):
                return turn.id
        return self.session.last_reply()

    async def action_regenerate(self) -> None:
        if self.busy:
            self.notify("a reply is being written; esc cancels it", severity="warning")
            return
        assert self.session is not None
        t = self.session.transcript
        leaf = t.turn(t.active) if t.active else None
        if leaf is not None and leaf.role == "user":
            target = None  # the last message has no reply (an error or a cancel): answer it
        else:
            target = self.target_reply()
            if target is None:
                self.notify("nothing to regenerate yet", severity="warning")
                return
        parent = self.session.reply_parent(target)
        restore = t.active
        t.active = parent
        await self.render_branch()
        self.query_one("#prompt", Field).focus()
        self.start_reply(parent, restore)

    async def action_branch(self, delta: int) -> None:
        if self.busy:
            self.notify("a reply is being written; esc cancels it", severity="warning")
            return
        assert self.session is not None
        target = self.target_reply()
        if target is None:
            return
        refocus = isinstance(self.focused, MessageBubble)
        moved = self.session.step(target, delta)
        if moved is None:
            self.app.bell()
            return
        self.save()
        await self.render_branch()
        if refocus:
            bubble = self.view.bubble_for(moved)
            if bubble is not None:
                bubble.focus()

    def action_cancel(self) -> None:
        if self.busy and self.worker is not None:
            self.worker.cancel()

    def action_leave(self) -> None:
        """Escape with no reply in flight: from the message line to the conversation (the last
        reply, where ctrl+r and [ ] act), from anywhere else back to the message line."""
        prompt = self.query_one("#prompt", Field)
        if self.focused is prompt:
            bubbles = self.view.bubbles()
            (bubbles[-1] if bubbles else self.view).focus()
        else:
            prompt.focus()

    async def action_new_chat(self) -> None:
        if self.busy and self.worker is not None:
            self.worker.cancel()
        await self.new_conversation(self.persona_ref)
        self.query_one("#prompt", Field).focus()

    async def on_unmount(self) -> None:
        for model in self.models.values():
            try:
                await model.aclose()  # type: ignore[attr-defined]
            except Exception:
                pass
