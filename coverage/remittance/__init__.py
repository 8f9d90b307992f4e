"""Remittances (X12 835) into denial sections and a worklist: ``import 835``.

``segments`` tokenizes, ``parse`` walks the 835 loops, ``actions`` holds the group+CARC table,
``match`` finds the case, ``apply`` writes the denial section, ``worklist`` the report and
``run`` strings them together (:func:`coverage.remittance.run.import_835`).
"""
