"""URL map of the service; views live in their own modules."""

from __future__ import annotations

from aiohttp import web

from service.http import health, openapi, telemetry, views

API = "/api/v1"
ID = r"{%s:\d{1,19}}"


def setup_routes(app: web.Application) -> None:
    concert = API + "/concerts/" + ID % "concert_id"
    hold = API + "/holds/" + ID % "hold_id"
    app.router.add_get("/healthz", health.healthz)
    app.router.add_get("/readyz", health.readyz)
    app.router.add_get("/metrics", telemetry.metrics_view)
    app.router.add_get("/openapi.json", openapi.openapi_view)
    app.router.add_get(API + "/concerts", views.list_concerts)
    app.router.add_get(concert, views.get_concert)
    app.router.add_get(concert + "/zones", views.list_zones)
    app.router.add_get(concert + "/zones/{zone:[A-Za-z]{1,8}}/seats", views.list_seats)
    app.router.add_post(concert + "/holds", views.create_hold)
    app.router.add_get(hold, views.get_hold)
    app.router.add_delete(hold, views.delete_hold)
    app.router.add_post(hold + "/reservation", views.create_reservation)
    app.router.add_get(API + "/me/reservations", views.my_reservations)
