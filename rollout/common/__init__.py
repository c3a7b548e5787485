"""The lowest layer: what every stage shares and nothing in it depends on a stage.

``stats`` holds the normal quantile, Wald intervals and the doubly robust (AIPW) score;
``display`` the one display contract of every public result (``to_dict``, ``to_pandas``,
``summary``, ``_repr_html_``); ``figures`` the one way a figure is drawn (a matplotlib
``Figure`` on the Agg canvas, no global backend) and saved reproducibly.
"""
