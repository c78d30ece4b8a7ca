"""Read back the add-ons text the importers store on a pledge.

Kickstarter's itemized layout becomes "Dice Tower × 2; Wooden Insert × 1"
(column header × quantity), Indiegogo's items "Dice Tower [DT-01] (Red)",
mapped CSVs whatever the creator's column held. Items are separated by "; ".
A quantity that is not a whole number stays part of the text ("Mat: large")."""

import re

_QUANTITY = re.compile(r"^(?P<text>.*\S)\s+[×x]\s*(?P<quantity>\d{1,6})$", re.DOTALL)


def parse_addons_text(text: str) -> list[tuple[str, int]]:
    """Split an add-ons text into (item text, quantity) pairs, in order; quantity 1
    when the item carries none. Equal item texts are summed."""
    items: dict[str, int] = {}
    for part in (text or "").split(";"):
        part = part.strip()
        if not part:
            continue
        match = _QUANTITY.match(part)
        if match:
            label, quantity = match["text"].strip(), int(match["quantity"])
        else:
            label, quantity = part, 1
        if quantity <= 0:
            continue
        items[label] = items.get(label, 0) + quantity
    return list(items.items())
