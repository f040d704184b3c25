"""The Streamlit app (``streamlit run app.py``): its pages, their shared helpers, the label canvas and the
browser harness the tests and benchmarks use. Pages only lay out widgets; the work is ``seg_core``'s."""
