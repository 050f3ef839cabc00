"""Presenters: what one partial shows, each with its own bounded reads (`offers.offer_cards`: an offer's card from
one read by primary key). A push renders the partial its event names from them; the page and an htmx answer
render the same partial from the same presenter.

The regions still built by `selectors.Workspace` move here one by one (see the README's Performance section).
"""
