"""The edge: settings, the aiohttp app, pages, the socket.io layer, the CLI."""
