"""Screens of the terminal app. Each is registered in `tui.registry` and imported when opened."""
