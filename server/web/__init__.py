"""The web: the Flask app factory, one module per area of routes (sparql, linked data, pages, contributions),
negotiation, headers, auth, templates and static files, and gunicorn serving."""
