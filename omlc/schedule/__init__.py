"""Schedules: what a cron or interval schedule means in OML, and what each engine does with it."""
