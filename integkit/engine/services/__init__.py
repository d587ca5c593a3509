"""Connector code for services whose definitions alone do not say everything."""
