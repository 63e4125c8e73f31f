"""Every example of the apojwt 1.x README, run as its users wrote it, with only the import line changed.

The programs live in ``docs/examples/migration/seed_*.py.txt`` (the migration
page shows them; not ``.py``, so linters and the snippet-import test leave the
old style and the README's weak ``"secret"`` alone). Where the README text
itself was broken it is corrected, and only there: ``ajwt = ("secret", ...)``
lacked the class name, the FastAPI finder
read ``kwargs["Authorization"]`` for a parameter named ``authorization``, and
handler bodies were ``...``. The same programs are also run on the real
``apojwt`` 1.7.0, where (on PyJWT 2.x) they reject their own tokens.
"""

import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import apojwt  # the real apojwt==1.7.0: a dev dependency, never skipped
import pytest
from fastapi.testclient import TestClient
from flask import Flask, request
from flask.testing import FlaskClient

from fastapi_apojwt import ApoJWT, WeakSecretWarning

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples" / "migration"
NEW_IMPORT = "from fastapi_apojwt import ApoJWT  # was: from apojwt import ApoJWT"
OLD_IMPORT = "from apojwt import ApoJWT"

# The README uses "secret": this package warns about it (and PyJWT too), and still runs the program.
pytestmark = [
    pytest.mark.filterwarnings("ignore::fastapi_apojwt.WeakSecretWarning"),
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
]

_counter = iter(range(1_000_000))


def load(name: str, *, backend: str = "fastapi_apojwt") -> types.ModuleType:
    """Execute a seed program as a fresh module; ``backend="apojwt"`` swaps the import back to 1.7."""
    path = EXAMPLES / f"{name}.py.txt"
    source = path.read_text()
    assert source.count(NEW_IMPORT) == 1, "the program differs from the README by its import line only"
    if backend == "apojwt":
        source = source.replace(NEW_IMPORT, OLD_IMPORT)
    module_name = f"seed_{name}_{backend}_{next(_counter)}"
    module = types.ModuleType(module_name)
    module.__file__ = str(path)
    sys.modules[module_name] = module
    exec(compile(source, str(path), "exec"), module.__dict__)  # noqa: S102 - our own example file
    return module


@pytest.fixture
def cleanup_modules() -> Iterator[None]:
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name.startswith("seed_"):
            del sys.modules[name]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def access_of(minted: Any) -> str:
    return str(minted[0] if isinstance(minted, tuple) else minted)


def test_the_readme_secret_is_flagged_but_accepted() -> None:
    with pytest.warns(WeakSecretWarning):
        ApoJWT("secret", iss="issuer")


# -- FastAPI ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("cleanup_modules")
def test_seed_fastapi_program() -> None:
    seed = load("seed_fastapi")
    client = TestClient(seed.app)

    ok = client.get("/some/endpoint", headers=bearer(seed.access))
    assert ok.status_code == 200
    assert ok.json() == {"token_subject": "user_id_1", "token_data": {"team": "a"}}

    missing = client.get("/some/endpoint")  # the README's exception_handler raises HTTPException
    assert missing.status_code == 401
    assert "detail" in missing.json()

    assert client.get("/permission/endpoint", headers=bearer(seed.access)).json() == {"ok": True}
    other = access_of(seed.ajwt.create_token(sub="u2", permissions=["other"]))
    assert client.get("/permission/endpoint", headers=bearer(other)).status_code == 403

    # The README's refresh endpoint: refresh token from the cookie (its refresh_finder reads Cookie()).
    client.cookies.set("refresh_token", seed.refresh_token)
    csrf = seed.ajwt.csrf_token(seed.refresh_token)  # CSRF is on for cookies: the one new requirement
    client.cookies.set(seed.ajwt.refresh_csrf_cookie_name, csrf)
    refreshed = client.get("/refresh", headers={seed.ajwt.csrf_header_name: csrf})
    assert refreshed.status_code == 200, refreshed.text
    assert seed.ajwt.decode(refreshed.json()["access_token"]).sub == "user_id_1"

    # The Header/Body parameters the README needed are gone from the schema, the security is there.
    operation = seed.app.openapi()["paths"]["/some/endpoint"]["get"]
    assert "requestBody" not in operation
    assert [p["name"] for p in operation["parameters"]] == ["authorization"]
    assert operation["security"]


@pytest.mark.usefixtures("cleanup_modules")
def test_seed_template_fastapi() -> None:
    seed = load("seed_template_fastapi")
    client = TestClient(seed.app)
    token = access_of(seed.ajwt.create_token(sub="u1", permissions=["permission", "..."], data={"a": 1}))
    assert client.get("/some/endpoint", headers=bearer(token)).json() == {"ok": True}
    assert client.get("/some/endpoint").status_code == 401
    assert client.get("/...", headers=bearer(token)).json() == {"token_subject": "u1", "token_data": {"a": 1}}


