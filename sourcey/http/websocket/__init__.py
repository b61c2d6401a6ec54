"""sourcey.http.websocket."""
