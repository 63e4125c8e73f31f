"""The fastapi-apojwt example service (``uvicorn example_app.main:app``)."""
