"""The EventBridge operations busbar serves, one module per resource; see streams.api.dispatch."""
