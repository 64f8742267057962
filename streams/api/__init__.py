"""The EventBridge-compatible HTTP API: pieces that must match what boto3 expects byte for byte."""
