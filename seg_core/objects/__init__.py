"""Objects in a predicted mask: separate regions per class (touching ones optionally split), measured one by
one (``settings``: how objects are found; ``instances``: the label image; ``measure``: the per-object and
per-image tables; ``matching``: scores against label images of one id per object; ``drawing``: outlines and
ids on an image; ``folder``: a run on a folder of images, written as CSV and 16-bit TIFFs; ``scoring``:
``evaluate --instances``). Above ``seg_core.infer``: it predicts with a run's ``Predictor``."""
