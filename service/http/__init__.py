"""The HTTP API: app factory, routes, views, and the problem+json error mapping."""
