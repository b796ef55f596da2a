"""Fixtures for the tests on the LEAN double: testing/lean/fixtures.py."""

from testing.lean.fixtures import hours, lean, platform_module  # noqa: F401
