"""The registries (登记): regions, households, venues and persons — imported from files
(``reader`` → ``validate`` → ``service``), exported, and the persons other capabilities
register through ``persons`` (the registry owns their tables)."""
