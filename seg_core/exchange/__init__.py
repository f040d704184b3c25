"""Results and annotations in the formats other tools read and write.

``outlines``: label images to polygons along the pixels' edges (holes kept) and polygons back to pixels;
``geojson``: QuPath's GeoJSON (objects out with their classes and measurements; annotations in);
``coco``: COCO JSON (RLE segmentations out, polygons and RLE in, by pycocotools);
``ome_tiff``: class masks and object maps as OME-TIFF carrying the pixel size and the class names;
``annotations_in``: what an annotation file says, checked, as a class mask per image;
``bioimageio``: a run as a bioimage.io model package (``export --format bioimageio``).

Below ``seg_core.objects`` and ``seg_core.workspace`` (which write and read these files), above
``seg_core.infer`` (whose exports the bioimage.io package holds)."""
