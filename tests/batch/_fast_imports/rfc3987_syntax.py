"""Put first on the PYTHONPATH of the Ray processes the tests start. Importing Ray imports
jsonschema, which imports rfc3987_syntax when it is installed, and that module compiles a grammar
at import time: seconds of CPU in every Ray process. On a loaded CI machine the Ray dashboard
agent then misses the raylet's fixed 15 s start-up deadline (ray-project/ray#65983) and Ray does
not start. jsonschema treats this ImportError as "not installed" (it then does not check the
`iri` format); nothing aisbom decides depends on it."""

raise ImportError("rfc3987_syntax is left out of the Ray test processes (slow import)")
