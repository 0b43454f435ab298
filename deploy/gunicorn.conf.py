"""gunicorn's settings for the REST API beside daphne (deploy/systemd/gleepost-rest@.service):
the production layout. daphne holds the websockets; gunicorn answers every other request through
Django's WSGI handler (gleepost.wsgi), and a write's events reach daphne through the Redis
channel layer. Per request it costs 0.69 of what Django's ASGI handler under daphne costs
(bench/README.md, "HTTP layouts"), and it takes REST off the websockets' core.

    gunicorn -c deploy/gunicorn.conf.py --bind 127.0.0.1:8101

The bind is the unit's (one instance per port, like daphne's); the rest is here.
"""

from gleepost import settings

wsgi_app = "gleepost.wsgi:application"

# One process per instance, so that GET /metrics answers for the process Prometheus asks (two
# workers behind one port would answer in turn), and threads, so that a request waiting on the
# database or Redis does not hold up the others and nginx's keep-alive connections stay open
# (a sync worker closes each after its answer). Eight threads, under the process's pool of
# PostgreSQL connections (DATABASE_POOL_MAX_SIZE, 10). Run one instance per core.
worker_class = "gthread"
workers = 1
threads = 8
backlog = 1024
# A request runs at most this long; a stopping instance finishes its requests for this long.
timeout = 60
graceful_timeout = 30
# Longer than nginx keeps an idle upstream connection (its keepalive_timeout, 60 s), so that
# nginx, not gunicorn, closes an idle one: a request never meets a connection closing under it.
keepalive = 65
# gunicorn's control socket (gunicorn 26) is one path per user: several instances would share it.
control_socket_disable = True

# Every line through the service's own logging (gleepost.settings.LOGGING): the process's format
# (GLEEPOST_LOG_FORMAT),
# credentials redacted (REST accepts ?id=&token=; gunicorn names a request's URI when it
# fails), and the access line without its query string. The request's id is nginx's, which
# Django's RequestIdMiddleware takes too.
logconfig_dict = {
    **settings.LOGGING,
    "loggers": {
        **settings.LOGGING["loggers"],
        "gunicorn.error": {"handlers": [], "propagate": True},
        "gunicorn.access": {"handlers": [], "propagate": True},
    },
}
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms request_id=%({x-request-id}i)s'
