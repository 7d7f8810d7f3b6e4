"""``mlp-weights bisect``: find the release of a library that moved a layer.

Modules, one concern each: :mod:`.index` (releases on the package index
and which install here), :mod:`.search` (binary search and walk, no I/O),
:mod:`.probe` (one throwaway environment per release), :mod:`.cache`
(finished probes under the data home), :mod:`.report` (lines, tables,
``bisect.json`` and ``bisect.md``) and :mod:`.command` (the command).
"""
