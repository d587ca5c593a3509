"""Connector code for services whose definitions alone do not say everything."""

__all__: list[str] = []  # each connector module is imported by name (``module:``)
