"""What every engine's worker does with a job, and how the kernel stops it: shared by the
engines that run jobs in worker processes (Parsl's HTEX, Dask), so none copies another.

- :mod:`.claim`: the task's side: the cancel flag, the claim and start records in the
  job's work dir (``cw-cancel``, ``cw-task.json``), and running the job in the worker's
  :class:`~.job_process.JobProcess`;
- :mod:`.job_process`: the process a worker runs its jobs in (killable as a group);
- :mod:`.control`: the kernel's side: kill a job's process group, tell whether its
  worker or process still lives, and describe where it ran.

Nothing here imports an engine.
"""
