"""Functions: Python handlers run as rule targets, the way AWS Lambda runs them for EventBridge."""
