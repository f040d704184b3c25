"""The command line (`python -m seg_core ...`): the parser, the commands, their output.
On top of everything.
"""
