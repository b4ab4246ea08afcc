"""URL map of the service; views live in their own modules."""

from __future__ import annotations

from aiohttp import web

from service.http import auth, health, openapi, payments, telemetry, views

API = "/api/v1"
ID = r"{%s:\d{1,19}}"


def setup_routes(app: web.Application) -> None:
    add_operations_routes(app)
    add_auth_routes(app)
    add_booking_routes(app)
    add_payment_routes(app)


def add_operations_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", health.healthz)
    app.router.add_get("/readyz", health.readyz)
    app.router.add_get("/metrics", telemetry.metrics_view)
    app.router.add_get("/openapi.json", openapi.openapi_view)


def add_auth_routes(app: web.Application) -> None:
    app.router.add_get("/auth/login", auth.login)
    app.router.add_get("/auth/callback", auth.callback)
    app.router.add_post("/auth/refresh", auth.refresh)
    app.router.add_post("/auth/logout", auth.logout)


def add_booking_routes(app: web.Application) -> None:
    concert = API + "/concerts/" + ID % "concert_id"
    hold = API + "/holds/" + ID % "hold_id"
    app.router.add_get(API + "/concerts", views.list_concerts)
    app.router.add_get(concert, views.get_concert)
    app.router.add_get(concert + "/zones", views.list_zones)
    app.router.add_get(concert + "/zones/{zone:[A-Za-z]{1,8}}/seats", views.list_seats)
    app.router.add_post(concert + "/holds", views.create_hold)
    app.router.add_get(hold, views.get_hold)
    app.router.add_delete(hold, views.delete_hold)
    app.router.add_post(hold + "/reservation", views.create_reservation)
    app.router.add_get(API + "/me/reservations", views.my_reservations)


def add_payment_routes(app: web.Application) -> None:
    reservation = API + "/reservations/" + ID % "reservation_id"
    app.router.add_post(reservation + "/payment", payments.start)
    app.router.add_post(API + "/payments/confirm", payments.confirm)
    app.router.add_post("/webhooks/psp", payments.webhook)
