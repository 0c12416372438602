"""Scale-out: runs as Procrastinate jobs in the PostgreSQL state, taken by `pairsync worker` processes anywhere.

`schema` installs and upgrades the queue's tables beside pairsync's own; `jobs`
asks for runs (every trigger goes through it) and ticks the shared schedules;
`worker` runs the jobs. SQLite state and single-process use keep the in-process
scheduler of `engine.service`.
"""
