"""Presenters: what one partial shows, each with its own bounded reads (`offers.offer_cards`: an offer's card from
one read by primary key). A push renders the partial its event names from them; the page and an htmx answer
render the same partial from the same presenter.

`desk.Workspace` is the agent's desk, one part per region; `windows` and `emails` present the interaction and e-mail
windows; `offers` an offer's card. What pages and APIs share besides: `fields` (a callback's fields as the agent
reads them, its case history), `status` (the channels' states, on the desk and the board), `directory` (contacts,
the Team Communicator, standard responses), `schedule` (slots, a callback's place in line) and `reports`.
"""
