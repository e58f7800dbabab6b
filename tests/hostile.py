"""Parsers gone wrong, for the sandbox's tests: a module that imports nothing heavy, since
each sandboxed child imports it to find these."""

import os


def spin() -> None:
    while True:
        pass


def hog() -> bytes:
    return b"x" * (2**31)


def crash() -> None:
    os._exit(3)
