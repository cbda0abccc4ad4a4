"""Cross-site request forgery: a form or API call without the right token changes nothing."""

from __future__ import annotations

from competition.i18n import gettext
from competition.tables import AuditLog, Competition, UserSession
from tests.support import csrf_token, login

# What the user reads when the token is missing or wrong (competition/web/errors.py).
EXPIRED_FORM = (
    "This form has expired or did not come from this site. "
    "Go back, reload the page and submit it again."
)


def expired_form_message() -> str:
    message = gettext(EXPIRED_FORM)  # zh_CN, the default locale
    assert message != EXPIRED_FORM, "the CSRF message has no Chinese translation"
    assert "表单" in message
    return message


async def phase_and_audit_count(competition_id: int) -> tuple[str, int]:
    row = await Competition.select(Competition.phase).where(Competition.id == competition_id)
    return row[0]["phase"], await AuditLog.count()


async def test_signing_out_needs_the_token_too(demo, client):
    await login(client, "organizer")
    sessions = await UserSession.count()
    response = await client.post("/logout")
    assert response.status_code == 403
    assert expired_form_message() in response.text
    assert await UserSession.count() == sessions
    assert (await client.get("/org")).status_code == 200


async def test_a_form_without_the_right_token_is_refused_and_changes_nothing(
    demo_mutable, client, other_client
):
    competition_id = demo_mutable.competition_id
    await login(client, "organizer")
    before = await phase_and_audit_count(competition_id)
    assert before[0] == "registration"
    another_browsers = await csrf_token(other_client)
    assert another_browsers != client.cookies["csrftoken"]
    for token in (None, "forged-token-value", another_browsers):
        data = {"target": "review", "reason": "forged"}
        if token is not None:
            data["_csrf_token"] = token
        response = await client.post(f"/org/competitions/{competition_id}/phase", data=data)
        assert response.status_code == 403, token
        assert response.headers["content-type"].startswith("text/html")
        assert expired_form_message() in response.text
        assert await phase_and_audit_count(competition_id) == before


async def test_a_json_call_without_the_header_is_refused_and_changes_nothing(demo_mutable, client):
    competition_id = demo_mutable.competition_id
    await login(client, "organizer")
    before = await phase_and_audit_count(competition_id)
    response = await client.post(
        f"/api/competitions/{competition_id}/phase", json={"target": "review"}
    )
    assert response.status_code == 403
    assert response.json() == {"code": "csrf_failed", "message": expired_form_message()}
    assert await phase_and_audit_count(competition_id) == before
    # The same call with the header goes through: the refusal above was the token's doing.
    ok = await client.post(
        f"/api/competitions/{competition_id}/phase",
        json={"target": "review"},
        headers={"x-csrftoken": client.cookies["csrftoken"]},
    )
    assert ok.status_code == 200
    assert (await phase_and_audit_count(competition_id))[0] == "review"
