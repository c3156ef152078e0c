"""The web service (一网通办): one door for firms, departments, the lead office and analysts.

``interfaces.web.app.create_app(settings)`` builds the FastAPI application; ``serve.run``
starts it under uvicorn; ``admin_cli.admin_app`` creates organisations, people and tokens.
This package's ``__init__`` imports nothing, so a check process importing
``interfaces.web.checks`` does not load FastAPI.
"""
