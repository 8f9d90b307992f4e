"""FHIR R4 in and out: import a patient's record into a case file, export a PAS request.

Only the commands that need FHIR import this package's modules that load ``fhir.resources``
(``reading`` for ``import fhir``; ``export`` and the ``pas*`` modules for
``export pas``), so ``--help`` and ``check`` stay fast.
"""
