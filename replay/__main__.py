"""`python -m replay ...` is `mastery ...`."""

from replay.cli import main

main()
