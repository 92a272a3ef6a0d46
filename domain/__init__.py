"""The mediation domain: the Case aggregate, its events, its rules and its value types."""
