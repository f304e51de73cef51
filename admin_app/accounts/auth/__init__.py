"""Back-office sign-in: Flask-Login wiring, the login/logout views and role checks."""
