"""20 Questions: the game object, questioners, commitment protocols, resampling and metrics.

The object every front end drives is `improv.games.game.Game` (``Game.new(model, condition=...)``,
``Game.open(transcript, model)``). Two functions are public and kept stable for code that studies
games from outside (probes, notebooks):

- ``improv.games.game.play_games(model, condition=..., games=10, turns=6, table=None, seed=0,
  questions=None, config=None, reveal=True, concurrency=4) -> list[Game]``: play games in batch
  under one protocol (``uncommitted``, ``committed``, ``private``, ``sealed``) on any `Model`
  (the built-in model, SmolLM2 in-process, an API model), questions from a seeded random order of
  the table's attribute questions and committed secrets drawn from the table: the same games
  `improv.games.batch.run_batch(conditions=[condition])` plays with the same seed. Each game's ``transcript`` can be saved
  (``game.save(dir)``) and its held object read (``game.secret``).
- ``improv.games.game.answerer_messages(transcript, at, then=GIVE_UP, model=None) -> list[Message]``:
  the exact message list a saved game's answerer was sent at node ``at`` (after ``at`` answered
  questions): its system prompt with the secret or private memory, the visible history, then
  ``then`` (the give-up question by default; ``"question"`` for question ``at + 1`` as it was sent;
  None for nothing). No model call. `Game.answerer_messages` is the same on a live game.

Submodules are imported where used (``improv.games.game``, ``.batch``, ``.table``, ...), so that
importing the object table does not load the game machinery.
"""
