"""``make chaos``: the pipeline under kill -9, a broker restart and a stopped database, counted afterwards."""
