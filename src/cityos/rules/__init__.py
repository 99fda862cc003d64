"""Declarative rules over live data: a condition held for a while → a case, an attribute,
an Alert (model.py parses, engine.py evaluates and keeps episodes, actions.py acts)."""
