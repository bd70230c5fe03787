"""`python -m bot` is the `normwatch` command."""

from bot.cli import main

# Guarded: worker processes started by spawn must not run the command again.
if __name__ == "__main__":
    main()
