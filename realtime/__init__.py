"""Turns the domain apps' signals into websocket events (see ../shared/spec/websockets.md)."""
