"""``make bench``: how fast the pipeline is, each figure a ratio to an anchor measured in the same run."""
