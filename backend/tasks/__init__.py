"""Work that outlives a request: a task queue on PostgreSQL (procrastinate).

- `queue`: the queue and `enqueue`, which services call inside their own transaction, so
  that a task exists exactly when the change that asked for it is committed;
- `handlers`: the tasks themselves, run by `python -m backend worker` (any number of
  workers on any number of machines), and the periodic ones;
- `worker`: running workers, and what an operator does with failed tasks.
"""
