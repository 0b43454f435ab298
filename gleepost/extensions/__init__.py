"""Where the service reaches past a framework's documented API, one small module per framework.

Each module's docstring names what it buys and the upstream change that would retire it, and a
contract test under tests/gleepost/extensions/ names what it relies on, so that an upgrade of
the framework fails loudly there rather than subtly in production.
"""
