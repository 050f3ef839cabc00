"""The skeleton floor for `bench.cpu`: a bare Django + Channels app doing a lifecycle's three HTTP requests and
three pushes, each with one trivial statement, and nothing else. `settings` configures it; `app` holds the rest."""
