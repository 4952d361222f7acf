"""Training sets: selection, index files, set verification, segments as arrays, labels, the split, network inputs and targets, and export."""
