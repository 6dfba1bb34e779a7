"""Helpers the pages share, one module per concern (not pages: ``app.py`` lists the pages).

Rules the pages follow
----------------------
* Page content runs inside ``with guard():`` so a bad input shows ``st.error`` with
  the reason and an unexpected failure a short message; never a traceback.
* Widget keys that contain a ``.`` (``"explore.bits"``) keep their value when the
  user visits another page and comes back (``keep_widget_state`` in ``app.py``).
  Buttons, uploaders and download buttons use keys without a dot.
* Attributions and predictions come from ``scrambler_core``; expensive results go
  through ``results`` (``cached_call``: disk, keyed by the model's fingerprint and the parameters).
"""
