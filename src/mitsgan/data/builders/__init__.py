"""Build a dataset folder (see :mod:`mitsgan.data.dataset`) from LIDC-IDRI, LUNA16 or any scans.

Every builder

* writes into a temporary folder beside ``out`` and renames it into place at the
  end (a failed build leaves nothing behind; an existing ``out`` is only replaced
  with ``overwrite=True``);
* is deterministic: the same input gives byte-identical ``annotations.csv``,
  ``candidates.csv`` and ``split.csv`` (rows sorted by seriesuid then z, y, x);
* raises :class:`~mitsgan.errors.InputError` for bad input (missing columns, a
  seriesuid without a scan, a coordinate outside its scan), and reports what it
  dropped on purpose through ``warn`` (default: :func:`warnings.warn` with
  :class:`DatasetWarning`);
* writes ``split.csv`` per patient with :func:`~mitsgan.data.dataset.make_split`.

Scans are stored flat in ``out`` as ``<seriesuid>.mhd`` (+ ``.raw``). LIDC and
"folder" builds convert every scan to MHD so a dataset is uniform whatever came
in; LUNA16 scans, already MHD, are copied (or symlinked with ``link=True``).

Modules: :mod:`.common` (result, warnings, staging and output checks),
:mod:`.tables` (input CSV files), :mod:`.dicom_discovery`, and one module per
source: :mod:`.lidc`, :mod:`.luna16`, :mod:`.folder`.
"""
from __future__ import annotations

from mitsgan.data.builders.common import BuildResult, DatasetWarning
from mitsgan.data.builders.dicom_discovery import DicomSeries, discover_dicom_series
from mitsgan.data.builders.folder import build_folder
from mitsgan.data.builders.lidc import build_lidc
from mitsgan.data.builders.luna16 import build_luna16
from mitsgan.data.builders.tables import read_nodule_table

__all__ = [
    "DatasetWarning",
    "BuildResult",
    "build_lidc",
    "build_luna16",
    "build_folder",
    "DicomSeries",
    "discover_dicom_series",
    "read_nodule_table",
]
