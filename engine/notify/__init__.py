"""Notifications: run failed, records failing for several runs, breaker tripped, needs reconnect, recovered.

Targets come from the config's `notify:` list (`models`); `events` decides what a run raised;
`dispatch` delivers with a period per target, connection and kind; `hooks` ties them to runs and `connect`.
"""
