"""Using a run: prediction at full size (tiles, flips), dense CRF, scores, post-processing, ranking, export.
On top of runs.
"""
