"""Optional integrations with other frameworks, one submodule each.

Nothing here is imported by ``import dlcot``, and importing this package imports no framework:
each submodule imports its framework when one of its functions is called.

- :mod:`dlcot.integrations.ray`: near-duplicate clustering of a Ray Data dataset, with the same
  clusters as :func:`dlcot.dedup`, and the pruning stage (``prune_dataset``), with the same
  results as :meth:`dlcot.Pipeline.process_batch` (``pip install 'dlcot[ray]'``).
- :mod:`dlcot.integrations.datasets`: the pruning stage for ``datasets.Dataset.map(batched=True,
  num_proc=N)`` (``map_fn``, ``prune_dataset``; ``pip install 'dlcot[datasets]'``).
"""
