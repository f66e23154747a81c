"""Radio antenna orientation from Galactic noise (IceTop surface radio).

The chain, module by module:

- :mod:`~icecore.radio.io`: the waveform file format (``.npz``/HDF5) and noise tables.
- :mod:`~icecore.radio.simulate`: synthetic data with known arm orientations.
- :mod:`~icecore.radio.cleaning`: copy comparison, spike finding, MSB-flip correction (C++).
- :mod:`~icecore.radio.spectral`: inverted spectrum filter and band-pass (numpy/scipy).
- :mod:`~icecore.radio.rms`: RMS amplitude and RMS spread (C++).
- :mod:`~icecore.radio.cuts`: the (RMS, spread) cut.
- :mod:`~icecore.radio.galactic`: Galactic-Centre azimuth in IceCube coordinates.
- :mod:`~icecore.radio.orientation`: sinusoid fits and yearly combination.
- :mod:`~icecore.radio.pipeline`: :func:`process` (waveforms -> noise table) and :func:`orient`.
- :mod:`~icecore.radio.plots`: PNG plots.
- :mod:`~icecore.radio.dataset`: folders of files: :func:`simulate_dataset`, :func:`clean_files`,
  :func:`load_noise_tables` (what ``icecore radio simulate|clean|orient`` run).
"""

from __future__ import annotations

from .cleaning import clean_events, compare_copies, correct_spikes, find_spikes, isolation_forest_spikes
from .cuts import RmsCut, choose_cut
from .dataset import CleanedFile, SimulatedDataset, clean_files, find_data_files, load_noise_tables, simulate_dataset
from .galactic import gc_azimuth, gc_position
from .io import NoiseTable, RadioData, load, load_noise_table, save, save_noise_table
from .orientation import combine_axial, fit_sinusoid
from .pipeline import OrientationResult, orient, process
from .rms import rms_spread, windowed_rms
from .simulate import SimulationTruth, simulate, simulate_months
from .spectral import filter_traces

__all__ = [
    "windowed_rms",
    "rms_spread",
    "RadioData",
    "NoiseTable",
    "load",
    "save",
    "load_noise_table",
    "save_noise_table",
    "simulate",
    "simulate_months",
    "SimulationTruth",
    "compare_copies",
    "find_spikes",
    "isolation_forest_spikes",
    "correct_spikes",
    "clean_events",
    "filter_traces",
    "RmsCut",
    "choose_cut",
    "gc_azimuth",
    "gc_position",
    "fit_sinusoid",
    "combine_axial",
    "process",
    "orient",
    "OrientationResult",
    "simulate_dataset",
    "SimulatedDataset",
    "find_data_files",
    "clean_files",
    "CleanedFile",
    "load_noise_tables",
]
