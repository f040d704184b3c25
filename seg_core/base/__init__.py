"""The base layer: atomic writes, size limits, class names and colours, what mask values mean, devices, locks,
progress and cancel, the typical size of a mask's regions. Everything else builds on it; it imports nothing else from seg_core.
"""