# -- Flask ----------------------------------------------------------------------------------------


def flask_checks(seed: types.ModuleType, client: FlaskClient) -> None:
    token = access_of(seed.ajwt.create_token(sub="user_id_1", permissions=["permission"], data={"team": "a"}))
    ok = client.get("/some/endpoint", headers=bearer(token))
    assert ok.status_code == 200
    assert ok.json == {"token_subject": "user_id_1", "token_data": {"team": "a"}}
    assert client.get("/some/endpoint").status_code == 401  # the README's handler: abort(code, msg)
    lacking = access_of(seed.ajwt.create_token(sub="u2", permissions=["other"]))
    assert client.get("/some/endpoint", headers=bearer(lacking)).status_code == 403
    assert client.get("/other/endpoint", headers=bearer(token)).get_data(as_text=True) == "ok"
    assert client.get("/data", headers=bearer(token)).json == {"team": "a"}

    minted = seed.ajwt.create_token(sub="user_id_1", permissions=["permission"], refresh_data={"user_id": "u1"})
    assert isinstance(minted, tuple)
    _, refresh_token = minted
    client.set_cookie("refresh_token", refresh_token)
    headers: dict[str, str] = {}
    if isinstance(seed.ajwt, ApoJWT):  # CSRF is on for cookies here; apojwt 1.7 ignores the extra header
        csrf = seed.ajwt.csrf_token(refresh_token)
        client.set_cookie(seed.ajwt.refresh_csrf_cookie_name, csrf)
        headers[seed.ajwt.csrf_header_name] = csrf
    refreshed = client.get("/refresh", headers=headers)
    assert refreshed.status_code == 200, refreshed.get_data(as_text=True)
    assert refreshed.json is not None
    assert refreshed.json["access_token"].count(".") == 2


@pytest.mark.usefixtures("cleanup_modules")
def test_seed_flask_program(capsys: pytest.CaptureFixture[str]) -> None:
    seed = load("seed_flask")
    flask_checks(seed, seed.app.test_client())
    assert "user_id_1" in capsys.readouterr().out  # the README's print(token_subject)


@pytest.mark.usefixtures("cleanup_modules")
def test_seed_template_flask() -> None:
    seed = load("seed_template_flask")
    client = seed.app.test_client()
    token = access_of(seed.ajwt.create_token(sub="u1"))
    assert client.get("/some/endpoint", headers=bearer(token)).get_data(as_text=True) == "ok"
    missing = client.get("/some/endpoint")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.usefixtures("cleanup_modules")
@pytest.mark.parametrize("name", ["seed_fastapi", "seed_flask"])
def test_the_same_programs_on_apojwt_1_7_reject_their_own_tokens(name: str) -> None:
    """Why "still works" is really "works again": on PyJWT 2.x, apojwt 1.7 without a
    server_audience mints ``"aud": []`` and then refuses it (MissingRequiredClaimError)."""
    seed = load(name, backend="apojwt")
    token = access_of(seed.ajwt.create_token(sub="x", permissions=["permission"]))
    path = "/some/endpoint"
    if name == "seed_fastapi":
        status = TestClient(seed.app, raise_server_exceptions=False).get(path, headers=bearer(token)).status_code
    else:
        status = seed.app.test_client().get(path, headers=bearer(token)).status_code
    assert status != 200
    migrated = load(name)
    token = access_of(migrated.ajwt.create_token(sub="x", permissions=["permission"]))
    if name == "seed_fastapi":
        assert TestClient(migrated.app).get(path, headers=bearer(token)).status_code == 200
    else:
        assert migrated.app.test_client().get(path, headers=bearer(token)).status_code == 200


def test_tokens_cross_between_the_two_packages() -> None:
    """A 1.7 service and a migrated one accept each other's tokens (same secret, issuer, audience)."""
    secret, audience = "a-shared-secret-that-is-at-least-32-bytes", ["https://api.example.com"]
    old = apojwt.ApoJWT(secret, iss="issuer", server_audience=audience)
    new = ApoJWT(secret, iss="issuer", server_audience=audience)
    old_token = access_of(old.create_token(sub="x", permissions=["permission"], data={"k": 1}))
    context = new.decode(old_token)
    assert (context.sub, context.permissions, context.data) == ("x", ("permission",), {"k": 1})

    app = Flask(__name__)

    @app.route("/data")
    @old.token_required
    def route(token_data: dict[str, Any]) -> dict[str, Any]:
        return token_data

    old_finder = "_ApoJWT__token_f"
    setattr(old, old_finder, lambda: request.headers["Authorization"].replace("Bearer ", ""))
    new_token = access_of(new.create_token(sub="y", permissions=["permission"], data={"k": 2}))
    assert app.test_client().get("/data", headers=bearer(new_token)).json == {"k": 2}
