"""Synthetic chest CT phantoms with real LIDC nodule shapes (``mitsgan phantom``).

Modules: :mod:`anatomy` (analytic chest, slice by slice, with :mod:`chest_wall`,
:mod:`wall_vessels`, :mod:`mediastinum`, :mod:`lymph_nodes` and :mod:`heart`), :mod:`trees` and
:mod:`vessels` (vessel and airway trees), :mod:`nodules` (LIDC shapes on the phantom grid), :mod:`library`
(the shipped LIDC mask library), :mod:`noise` (textures, CT noise, blur) and
:mod:`generate` (the pipeline and the dataset writer).
"""
from mitsgan.data.phantom.generate import Phantom, generate_phantom, series_uid, write_phantom_dataset

__all__ = ["Phantom", "generate_phantom", "series_uid", "write_phantom_dataset"]
