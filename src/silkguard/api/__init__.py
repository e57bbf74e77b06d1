"""The REST API: ``create_app(settings)``, routers under ``/api/v1``, RFC 9457 problems."""
