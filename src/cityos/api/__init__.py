"""The HTTP face of cityos: one module per API surface, composed in `app.create_app`.

This is the only package that knows HTTP.
"""
