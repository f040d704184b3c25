"""Background work: one runner for training jobs and tasks (imports, predictions, exports) on threads, and
trainings started on a thread or as torchrun processes. The top of the engine, below the CLI.
"""
