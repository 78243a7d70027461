"""gunicorn settings of `webir serve`: the app is imported once in the master and the workers are forked from it
(start-up costs one import instead of one per worker, and the workers share its memory pages); each worker then
drops the database connections it inherited, so no connection is ever shared between processes."""

preload_app = True


def post_fork(server, worker) -> None:
    from web.wsgi import app

    app.extensions["webir_db"].engine.dispose(close=False)
