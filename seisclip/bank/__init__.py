"""The bank: the user's ASCII waveform files and their wc list, the HDF5 bank, ingest, import of seismic data files, verification, and the synthetic generator."""
