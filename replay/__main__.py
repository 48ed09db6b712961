"""`python -m replay ...` is `mastery ...`."""

from replay.cli.app import main

if __name__ == "__main__":  # not when a child process (the live follower) is spawned
    main()
