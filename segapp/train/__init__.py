"""The Train page's sections (pages/train.py lays them out): a setting's widget as TrainConfig declares it
(``widgets``), the network the model starts from and how much of it stays fixed (``network``), the advanced
options (``advanced``), Start (``start``) and the training followed live (``live``)."""
