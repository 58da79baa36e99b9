"""The serving tests' fixtures (a real service on a loopback port) for these tests too."""

from tests.serving.conftest import server  # noqa: F401 - a pytest fixture, used by name
