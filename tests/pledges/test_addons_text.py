from hypothesis import given
from hypothesis import strategies as st

from pledges.importers.addons import parse_addons_text


def test_kickstarter_itemized_quantities():
    assert parse_addons_text("Dice Tower × 2; Wooden Insert × 1") == [
        ("Dice Tower", 2),
        ("Wooden Insert", 1),
    ]


def test_indiegogo_items_without_quantity_count_once():
    assert parse_addons_text("Dice Tower [DT-01] (Red); Playmat") == [
        ("Dice Tower [DT-01] (Red)", 1),
        ("Playmat", 1),
    ]


def test_repeated_items_are_summed_and_blanks_ignored():
    assert parse_addons_text(" Playmat × 1 ;; Playmat x 2 ; ") == [("Playmat", 3)]


def test_text_that_is_not_a_quantity_stays_in_the_label():
    assert parse_addons_text("Mat: large") == [("Mat: large", 1)]
    assert parse_addons_text("") == []


@given(
    st.lists(
        st.tuples(
            st.text(
                alphabet=st.characters(blacklist_characters=";×", blacklist_categories=("Cs",)),
                min_size=1,
                max_size=20,
            )
            .map(str.strip)
            .filter(lambda s: s and not s[-1].isdigit() and not s.endswith(" x")),
            st.integers(min_value=1, max_value=999),
        ),
        max_size=6,
        unique_by=lambda item: item[0],
    )
)
def test_what_the_importer_writes_reads_back(items):
    text = "; ".join(f"{label} × {quantity}" for label, quantity in items)
    assert parse_addons_text(text) == items
