"""The mediation application: commands on cases, queries on one case, and what they need."""
