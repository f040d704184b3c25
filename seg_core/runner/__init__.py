"""Background work: training jobs and tasks (imports, predictions, exports) on threads or torchrun processes.
The top of the engine, below the CLI.
"""
