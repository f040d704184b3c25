"""A run: its settings (TrainConfig), the training events it records, its folder on disk (config, history, checkpoint).
On top of model and data.
"""
