"""The patient's pages. No URL names an application: the portal reads it from the session (SPEC §7)."""

from __future__ import annotations

from django.urls import path

from portal.views import apply, links, pages, questionnaire

app_name = "portal"

urlpatterns = [
    path("apply/", apply.apply, name="apply"),
    path("apply/received/", apply.apply_received, name="apply_received"),
    path("portal/open/<str:token>/", links.open_link, name="open"),
    path("portal/link/", links.request_link, name="request_link"),
    path("portal/language/", links.set_language, name="language"),
    path("portal/leave/", links.leave, name="leave"),
    path("portal/", pages.status, name="status"),
    path("portal/messages/", pages.messages, name="messages"),
    path("portal/quote/", pages.quote, name="quote"),
    path("portal/consent/", pages.consent, name="consent"),
    path("portal/withdraw/", pages.withdraw, name="withdraw"),
    path("portal/questionnaire/", questionnaire.questionnaire, name="questionnaire"),
    path("portal/questionnaire/check/", questionnaire.questionnaire_check, name="questionnaire_check"),
    path("portal/questionnaire/sent/", questionnaire.questionnaire_sent, name="questionnaire_sent"),
    path("portal/questionnaire/<slug:step_slug>/", questionnaire.questionnaire_step, name="questionnaire_step"),
]
