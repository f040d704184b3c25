"""Training a run: the data it trains on, the schedule, the loop, several processes, unlabelled images.
On top of infer (validation and post-processing use prediction).
"""
