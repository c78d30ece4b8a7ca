"""Pressing Enter on the address step saves: "Save and continue" is the form's
default (first) submit button, not "Update the form for this country"."""

from html.parser import HTMLParser

import pytest

from surveys.models import SurveyResponse

from .backer_setup import GERMAN_ADDRESS, build_world, open_survey, step_path


@pytest.fixture
def w(campaign):
    return build_world(campaign)


class _SubmitButtons(HTMLParser):
    """The submit buttons of the form with id `form_id`, in document order:
    (attributes, text) each."""

    def __init__(self, form_id: str):
        super().__init__()
        self.form_id = form_id
        self.in_form = False
        self.current: dict | None = None
        self.buttons: list[tuple[dict, str]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.in_form = attrs.get("id") == self.form_id
        elif self.in_form and tag == "button" and attrs.get("type", "submit") == "submit":
            self.current = {"attrs": attrs, "text": ""}
        elif self.in_form and tag == "input" and attrs.get("type") == "submit":
            self.buttons.append((attrs, attrs.get("value", "")))

    def handle_data(self, data):
        if self.current is not None:
            self.current["text"] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_form = False
        elif tag == "button" and self.current is not None:
            self.buttons.append((self.current["attrs"], self.current["text"].strip()))
            self.current = None


def _submit_buttons(html: str) -> list[tuple[dict, str]]:
    parser = _SubmitButtons("address")
    parser.feed(html)
    return parser.buttons


def test_first_submit_button_of_the_address_form_is_save(client, w):
    open_survey(client, w.alice)
    page = client.get(step_path(w.campaign, "address")).content.decode()
    buttons = _submit_buttons(page)
    assert len(buttons) >= 2
    attrs, text = buttons[0]
    assert text == "Save and continue"
    assert "name" not in attrs


def test_refresh_button_is_still_in_the_address_form(client, w):
    open_survey(client, w.alice)
    page = client.get(step_path(w.campaign, "address")).content.decode()
    assert any(attrs.get("name") == "refresh" for attrs, _text in _submit_buttons(page))


def test_address_posted_without_refresh_is_saved(client, w):
    open_survey(client, w.alice)
    r = client.post(step_path(w.campaign, "address"), GERMAN_ADDRESS)
    assert r.status_code == 302
    saved = SurveyResponse.objects.get(invite=w.alice)
    assert saved.address["postal_code"] == "10115" and saved.address_country == "DE"
