"""Files of many planes (TIFF stacks and hyperstacks, NIfTI volumes): reading their axes and planes on demand
(``files``), their planes as images of their own (``planes``), masks written as stacks (``writing``)."""
