"""``mlp-weights bisect``: find the release of a library that moved a layer.

Modules, one concern each: :mod:`.choices` (the library, scenarios, layers
and ends a bisect works on), :mod:`.index` (releases on the package index
and which install here), :mod:`.search` (binary search and walk; no I/O),
:mod:`.probe` (probes of real releases: the resolver retry, the layers'
test run), built from :mod:`.environment` (the installer), :mod:`.results`
(reading what it found) and
:mod:`.process` (probes side by side, and child processes that stop with
the bisect); :mod:`.cache` (finished probes under
the data home), :mod:`.generations` (the generations compared, and the
command that declares a new one), :mod:`.report` (lines, tables,
``bisect.json`` and ``bisect.md``) and :mod:`.command` (the command).
"""
