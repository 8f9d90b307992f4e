"""The project's one YAML library (ruamel.yaml, YAML 1.2), for reading and writing case files.

:func:`load_yaml` gives plain data for validation, fast (the C parser of ``ruamel.yaml.clib``
and a direct walk over the node tree). :func:`load_roundtrip` gives a ``CommentedMap`` for
editors and importers; :func:`dump_roundtrip` and :func:`write_case_file` write it back with its
comments, key order, quoting, flow style, indentation and line wrapping as they were. Both
resolve values by the same rules (``reading``), so what staff wrote reads the same either way.
"""

from coverage.yaml_files.reading import MAX_DEPTH, MAX_EXPANDED_VALUES, load_yaml
from coverage.yaml_files.roundtrip import dump_roundtrip, load_roundtrip, write_case_file

__all__ = ["MAX_DEPTH", "MAX_EXPANDED_VALUES", "dump_roundtrip", "load_roundtrip", "load_yaml",
           "write_case_file"]
