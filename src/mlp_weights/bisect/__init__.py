"""``mlp-weights bisect``: find the release of a library that moved a layer.

Modules, one concern each: :mod:`.index` (releases on the package index
and which install here), :mod:`.search` (binary search and walk, and what
to probe ahead; no I/O), :mod:`.parallel` (probes side by side),
:mod:`.probe` (one probe of a release), built from :mod:`.environment`
(pins and installer), :mod:`.resolve` (the resolver retry),
:mod:`.run_layers` (the layers' test run), :mod:`.results` (reading what it
found), :mod:`.bytecode` (compiled bytecode shared by the probes) and
:mod:`.process` (child processes that stop when a probe is cancelled);
:mod:`.cache` (finished probes under the data home), :mod:`.report` (lines,
tables, ``bisect.json`` and ``bisect.md``) and :mod:`.command` (the command).
"""
