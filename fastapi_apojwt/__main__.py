"""``python -m fastapi_apojwt``: the ``apojwt`` command line."""

from .cli import run

if __name__ == "__main__":
    run()
