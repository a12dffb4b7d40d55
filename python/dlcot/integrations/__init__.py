"""Optional integrations with other frameworks, one submodule each.

Nothing here is imported by ``import dlcot``, and importing this package imports no framework:
each submodule imports its framework when one of its functions is called.

- :mod:`dlcot.integrations.ray`: near-duplicate clustering of a Ray Data dataset
  (``pip install 'dlcot[ray]'``), with the same clusters as :func:`dlcot.dedup`.
"""
