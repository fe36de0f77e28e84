"""The chat screen: pick a model and persona, talk, regenerate replies and browse their branches.

- Replies stream in from `Agent.stream` inside a Textual worker (the model itself is built in a
  thread, since the built-in model takes a moment to load), so the UI never blocks.
- ``ctrl+r`` regenerates the focused reply (or the last one) as a sibling branch; ``alt+left`` /
  ``alt+right`` (or ``[`` / ``]`` when the prompt is not focused) step between the siblings of
  the focused reply (or the last one), shown as ``‹ 2/3 ›``.
- ``escape`` cancels a reply in flight. The partial reply is *kept*, marked
  ``finish_reason="cancelled"`` and ``meta["cancelled"]=True`` (see `transcripts.session`); a reply
  cancelled before its first token is discarded.
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
from textual.widgets import Footer, Header, Input, Select, Static
from textual.worker import Worker

from improv.agents.text import printable
from improv.transcripts.session import ChatSession
from improv.tui.widgets.data import error_line
from improv.tui.widgets.messages import ConversationView, MessageBubble, label_for
from improv.tui.widgets.picker import NO_PERSONA, Picker, default_model, parse_vars


class ChatScreen(Screen):
    BINDINGS = [
        Binding("ctrl+r", "regenerate", "Regenerate", priority=True),
        Binding("alt+left", "branch(-1)", "Prev branch", priority=True),
        Binding("alt+right", "branch(1)", "Next branch", priority=True),
        Binding("left_square_bracket", "branch(-1)", "Prev branch", show=False),
        Binding("right_square_bracket", "branch(1)", "Next branch", show=False),
        Binding("escape", "cancel", "Cancel reply"),
        Binding("ctrl+n", "new_chat", "New chat", priority=True),
        Binding("ctrl+o", "home", "Home", priority=True),
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
        yield Input(placeholder="message (enter to send)", id="prompt")
        yield Footer()

    async def on_mount(self) -> None:
        await self.new_conversation(self.initial_persona)
        self.query_one("#prompt", Input).focus()

    @property
    def view(self) -> ConversationView:
        return self.query_one("#conversation", ConversationView)

    @property
    def busy(self) -> bool:
        return self.worker is not None and self.worker.is_running

    def error(self, err: BaseException | str) -> None:
        """One line, never markup (error text may quote model output or file contents)."""
        text = err if isinstance(err, str) else error_line(err)
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
        model = self.query_one("#model", Input).value.strip() or default_model(None)
        persona = self.persona.name if self.persona else "no persona"
        saved = str(self.session.saved) if self.session and self.session.saved else "not saved yet"
        parts = [model, persona, f"transcript: {saved}"]
        if note:
            parts.insert(0, note)
        self.query_one("#status", Static).update(printable(" · ".join(parts)))

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
        from improv.agents.agent import Agent
        from improv.agents.errors import ConfigError
        from improv.agents.registry import get_model

        model_string = self.query_one("#model", Input).value.strip() or default_model(None)
        try:
            variables = parse_vars(self.query_one("#vars", Input).value)
        except ValueError as err:
            raise ConfigError(str(err)) from None
        model = self.models.get(model_string)
        if model is None:
            # the built-in model loads its weights here: keep that off the event loop
            model = await asyncio.to_thread(get_model, model_string)
            self.models[model_string] = model
        agent = Agent(model, self.persona, None, variables)  # type: ignore[arg-type]
        agent.system_prompt  # a missing template variable fails here, with its name
        return agent

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
        turn = None

        async def give_up() -> None:
            session.transcript.active = restore
            await self.render_branch()

        try:
            self.update_status("loading model…")
            agent = await self.build_agent()
            turn = session.new_reply(parent, agent)
            bubble.heading = label_for("assistant", model=turn.model, persona=turn.persona)
            bubble.set_status("writing · esc cancels")
            self.update_status("writing")
            stream = agent.stream(session.history(parent))
            async for delta in stream:
                turn.content += delta
                bubble.append(delta)
        except asyncio.CancelledError:
            kept = session.finish(turn, cancelled=True) if turn is not None else None
            if kept is None:
                bubble.remove()
                session.transcript.active = restore
                self.update_status("cancelled")
            else:
                self.save()
                bubble.turn_id = kept.id
                bubble.branch = session.position(kept.id)
                bubble.set_status("cancelled")
                self.update_status("cancelled")
            raise
        except (ImprovError, ProviderError, PersonaError) as err:
            self.error(err)
            await give_up()
            return
        except Exception as err:  # a bug in a backend must not take the app down
            self.error(f"{type(err).__name__}: {error_line(err)}")
            await give_up()
            return
        session.finish(turn, finish_reason=stream.finish_reason, settings=stream.settings)
        self.save()
        bubble.turn_id = turn.id
        bubble.branch = session.position(turn.id)
        bubble.set_status("")

    # -- actions -------------------------------------------------------------------------------
    @on(Input.Submitted, "#prompt")
    async def send(self, event: Input.Submitted) -> None:
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

    @on(Input.Submitted, "#model")
    def model_changed(self, event: Input.Submitted) -> None:
        from improv.agents.errors import ConfigError
        from improv.agents.registry import parse_model_string

        try:
            parse_model_string(event.value.strip() or default_model(None))
        except ConfigError as err:
            self.error(err)
            return
        self.update_status()
        self.query_one("#prompt", Input).focus()

    @on(Input.Submitted, "#vars")
    def vars_changed(self, event: Input.Submitted) -> None:
        try:
            parse_vars(event.value)
        except ValueError as err:
            self.error(str(err))
            return
        self.query_one("#prompt", Input).focus()

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
        self.query_one("#prompt", Input).focus()
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
        elif not isinstance(self.focused, Input):
            self.query_one("#prompt", Input).focus()

    async def action_new_chat(self) -> None:
        if self.busy and self.worker is not None:
            self.worker.cancel()
        await self.new_conversation(self.persona_ref)
        self.query_one("#prompt", Input).focus()

    def action_home(self) -> None:
        self.app.pop_screen()

    async def on_unmount(self) -> None:
        for model in self.models.values():
            try:
                await model.aclose()  # type: ignore[attr-defined]
            except Exception:
                pass
