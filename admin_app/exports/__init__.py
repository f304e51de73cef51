"""Exports as jobs: a big export runs on the task queue, its file waits in shared storage,
and the Exports page shows its progress, a download link, cancel and retry."""
