"""The ceiling: a bare WSGI app answering a tiny JSON body, served by the same gunicorn settings as Bazar."""

BODY = b'{"status":"ok"}'
HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]


def application(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]
