"""One module per editor feature; `server.py` wires them to LSP methods."""
