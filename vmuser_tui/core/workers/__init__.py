"""Background jobs (design.md section 6): plain functions over the service layer, run by one
:class:`~vmuser_tui.core.workers.scheduler.Scheduler` that the TUI hosts in a thread worker
and ``vmuser worker`` hosts headless. Each job takes a named lease first, so two TUIs and a
headless worker on one host never run the same job at once."""

from vmuser_tui.core.workers.scheduler import Job, JobResult, Scheduler, default_jobs

__all__ = ["Job", "JobResult", "Scheduler", "default_jobs"]
