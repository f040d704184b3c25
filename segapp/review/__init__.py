"""The Review page's sections (pages/review.py lays them out): the model picked and its scores (``scores``), the
image viewer (``viewer``), objects counted and measured (``objects``), sharper edges and mirrored copies
(``postprocess``), predicting new images (``new_images``) and which image to label next (``label_next``)."""
