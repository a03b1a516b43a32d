"""Contact tracing (流调): check-in lake, co-presence engine, contact rules, chains, clusters.

The pure core lives in ``copresence`` (NumPy index and queries), ``rules`` (the
``[contacts]`` table), ``groups`` (household, class, workplace, vehicles, contacts of
close contacts) and ``graph`` (transmission chains, clusters); ``lake`` stores check-ins;
``engines`` runs the batch trace on DuckDB or Spark through Ibis; ``service`` holds the
use cases the CLI calls.
"""
