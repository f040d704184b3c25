"""The Runs & export page's sections (pages/runs.py lays them out): the runs compared side by side and one's
history (``table``), the labels a run learned from (``labels``), its zip and exports (``exports``) and deleting
it (``delete``)."""
