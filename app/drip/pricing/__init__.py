"""What messages cost: the recipient's market (from the phone number's country, Meta's regions),
the organization's rate card (its own rows, or the default card shipped with the app), and the
cost of a delivered message by market, category and date."""

__all__: list[str] = []
