"""`python -m replay ...` is `mastery ...`."""

from replay.cli.app import main

main()
