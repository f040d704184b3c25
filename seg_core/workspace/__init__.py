"""The app's workspace folder: its layout and classes, the mask store (lock, versions, backups), the one
trash, imports, proposals, reviewed marks and each image's state. On top of runs, infer and data.
"""
