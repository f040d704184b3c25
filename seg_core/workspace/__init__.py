"""The app's workspace folder: images, masks (versions, backups, trash), imports, proposals, per-image state.
On top of runs and data.
"""
