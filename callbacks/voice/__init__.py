"""Ringback's voice application: it answers calls to the queues' entry numbers with a callback menu.

- `control` — a baresip driven over ctrl_tcp (the SIP user agent: it answers, plays prompts, hears keys)
- `prompts` — the spoken clips in each language, generated with espeak-ng, and utterances built from them
- `menu` — what the caller hears and what each key does (no I/O: a state machine, tested alone)
- `app` — the loop: baresip's events in, the menu's answers out, the database through `lifecycle.voice`
"""
