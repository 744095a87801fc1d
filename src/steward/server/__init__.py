"""The control plane: the REST API app, and running it with uvicorn."""
