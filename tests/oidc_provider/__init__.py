"""A real OpenID Connect provider for the tests: django-oauth-toolkit with OIDC, as a tiny Django project of its own,
run in a second process by `tests.servers.OidcProvider` (its own SQLite file and RSA key in a temporary directory)."""
