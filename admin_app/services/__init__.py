"""Plain functions behind the CLI and the views, testable without either."""
