"""The Textual app: a home screen and one screen per capability (see `tui.registry`)."""
