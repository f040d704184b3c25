"""Training a run: the data it trains on, the schedule, the loop, the recorder that writes the run folder from
its events, several processes, unlabelled images. On top of infer (validation and post-processing predict).
"""
