"""The city's information model: entities, JSON-LD terms, queries and errors.

Nothing in this package knows HTTP or SQL; `api/` translates requests into calls here and
`store/` persists what this package has validated.
"""
