"""QR badges (裁判证): printed as a PDF whose QR code opens /badge/{token}; one tap signs the judge
in; an expired, revoked or unknown badge signs nobody in, with a clear message and status."""

from __future__ import annotations

import datetime as dt
import io

from pypdf import PdfReader

from competition import accounts, clock
from competition.tables import AuditLog, UserSession
from competition.web.middleware import SESSION_COOKIE
from scoring.panels import badges
from scoring.tables import Judge, JudgeBadge
from tests.scoring.test_judges_pages import new_judge
from tests.support import csrf_token, login, post_form, qr_in_pdf


async def _print_badge(client, cid: int, judge_id: int, days: str = "") -> tuple[str, str]:
    response = await post_form(
        client, f"/org/competitions/{cid}/judges/{judge_id}/badge", {"days": days}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/pdf")
    words = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    url = qr_in_pdf(response.content)
    return url, words


async def test_a_badge_signs_its_judge_in_with_one_tap(client, other_client, demo_mutable):
    cid = demo_mutable.competition_id
    await login(client, "organizer")
    judge_id, _ = await new_judge(client, cid, name="扎西才让", qualification="national")
    url, words = await _print_badge(client, cid, judge_id)
    assert "扎西才让" in words and "国家级裁判" in words and "裁判证" in words
    assert url.startswith("http://testserver/badge/")
    path = url.removeprefix("http://testserver")
    token = path.rsplit("/", 1)[1]
    stored = await JudgeBadge.select(JudgeBadge.token_hash).where(JudgeBadge.judge == judge_id)
    assert stored == [{"token_hash": badges.token_hash(token)}]  # only the hash is kept

    # A shared tablet: someone else is still signed in on it.
    await login(other_client, "supervisor")
    previous = other_client.cookies[SESSION_COOKIE]
    shown = await other_client.get(path)
    assert shown.status_code == 200 and "以扎西才让的身份登录" in shown.text
    assert other_client.cookies[SESSION_COOKIE] == previous  # opening the page changes nothing
    csrf = await csrf_token(other_client)
    tapped = await other_client.post(path, data={"_csrf_token": csrf})
    assert tapped.status_code == 303 and tapped.headers["location"] == "/judge"
    assert other_client.cookies[SESSION_COOKIE] != previous
    assert not await UserSession.exists().where(
        UserSession.token_hash == accounts.token_hash(previous)
    )
    assert (await other_client.get("/judge")).status_code == 200
    assert await AuditLog.exists().where(AuditLog.action == "judge_badge.sign_in")


async def test_revoked_reissued_expired_and_unknown_badges_sign_nobody_in(
    client, other_client, demo_mutable
):
    cid = demo_mutable.competition_id
    await login(client, "organizer")
    judge_id, _ = await new_judge(client, cid, name="韩梅")
    old_url, _ = await _print_badge(client, cid, judge_id)
    new_url, _ = await _print_badge(client, cid, judge_id, days="3")
    old_path = old_url.removeprefix("http://testserver")
    new_path = new_url.removeprefix("http://testserver")
    sessions = await UserSession.count()

    # Printing a new badge revoked the old one.
    gone = await other_client.get(old_path)
    assert gone.status_code == 410 and "此裁判证已作废" in gone.text
    csrf = await csrf_token(other_client)
    assert (await other_client.post(old_path, data={"_csrf_token": csrf})).status_code == 410

    # The new one is valid for three days, then expires.
    expires = (await JudgeBadge.select(JudgeBadge.expires_at).where(
        JudgeBadge.revoked_at.is_null()).first())["expires_at"]  # fmt: skip
    assert dt.timedelta(days=2, hours=23) < expires - clock.now() <= dt.timedelta(days=3)
    assert (await other_client.get(new_path)).status_code == 200
    await JudgeBadge.update({JudgeBadge.expires_at: clock.now() - dt.timedelta(minutes=1)}).where(
        JudgeBadge.revoked_at.is_null()
    )
    expired = await other_client.get(new_path)
    assert expired.status_code == 410 and "此裁判证已过期" in expired.text

    # Revoked by the button.
    await JudgeBadge.update({JudgeBadge.expires_at: clock.now() + dt.timedelta(days=1)}).where(
        JudgeBadge.revoked_at.is_null()
    )
    revoked = await post_form(client, f"/org/competitions/{cid}/judges/{judge_id}/badge/revoke")
    assert revoked.status_code == 303
    assert (await other_client.get(new_path)).status_code == 410
    assert await AuditLog.exists().where(AuditLog.action == "judge_badge.revoke")

    unknown = await other_client.get("/badge/not-a-real-token")
    assert unknown.status_code == 404 and "无法识别此裁判证" in unknown.text
    assert await UserSession.count() == sessions
    assert SESSION_COOKIE not in other_client.cookies

    # A badge for a number of days outside 1–60 is refused.
    too_long = await post_form(
        client, f"/org/competitions/{cid}/judges/{judge_id}/badge", {"days": "365"}
    )
    assert too_long.status_code == 422 and "1 至 60 天" in too_long.text
    assert await Judge.count() == 1
