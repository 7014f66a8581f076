"""Developer tools kept out of the runtime: demo data, the city-scale generator, benchmarks.

Nothing outside this package imports it; its commands (``flask demo``, ``flask bench``) are
registered through the ``flask.commands`` entry points in pyproject.toml, which Flask's CLI
loads when it runs, so a web worker never imports any of it."""
