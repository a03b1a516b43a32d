"""Contact tracing (流调): check-in lake, co-presence engine, contact rules, chains, clusters.

The pure core lives in ``copresence`` (NumPy index and queries), ``rules`` (the
``[contacts]`` table), ``groups`` (household, class, workplace, vehicles, contacts of
close contacts) and ``graph`` (transmission chains, clusters); ``lake`` stores check-ins;
``trace`` is the batch trace over check-in files (``engines`` runs it on DuckDB or Spark
through Ibis). The use cases over the database: ``cases`` (register a case),
``trace_job`` (trace cases, store contacts and exposures, hand them to health codes;
the finders in ``exposures``, the check-ins in ``checkins``), ``statuses`` (contact
statuses with history) and ``views`` (a case's contacts, chains, clusters).
"""
