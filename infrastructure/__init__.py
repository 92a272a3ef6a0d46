"""What touches a database or the environment: settings and the stores behind the application."""
