"""Who is asking and what they may do: principals, API keys, bearer tokens, the policy.

Nothing here knows HTTP (api/auth.py maps requests onto it) or SQL (keys live behind
`store.keys.KeyStore`).
"""
