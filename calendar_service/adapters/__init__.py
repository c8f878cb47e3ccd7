"""What touches the world: settings from the environment, logs, the data file, the database, outbound HTTP.

Adapters may import the core and the renderers, never the worker, the application layer, web or CLI.
"""
