"""A module whose CONNECTION is not a Connection class."""

CONNECTION = print
