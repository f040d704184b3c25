"""Training a run: the data it trains on, the schedule, the loop, the recorder that writes the run folder from
its events, several processes, the weights' moving average. On top of infer (validation and post-processing predict).
"""
