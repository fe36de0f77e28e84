"""The improv command line (`python -m improv`, console script `improv`)."""
