"""`python -m bot` is the `normwatch` command."""

from bot.cli import main

main()
