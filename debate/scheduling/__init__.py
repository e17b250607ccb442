"""Scheduling sessions: the pure plan (`plan.py`), its services, form and staff views."""
