"""The local web Playground: ``python -m fnnet.playground [--port N] [--open]``.

A page in the spirit of the TensorFlow Playground, backed by fnnet in JAX,
served on 127.0.0.1 by Starlette on uvicorn (``pip install 'fnnet[playground]'``):

- ``config``: the validated run configuration (the Playground's bounds and value lists);
- ``engine``: data, features, model and the one compiled program that trains
  a chunk of epochs and evaluates every neuron over the plane;
- ``sessions``: the bounded set of running sessions and their background training;
- ``server``: the Starlette app, its JSON API and the server-sent event stream;
- ``export``: the Python script that reproduces a run, and its loss history as CSV;
- ``static/``: the page (plain HTML, CSS and JavaScript: no CDN, no network).

Importing this package imports neither Starlette nor uvicorn.
"""
