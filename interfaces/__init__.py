"""The edges of the service: the HTTP API and the command line. The composition root."""
