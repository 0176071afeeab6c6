"""`python -m interpreter.cli`: the `saga` command."""

from interpreter.cli import run

run()
