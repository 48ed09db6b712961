"""The HTTP front door: Canvas live events in over HTTPS (Starlette on uvicorn).

It verifies and answers; the intake service (replay/service/intake.py) judges and
stores. Nothing here imports the command line.
"""
