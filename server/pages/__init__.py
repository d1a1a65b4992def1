"""The HTTP pages, one module per area. Each module has a `setup_<area>(app)` that adds its
routes; `server.app.create_app` calls every one of them."""
