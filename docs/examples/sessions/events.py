import logging

from fastapi_apojwt import ApoJWT, AuthEvent

ajwt = ApoJWT("a-32-byte-or-longer-random-secret!!", iss="auth.example.com")
ajwt.config_refresh("another-32-byte-or-longer-secret!!!")
alerts: list[str] = []


@ajwt.add_event_listener  # a sync listener runs inline: keep it quick
def on_reuse(event: AuthEvent) -> None:
    if event.name == "refresh_reuse":
        alerts.append(f"refresh token replayed: session {event.family} of {event.sub} revoked")


async def audit(event: AuthEvent) -> None:  # an async one is scheduled, never awaited by the request
    print(event.name, event.sub, event.family, event.reason, event.at.isoformat())


ajwt.add_event_listener(audit)

# Without any code: every event is also a record on the "fastapi_apojwt.events" logger,
# whose `event` attribute is its name (count them in your log pipeline).
logging.getLogger("fastapi_apojwt.events").setLevel(logging.INFO)
