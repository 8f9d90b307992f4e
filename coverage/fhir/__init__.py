"""FHIR R4 in and out: import a patient's record into a case file, export a PAS request.

Only the commands that need FHIR import this package's modules that load ``fhir.resources``
(``reading`` for ``import fhir``; ``pas``, ``pas_parties`` and ``export`` for
``export pas``), so ``--help`` and ``check`` stay fast.
"""
