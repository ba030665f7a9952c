"""Roles through the running app: identity -> role from roles.toml -> what the pages allow."""

from __future__ import annotations

import pytest

from components.text import plain


def sidebar_text(at) -> str:
    return " ".join(c.value for c in at.sidebar.caption)


def test_role_comes_from_the_mapping_file(app):
    at = app(user="analyst@example.com")
    assert plain("analyst@example.com") in sidebar_text(at) and "role **analyst**" in sidebar_text(at)


def test_a_viewer_cannot_save_and_is_told_why(app):
    at = app(page="pages/builder.py", user="viewer@example.com")
    save = next(b for b in at.button if b.label == "Save as new segment")
    assert save.disabled
    assert any("Your role (viewer) cannot save segments." in c.value for c in at.caption)


def test_a_marketer_sees_masked_emails_and_an_admin_sees_them_in_full(app):
    query = {"segment": "sample-vip-champions-early-access"}
    marketer = app(page="pages/builder.py", user="someone@example.com", query=query)
    marketer.segmented_control(key="builder_view").set_value("Members").run()
    masked = marketer.dataframe[0].value["Email"]  # the preview reads in labels (issue 13)
    assert masked.str.match(r"^\w\*\*\*@example\.com$").all()
    admin = app(page="pages/builder.py", user="admin@example.com", query=query)
    admin.segmented_control(key="builder_view").set_value("Members").run()
    clear = admin.dataframe[0].value["Email"]
    assert clear.str.match(r"^[a-z.]+\d+@example\.com$").all()


# Every page but the Segment Builder (its own tests cover it), as each role that meets disabled buttons.
PAGES = ["pages/home.py", "pages/library.py", "pages/exports.py", "pages/clusters.py", "pages/lookalikes.py",
         "pages/data_quality.py", "pages/cost.py", "pages/audit.py", "pages/admin.py"]
#: longer than this, st.metric cuts a value short ("100.…") in a four-column row
METRIC_CHARS = 14


@pytest.mark.parametrize("role", ["viewer", "marketer", "analyst"])
def test_every_disabled_button_says_why_and_no_metric_is_cut_short(app, role):
    for page in PAGES:
        at = app(page=page, role=role, query={"segment": "sample-vip-champions-early-access"})
        for button in at.button:
            if button.disabled:
                assert button.help, f"{page}: {button.label!r} is disabled for a {role} without saying why"
        for link in at.page_link:
            if link.disabled:
                assert link.help, f"{page}: the link {link.label!r} is disabled for a {role} without saying why"
        for metric in at.metric:
            assert len(metric.value) <= METRIC_CHARS, f"{page}: metric {metric.label} = {metric.value!r}"
